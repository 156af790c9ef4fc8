// Driven by Tests/WalletFrontTests/CrossImplementationTests.swift: reads one JSON
// request on stdin, does it with the browser wallet's own modules
// (Sources/WalletFront/Public/js/lib), prints one JSON answer on stdout.
//
// {"op":"sign", "network":"regtest", "seed":"<hex>", "tipHeight":N,
//  "coins":[{"txid","vout","value","height","coinbase","confirmed"}],
//  "to":"<address>", "amount":N, "feeRate":R}
//   → {"hex","txid","fee","size","change","inputs":[{"txid","vout"}],"sighash","address"}
// {"op":"seal", "seed":"<hex>", "password":"…", "network":"regtest", "iterations":N} → {"file":"<keystore text>"}
// {"op":"open", "file":"<keystore text>", "password":"…"} → {"seed","address","public_key"} or {"error":{"kind","message"}}
// {"op":"phrase", "phrase":"<words>", "network":"regtest", "count":N} → {"accounts":[{"account","path","seed","address","public_key"}]}
//   or {"error":{"kind","message"}} (the word list from CAIRN_BIP39_WORDLIST or Debian's python3-mnemonic)

import { fromHex, toHex, sighash, decodeTx, hashToDisplay } from "../../../Sources/WalletFront/Public/js/lib/encoding.js";
import { networkParams } from "../../../Sources/WalletFront/Public/js/lib/networks.js";
import { decodeAddress, encodeAddress } from "../../../Sources/WalletFront/Public/js/lib/bech32m.js";
import { publicKeyFromSeed } from "../../../Sources/WalletFront/Public/js/lib/keys.js";
import { plan, signPlan, partitionCoins } from "../../../Sources/WalletFront/Public/js/lib/coinselect.js";
import * as keystore from "../../../Sources/WalletFront/Public/js/lib/keystore.js";
import { parseWordList, splitPhrase } from "../../../Sources/WalletFront/Public/js/lib/bip39.js";
import { phraseAccounts } from "../../../Sources/WalletFront/Public/js/lib/slip10.js";
import { readFileSync } from "node:fs";

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return Buffer.concat(chunks).toString("utf8");
}

async function run(req) {
  switch (req.op) {
    case "sign": {
      const params = networkParams(req.network);
      const seed = fromHex(req.seed);
      const pub = await publicKeyFromSeed(seed);
      const { spendable } = partitionCoins(req.coins, { tipHeight: req.tipHeight, maturity: params.coinbaseMaturity });
      const recipient = decodeAddress(req.to, req.network);
      const p = plan({ coins: spendable, recipient, amount: req.amount, change: pub, feeRate: req.feeRate });
      const signed = await signPlan(p, { key: seed, ownerPublicKey: pub, network: req.network });
      const spent = p.inputs.map((c) => ({ value: c.value, publicKey: pub }));
      const msg = await sighash(decodeTx(fromHex(signed.hex)), spent, req.network);
      return {
        hex: signed.hex, txid: signed.txid, fee: p.fee, size: signed.size, change: p.change,
        inputs: p.inputs.map((c) => ({ txid: c.txid, vout: c.vout })),
        sighash: hashToDisplay(msg), address: encodeAddress(pub, req.network),
      };
    }
    case "seal": {
      const file = await keystore.seal(fromHex(req.seed), req.password, req.network, { iterations: req.iterations ?? keystore.ITERATIONS });
      return { file: keystore.serialize(file) };
    }
    case "open": {
      try {
        const k = await keystore.open(req.file, req.password);
        return { seed: toHex(k.seed), address: k.address, public_key: toHex(k.publicKey) };
      } catch (e) {
        return { error: { kind: e.kind ?? "other", message: e.message } };
      }
    }
    case "phrase": {
      const list = parseWordList(readFileSync(process.env.CAIRN_BIP39_WORDLIST || "/usr/lib/python3/dist-packages/mnemonic/wordlist/english.txt", "utf8"));
      try {
        const accounts = await phraseAccounts(splitPhrase(req.phrase), list, req.network, { count: req.count ?? 1 });
        return { accounts: accounts.map((a) => ({ account: a.account, path: a.path, seed: toHex(a.seed), address: a.address, public_key: toHex(a.publicKey) })) };
      } catch (e) {
        return { error: { kind: e.kind ?? "other", message: e.message } };
      }
    }
    default:
      throw new Error(`unknown op '${req.op}'`);
  }
}

try {
  const out = await run(JSON.parse(await readStdin()));
  process.stdout.write(JSON.stringify(out) + "\n");
} catch (e) {
  process.stderr.write(`sign-fixture: ${e.stack ?? e}\n`);
  process.exit(1);
}
