// The wallet page's pure logic (no DOM): balances, history rows, messages, fee presets.
// Tested by Tests/WalletFrontTests/js/wallet-model.test.mjs.

import { POLICY } from "../lib/coinselect.js";
import { parseAmount, MAX_MONEY, UNITS_PER_COIN, formatCoins, plainAmount } from "../lib/amount.js";
import { decodeAddress, encodeAddress } from "../lib/bech32m.js";
import { netForAddress, isCoinbase, confirmations } from "../lib/esplora.js";

/** The user-facing message for an address error of lib/bech32m.js (one per code). */
export function addressMessage(e) {
  switch (e.code) {
    case "address-bad-checksum":
      return "That address has a typing mistake: its checksum does not match. Check it character by character.";
    case "address-wrong-network":
      return `Wrong network: ${e.message}.`;
    case "address-unknown-prefix":
      return `Not a Cairn address: ${e.message}.`;
    case "address-bad-version":
      return `Unsupported address: ${e.message}.`;
    case "address-bad-length":
      return `Not a valid Cairn address: ${e.message}.`;
    case "address-malformed":
      return `Not a valid address: ${e.message.replace(/^not a bech32m address: /, "")}.`;
    default:
      return e.message;
  }
}

/**
 * Fee presets from GET /api/fee-estimates ({"1": r, "3": r, "6": r, "25": r}, units/byte): never
 * below the node's minimum relay fee; "Normal" (the default) and "Fast" at least the CLI's default of 2.
 */
export function feePresets(estimates) {
  const est = estimates ?? {};
  const pick = (n) => (Number.isFinite(est[n]) ? Math.max(POLICY.minFeeRate, Math.ceil(est[n] * 100) / 100) : null);
  return [
    { name: "Economy", hint: "about 25 blocks", rate: pick("25") ?? POLICY.minFeeRate },
    { name: "Normal", hint: "about 3 blocks", rate: Math.max(POLICY.defaultFeeRate, pick("3") ?? POLICY.defaultFeeRate), isDefault: true },
    { name: "Fast", hint: "next block", rate: Math.max(POLICY.defaultFeeRate, pick("1") ?? POLICY.defaultFeeRate) },
  ];
}

/**
 * The send form's amount: {value} in base units, or {error} saying what is wrong with it
 * (".5" means 0.5; a negative amount, too many decimals or more coins than can exist each say so).
 */
export function amountInput(text) {
  let t = String(text ?? "").trim();
  if (!t) return { error: "Enter the amount to send, in CRN." };
  if (/^-/.test(t)) return { error: "The amount must be positive: you can only send coins, not take them." };
  if (/^\+/.test(t)) t = t.slice(1);
  if (/^\.\d/.test(t)) t = `0${t}`;
  if (/^\d+,\d+$/.test(t)) return { error: `Use a dot for decimals: ${t.replace(",", ".")}.` };
  const m = /^(\d+)(?:\.(\d*))?$/.exec(t);
  if (!m) return { error: "The amount is not a number of CRN: use digits and a dot (e.g. 0.5)." };
  if ((m[2] ?? "").length > 8) return { error: "At most 8 decimals: 0.00000001 CRN is the smallest unit." };
  const whole = m[1].replace(/^0+(?=\d)/, "");
  if (whole.length > 8 || Number(whole) * UNITS_PER_COIN > MAX_MONEY) {
    return { error: `That is more than the ${formatCoins(MAX_MONEY)} CRN that can ever exist.` };
  }
  const v = parseAmount(m[2] ? `${whole}.${m[2]}` : whole);
  if (v === null) return { error: "The amount is not a number of CRN: use digits and a dot (e.g. 0.5)." };
  if (v > MAX_MONEY) return { error: `That is more than the ${formatCoins(MAX_MONEY)} CRN that can ever exist.` };
  if (v === 0) return { error: "The amount must be more than 0." };
  return { value: v };
}

/** One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. */
function csvField(v) {
  const s = v == null ? "" : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The history of `address` as CSV (RFC 4180, CRLF): newest first, one row per transaction, with the
 * net amount for this address and the fee in CRN (exact decimals, no grouping, as a spreadsheet reads them).
 */
export function historyCSV(txs, address, tipHeight) {
  const crn = (units) => plainAmount(units, { fixed: true });
  const rows = [["txid", "status", "confirmations", "block_height", "block_time_utc", "amount_crn", "fee_crn", "counterparty"]];
  for (const tx of txs) {
    const net = netForAddress(tx, address);
    const confirmed = !!tx.status?.confirmed;
    const other = isCoinbase(tx) ? "mining reward"
      : net < 0 ? (tx.vout.find((o) => o.address !== address)?.address ?? "self")
        : (tx.vin.find((i) => i.prevout && i.prevout.address !== address)?.prevout.address ?? "self");
    const spent = tx.vin.some((i) => i.prevout && i.prevout.address === address);
    rows.push([
      tx.txid,
      confirmed ? "confirmed" : "pending",
      confirmations(tx.status, tipHeight),
      confirmed ? tx.status.block_height : "",
      confirmed && tx.status.block_time ? new Date(tx.status.block_time * 1000).toISOString() : "",
      crn(net),
      spent && Number.isSafeInteger(tx.fee) ? crn(tx.fee) : "",
      other,
    ]);
  }
  return rows.map((r) => r.map(csvField).join(",")).join("\r\n") + "\r\n";
}

/**
 * The address book (kept in this browser, per network): a new list with `name` → `address` added
 * (an address already in it is renamed). Throws an Error whose message the page shows.
 */
export function addContact(list, name, address, network) {
  const n = String(name ?? "").trim();
  if (!n) throw new Error("Give the address a name.");
  if (n.length > 40) throw new Error("Keep the name under 40 characters.");
  let canonical;
  try {
    canonical = encodeAddress(decodeAddress(String(address ?? "").trim(), network), network);
  } catch (e) {
    throw new Error(e.code ? addressMessage(e) : e.message);
  }
  const rest = (list ?? []).filter((c) => c.address !== canonical);
  if (rest.some((c) => c.name.toLowerCase() === n.toLowerCase())) throw new Error(`"${n}" already names another address.`);
  return [...rest, { name: n, address: canonical }].sort((a, b) => a.name.localeCompare(b.name));
}

export function removeContact(list, address) {
  return (list ?? []).filter((c) => c.address !== address);
}

/** The address book's entry for an address, or null. */
export function contactFor(list, address) {
  return (list ?? []).find((c) => c.address === address) ?? null;
}

/** Whether an account still lacks a backup: made from a phrase that was checked, imported from a
 *  keystore file, or exported once are each a backup; an account made before recovery phrases
 *  existed, and never exported, is not. */
export function needsBackup(account) {
  return !!account && !account.phrase && !account.imported && !account.exportedAt;
}
