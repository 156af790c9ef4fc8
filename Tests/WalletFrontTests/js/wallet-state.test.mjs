// The wallet page's state (js/wallet/state.js): one sealed object and the accessors the modules share.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as S from "../../../Sources/WalletFront/Public/js/wallet/state.js";

const A = { address: "rcrn1qa", name: "A" };
const B = { address: "rcrn1qb", name: "B" };
const tx = (txid, confirmed = true) => ({ txid, status: { confirmed } });

test("the state is sealed: a field not declared in state.js cannot appear", () => {
  const s = S.createState(0);
  assert.throws(() => { "use strict"; s.loose = 1; }, TypeError);
  assert.equal(Object.isSealed(S.state), true);
  s.busy = true; // declared fields change as usual
  assert.equal(s.busy, true);
});

test("unlocked means: the selected account's key is the one in memory", () => {
  const s = S.createState(0);
  assert.equal(S.isUnlocked(s), false);
  s.current = A;
  s.unlocked = { address: B.address };
  assert.equal(S.isUnlocked(s), false);
  s.unlocked = { address: A.address };
  assert.equal(S.isUnlocked(s), true);
});

test("account selection: the wanted one if listed, else the first, else none", () => {
  assert.equal(S.pickAccount([A, B], B.address), B);
  assert.equal(S.pickAccount([A, B], "rcrn1qgone"), A);
  assert.equal(S.pickAccount([A, B], null), A);
  assert.equal(S.pickAccount([], A.address), null);
});

test("the auth panel: create without accounts, unlock a locked one, hidden when unlocked or importing", () => {
  const s = S.createState(0);
  assert.equal(S.authPanelMode(s), "create");
  s.current = A;
  assert.equal(S.authPanelMode(s), "unlock");
  s.authMode = "create";
  assert.equal(S.authPanelMode(s), "create");
  s.authMode = null;
  s.unlocked = { address: A.address };
  assert.equal(S.authPanelMode(s), null);
  s.unlocked = null;
  s.importOpen = true;
  assert.equal(S.authPanelMode(s), null);
});

test("selecting an account keeps the create form open, asks to unlock a locked one, keeps an unlocked one as is", () => {
  const s = S.createState(0);
  assert.equal(S.authModeAfterSelect(s, null), "create");
  assert.equal(S.authModeAfterSelect(s, A), "unlock");
  s.authMode = "create";
  assert.equal(S.authModeAfterSelect(s, A), "create");
  s.authMode = null;
  s.unlocked = { address: A.address };
  assert.equal(S.authModeAfterSelect(s, A), null);
  assert.equal(S.authModeAfterSelect(s, B), "unlock");
});

test("another account's data is never shown, and is forgotten on a switch", () => {
  const s = S.createState(0);
  s.current = A;
  s.data = { address: B.address, txs: [] };
  assert.equal(S.currentData(s), null);
  s.data = { address: A.address, txs: [] };
  assert.equal(S.currentData(s), s.data);
  s.older = { address: A.address, txs: [], done: false };
  s.lastSend = { txid: "t" };
  s.review = { to: B.address };
  S.clearAccountData(s);
  assert.deepEqual([s.data, s.older, s.lastSend, s.review], [null, null, null, null]);
});

test("history: first page then older pages without repeats; 'older' offered after a full page until exhausted", () => {
  const page = Array.from({ length: S.HISTORY_PAGE }, (_, i) => tx(`t${i}`));
  const d = { address: A.address, txs: [tx("m", false), ...page] };
  assert.equal(S.hasOlder(d, null), true);
  const older = { address: A.address, txs: [tx(`t${S.HISTORY_PAGE - 1}`), tx("o1")], done: false };
  assert.deepEqual(S.historyShown(d, older).map((t) => t.txid).slice(-2), [`t${S.HISTORY_PAGE - 1}`, "o1"]);
  assert.equal(S.historyShown(d, older).length, d.txs.length + 1);
  assert.equal(S.historyShown(d, { ...older, address: B.address }).length, d.txs.length);
  assert.equal(S.hasOlder(d, { ...older, done: true }), false);
  assert.equal(S.hasOlder(d, { ...older, address: B.address, done: true }), true);
  assert.equal(S.hasOlder({ address: A.address, txs: page.slice(1) }, null), false);
});

test("auto-lock: due after the chosen minutes without activity, only while unlocked", () => {
  const s = S.createState(1_000);
  assert.equal(S.autoLockDue(s, 10_000_000), false);
  s.unlocked = { address: A.address };
  s.autoLockMinutes = 5;
  assert.equal(S.autoLockDue(s, 1_000 + 5 * 60_000), false);
  assert.equal(S.autoLockDue(s, 1_001 + 5 * 60_000), true);
  S.touch(s, 1_001 + 5 * 60_000);
  assert.equal(S.autoLockDue(s, 1_001 + 5 * 60_000), false);
  assert.equal(S.autoLockMinutesFrom(null), 5);
  assert.equal(S.autoLockMinutesFrom("15"), 15);
  assert.equal(S.autoLockMinutesFrom("x"), 5);
});

test("connection: badge and banner from the feed, REST reachability and staleness", () => {
  assert.deepEqual(S.connectionView("online", false, false), { text: "live", state: "online", banner: false });
  assert.deepEqual(S.connectionView("online", true, false), { text: "node not answering", state: "degraded", banner: true });
  assert.deepEqual(S.connectionView("online", false, true), { text: "stale — no news", state: "stale", banner: true });
  assert.deepEqual(S.connectionView("offline", false, false), { text: "offline — retrying", state: "offline", banner: true });
  assert.deepEqual(S.connectionView("reconnecting", false, false), { text: "reconnecting…", state: "reconnecting", banner: false });
  assert.equal(S.connectionView("reconnecting", true, false).banner, true);
  assert.deepEqual(S.connectionView("connecting", false, false), { text: "connecting…", state: "connecting", banner: false });
  // The node is down for 0 and 502-504, but not for a refusal, nor for the faucet's own 503 (no mature coins).
  assert.equal(S.restDownFrom({ ok: false, status: 0, url: "http://e/api/chain" }), true);
  assert.equal(S.restDownFrom({ ok: false, status: 503, url: "http://e/api/address/x" }), true);
  assert.equal(S.restDownFrom({ ok: false, status: 503, url: "http://e/api/faucet" }), false);
  assert.equal(S.restDownFrom({ ok: false, status: 400, url: "http://e/api/tx" }), false);
  assert.equal(S.restDownFrom({ ok: true, status: 200, url: "http://e/api/tx" }), false);
});

test("the recovery phrase's check: the auth panel hides while a phrase or the restore panel shows; asked words", () => {
  const s = S.createState(0);
  s.phrase = { step: "show", words: [], asked: [] };
  assert.equal(S.authPanelMode(s), null);
  s.phrase = null;
  s.restoreOpen = true;
  assert.equal(S.authPanelMode(s), null);

  for (const n of [12, 24]) {
    const asked = S.phrasePositions(n, 3);
    assert.equal(asked.length, 3);
    assert.equal(new Set(asked).size, 3);
    assert.ok(asked.every((p) => p >= 1 && p <= n));
    assert.deepEqual(asked, [...asked].sort((a, b) => a - b));
  }
  const words = "legal winner thank year wave sausage worth useful legal winner thank yellow".split(" ");
  assert.deepEqual(S.phraseCheckMisses(words, [2, 5, 12], { 2: "winner", 5: " Wave ", 12: "yellow" }), []);
  assert.deepEqual(S.phraseCheckMisses(words, [2, 5, 12], { 2: "winner", 5: "wavy", 12: "" }), [5, 12]);
});
