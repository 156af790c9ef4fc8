"""End to end in Chromium against a real node (`cairn up`): two browser wallets, the faucet, a
payment that both wallets see arrive live, the explorer's view of it (transaction, block, trace
through the services), keystore export and import, and what the browser sends over the network.

One scenario in steps (each step needs the one before); screenshots of the main screens are
saved to .build/test-artifacts/browser/.
"""
import base64
import json
import re
from pathlib import Path

import pytest
from conftest import eventually, http_json
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

PASSWORD_A = "correct horse battery staple A"
PASSWORD_B = "another long passphrase for B"
AMOUNT = re.compile(r"(-?\d+(?:[.,]\d+)?)")


def crn(text):
    """The first number in an element's text, as a float of CRN."""
    m = AMOUNT.search(text.replace(",", ""))
    assert m, f"no amount in {text!r}"
    return float(m.group(1))


def decrypt_keystore(raw, password):
    """The keystore format of docs/PROTOCOL.md: PBKDF2-SHA256 then AES-256-GCM; returns the 32-byte seed."""
    ks = json.loads(raw)
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=base64.b64decode(ks["kdf"]["salt"]),
                     iterations=ks["kdf"]["iterations"])
    key = kdf.derive(password.encode())
    return ks, AESGCM(key).decrypt(base64.b64decode(ks["cipher"]["nonce"]), base64.b64decode(ks["cipher"]["ciphertext"]), None)


STORAGE_DUMP = """async () => {
  const db = await new Promise((ok, fail) => { const r = indexedDB.open("cairn-wallet"); r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
  const all = await new Promise((ok, fail) => { const g = db.transaction("accounts").objectStore("accounts").getAll(); g.onsuccess = () => ok(g.result); g.onerror = () => fail(g.error); });
  db.close();
  return { idb: JSON.stringify(all), ls: JSON.stringify(Object.entries(localStorage)) };
}"""


class Recorder:
    """Every request and WebSocket frame a browser context sends."""

    def __init__(self, context):
        self.sent = []
        context.on("request", self.request)
        context.on("page", self.page)

    def page(self, page):
        page.on("websocket", lambda ws: ws.on("framesent", lambda payload: self.sent.append(("ws", ws.url, str(payload)))))

    def request(self, req):
        self.sent.append((req.method, req.url, json.dumps(req.headers) + (req.post_data or "")))

    def check_never_sent(self, secrets, allowed_origins):
        for method, url, body in self.sent:
            if not url.startswith(("data:", "blob:")):
                assert any(url.startswith(o) for o in allowed_origins), f"request to an unexpected origin: {method} {url}"
            for name, value in secrets.items():
                assert value not in url and value not in body, f"{name} was sent: {method} {url}"


def phrase_words(page):
    """The recovery phrase the page shows after "Create account" (the numbered list)."""
    items = page.get_by_test_id("phrase-list").locator("li")
    eventually("the recovery phrase", lambda: items.count() in (12, 24), timeout=30)
    return [w.strip() for w in items.all_inner_texts()]


def pass_phrase_check(page):
    """Reads the phrase, then types back the words the page asks for; returns the words."""
    words = phrase_words(page)
    page.get_by_test_id("phrase-written").click()
    asked = page.locator("#phrase-asked input")
    eventually("the words asked back", lambda: asked.count() == 3, timeout=10)
    for i in range(asked.count()):
        field = asked.nth(i)
        field.fill(words[int(field.get_attribute("data-position")) - 1])
    page.get_by_test_id("phrase-confirm").click()
    return words


def new_wallet(browser, stack, recorder_list, name, password, viewport=None):
    context = browser.new_context(accept_downloads=True, viewport=viewport or {"width": 1280, "height": 900})
    recorder_list.append(Recorder(context))
    page = context.new_page()
    page.on("console", lambda m: print(f"[{name} console] {m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.goto(stack.wallet + "/")
    page.get_by_test_id("password").fill(password)
    page.get_by_test_id("password-confirm").fill(password)
    page.get_by_test_id("create-account").click()
    pass_phrase_check(page)
    address = page.get_by_test_id("address")
    eventually(f"wallet {name}'s address", lambda: address.inner_text().strip().startswith("rcrn1"), timeout=60)
    return context, page, address.inner_text().strip()


def test_wallet_faucet_send_explorer_keystore(stack, browser, artifacts, tmp_path):
    recorders = []
    # The faucet pays from the node key's mature coinbases (regtest maturity: 10 blocks).
    eventually("faucet has mature coins", lambda: (lambda r: r[0] == 200 and r[1]["spendable"] >= r[1]["amount"])(
        http_json(stack.edge + "/api/faucet")), timeout=120)

    # Wallet A: create, then fund from the faucet.
    ctx_a, page_a, addr_a = new_wallet(browser, stack, recorders, "A", PASSWORD_A)
    page_a.get_by_test_id("faucet").click()
    eventually("A's pending balance from the faucet",
               lambda: crn(page_a.get_by_test_id("balance-pending").inner_text()) > 0
               or crn(page_a.get_by_test_id("balance-confirmed").inner_text()) > 0, timeout=60)
    eventually("A's faucet coins confirmed", lambda: crn(page_a.get_by_test_id("balance-confirmed").inner_text()) >= 10, timeout=90)
    page_a.screenshot(path=str(artifacts / "wallet-a-funded.png"), full_page=True)

    # Wallet B, in another browser profile, at phone width.
    ctx_b, page_b, addr_b = new_wallet(browser, stack, recorders, "B", PASSWORD_B, viewport={"width": 390, "height": 844})
    assert addr_b != addr_a
    eventually("B's empty balance loaded", lambda: AMOUNT.search(page_b.get_by_test_id("balance-confirmed").inner_text())
               and crn(page_b.get_by_test_id("balance-confirmed").inner_text()) == 0, timeout=30)

    # Bad input first: each a clear message, nothing sent.
    page_a.get_by_test_id("send-to").fill(addr_b[:-1] + ("q" if addr_b[-1] != "q" else "p"))
    page_a.get_by_test_id("send-amount").fill("1.5")
    page_a.get_by_test_id("send-submit").click()
    eventually("bad checksum message", lambda: "checksum" in page_a.get_by_test_id("send-error").inner_text().lower())
    page_a.get_by_test_id("send-to").fill(addr_b)
    page_a.get_by_test_id("send-amount").fill("100000")
    page_a.get_by_test_id("send-submit").click()
    eventually("insufficient funds message", lambda: "insufficient" in page_a.get_by_test_id("send-error").inner_text().lower())

    # A pays B 1.5 CRN.
    page_a.get_by_test_id("send-amount").fill("1.5")
    page_a.get_by_test_id("send-submit").click()
    # The review step: what will be signed, then the confirmation.
    eventually("the review", lambda: page_a.get_by_test_id("send-review").is_visible(), timeout=30)
    page_a.get_by_test_id("send-confirm").click()
    result = page_a.get_by_test_id("send-result")
    txid = eventually("the txid", lambda: (re.search(r"[0-9a-f]{64}", result.inner_text()) or [None])[0], timeout=60)
    page_a.screenshot(path=str(artifacts / "wallet-a-sent.png"), full_page=True)

    # Both wallets update live (no reload): B sees it arrive, then confirm.
    eventually("B sees the payment", lambda: crn(page_b.get_by_test_id("balance-pending").inner_text()) == pytest.approx(1.5)
               or crn(page_b.get_by_test_id("balance-confirmed").inner_text()) == pytest.approx(1.5), timeout=30)
    eventually("B's payment confirmed", lambda: crn(page_b.get_by_test_id("balance-confirmed").inner_text()) == pytest.approx(1.5), timeout=90)
    eventually("A's balance drops", lambda: crn(page_a.get_by_test_id("balance-confirmed").inner_text()) < 10 - 1.5 + 0.001, timeout=60)
    # A's own view of its payment goes from pending to confirmed.
    eventually("A's send result confirmed", lambda: result.get_attribute("data-status") == "confirmed", timeout=60)
    row = page_b.locator(f'[data-testid="history"] [data-txid="{txid}"]')
    eventually("B's history row confirmed", lambda: row.count() > 0 and int(row.first.get_attribute("data-confirmations") or 0) >= 1, timeout=60)
    page_b.screenshot(path=str(artifacts / "wallet-b-phone.png"), full_page=True)

    # The node agrees.
    status, tx, _ = http_json(f"{stack.edge}/api/tx/{txid}")
    assert status == 200 and tx["status"]["confirmed"]

    # The explorer: the transaction, its trace through the services, its block.
    ex = ctx_a.new_page()
    ex.goto(f"{stack.wallet}/explorer.html#/tx/{txid}")
    eventually("explorer tx confirmed", lambda: "confirmed" in ex.get_by_test_id("tx-status").inner_text().lower(), timeout=30)
    trace = ex.get_by_test_id("trace-timeline")
    for step in ("edge:received", "mempool:accepted", "chainstore:connected"):
        eventually(f"trace step {step}", lambda: trace.locator(f'[data-step="{step}"]').count() > 0, timeout=30)
    assert addr_b in ex.get_by_test_id("tx-outputs").inner_text()
    ex.screenshot(path=str(artifacts / "explorer-tx.png"), full_page=True)
    block_hash = tx["status"]["block_hash"]
    ex.goto(f"{stack.wallet}/explorer.html#/block/{block_hash}")
    eventually("explorer block lists the tx", lambda: txid in ex.get_by_test_id("block-txs").inner_text(), timeout=30)
    ex.screenshot(path=str(artifacts / "explorer-block.png"), full_page=True)
    ex.goto(f"{stack.wallet}/explorer.html#/flow")
    eventually("flow diagram", lambda: ex.get_by_test_id("flow-diagram").is_visible(), timeout=30)
    ex.screenshot(path=str(artifacts / "explorer-flow.png"), full_page=True)
    ex.goto(f"{stack.wallet}/explorer.html#/")
    eventually("latest blocks", lambda: ex.get_by_test_id("latest-blocks").locator("[data-height]").count() > 0, timeout=30)
    ex.screenshot(path=str(artifacts / "explorer-home.png"), full_page=True)

    # Export A's keystore; it decrypts with A's password to A's key (the format of PROTOCOL.md).
    with page_a.expect_download() as dl:
        page_a.get_by_test_id("export-keystore").click()
    exported = tmp_path / "a-keystore.json"
    dl.value.save_as(str(exported))
    ks, seed = decrypt_keystore(exported.read_text(), PASSWORD_A)
    assert ks["address"] == addr_a and ks["version"] == 1 and ks["kdf"]["iterations"] >= 600_000 and len(seed) == 32

    # Import it into a fresh browser: a wrong password is refused with a message, the right one
    # restores the same address.
    ctx_c = browser.new_context()
    recorders.append(Recorder(ctx_c))
    page_c = ctx_c.new_page()
    page_c.goto(stack.wallet + "/")
    page_c.get_by_role("button", name="Import keystore").click()
    error = page_c.get_by_test_id("import-error")
    page_c.get_by_test_id("import-file").set_input_files(str(exported))
    page_c.get_by_test_id("import-password").fill("not the password")
    page_c.get_by_test_id("import-submit").click()
    eventually("wrong password message", lambda: error.is_visible() and "password" in error.inner_text().lower(), timeout=60)
    damaged = tmp_path / "damaged.json"
    damaged.write_text(exported.read_text()[:-40])
    page_c.get_by_test_id("import-file").set_input_files(str(damaged))
    page_c.get_by_test_id("import-password").fill(PASSWORD_A)
    page_c.get_by_test_id("import-submit").click()
    eventually("damaged file message", lambda: error.is_visible() and "damaged" in error.inner_text().lower(), timeout=30)
    # Nothing was stored by the failed imports.
    assert page_c.get_by_test_id("account-select").locator("option").count() == 0
    page_c.screenshot(path=str(artifacts / "wallet-import-error.png"), full_page=True)
    page_c.get_by_test_id("import-file").set_input_files(str(exported))
    page_c.get_by_test_id("import-password").fill(PASSWORD_A)
    page_c.get_by_test_id("import-submit").click()
    eventually("imported address", lambda: page_c.get_by_test_id("address").inner_text().strip() == addr_a, timeout=60)
    eventually("imported balance", lambda: crn(page_c.get_by_test_id("balance-confirmed").inner_text()) > 0, timeout=30)
    page_c.screenshot(path=str(artifacts / "wallet-imported.png"), full_page=True)

    # Nothing secret ever left a browser: not the passwords, not A's private key.
    secrets = {"password A": PASSWORD_A, "password B": PASSWORD_B, "A's key (hex)": seed.hex(),
               "A's key (base64)": base64.b64encode(seed).decode(), "A's key (base64url)": base64.urlsafe_b64encode(seed).decode().rstrip("=")}
    # What the browsers keep: IndexedDB holds public facts and the encrypted keystore only, and
    # neither it nor localStorage holds the key or the password.
    for page in (page_a, page_c):
        stored = page.evaluate(STORAGE_DUMP)
        records = json.loads(stored["idb"])
        assert [r["address"] for r in records] == [addr_a]
        for r in records:
            # "phrase": an account made from a recovery phrase notes its path and word count, never the words;
            # "exportedAt" / "imported": when its keystore file was saved, or that it came from one (its backup).
            assert set(r) - {"phrase", "exportedAt", "imported"} == {"address", "name", "network", "publicKey", "keystore", "createdAt"}, sorted(r)
            assert isinstance(r.get("exportedAt", 0), (int, float)) and r.get("imported", True) is True
            assert set(r.get("phrase", {})) <= {"path", "words"}
            assert set(r["keystore"]) == {"version", "network", "address", "public_key", "kdf", "cipher"}
        for name, value in secrets.items():
            assert value not in stored["idb"] and value not in stored["ls"], f"{name} is in the browser's storage"
    allowed = [stack.wallet, stack.edge, stack.edge.replace("http://", "ws://")]
    for r in recorders:
        r.check_never_sent(secrets, allowed)
    assert sum(len(r.sent) for r in recorders) > 10
    for c in (ctx_a, ctx_b, ctx_c):
        c.close()


def test_edge_grants_cors_to_the_wallet_origin_only(stack, browser, tmp_path):
    wallet_origin = stack.wallet
    status, _, headers = http_json(stack.edge + "/api/blocks/tip/height", headers={"Origin": wallet_origin})
    assert status == 200 and headers.get("Access-Control-Allow-Origin") == wallet_origin
    status, _, headers = http_json(stack.edge + "/api/blocks/tip/height", headers={"Origin": "http://evil.example"})
    assert status == 200 and "Access-Control-Allow-Origin" not in headers

    # In the browser: the wallet's page may read the edge; a page from another origin may not.
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(stack.wallet + "/")
    assert page.evaluate("async (u) => (await fetch(u)).status", stack.edge + "/api/blocks/tip/height") == 200
    other = tmp_path / "other"
    other.mkdir()
    (other / "index.html").write_text("<!doctype html><title>other</title><p>another origin</p>")
    import subprocess, sys
    port = 8349 + stack.offset
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(other)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        eventually("the other origin's server", lambda: http_json(f"http://127.0.0.1:{port}/")[0] == 200, timeout=20)
        page.goto(f"http://127.0.0.1:{port}/")
        outcome = page.evaluate("async (u) => { try { await fetch(u); return 'read'; } catch (e) { return 'blocked'; } }",
                                stack.edge + "/api/blocks/tip/height")
        assert outcome == "blocked"
    finally:
        server.terminate()
        server.wait()
        ctx.close()


def test_insecure_origin_says_so(stack, playwright):
    """Opened under a name that is not localhost over plain HTTP, WebCrypto is unavailable: the page says so."""
    from conftest import launch
    port = stack.wallet.rsplit(":", 1)[1]
    # wallet.test resolves to 127.0.0.1 in this browser only; http://wallet.test is not a secure context.
    b = launch(playwright, ["--host-resolver-rules=MAP wallet.test 127.0.0.1"])
    try:
        page = b.new_page()
        page.goto(f"http://wallet.test:{port}/")
        assert page.evaluate("window.isSecureContext") is False
        warning = page.get_by_test_id("secure-context-warning")
        eventually("the secure-context warning", lambda: warning.is_visible(), timeout=20)
        text = warning.inner_text().lower()
        assert "https" in text or "secure" in text
        # The wallet stays disabled: no account can be created.
        assert not page.get_by_test_id("create-account").is_visible()
    finally:
        b.close()
