import ChainCore
import Foundation
import NodeKit
import Testing
import TestSupport

/// Fee bump through real processes: a transaction stuck while no miner runs is replaced by a
/// higher-fee one; once a miner attaches, only the replacement confirms.
@Suite(.serialized) struct FeeBump {
    /// `cairn miner` attached to the stack, paying `wallet`; terminate it to stop mining.
    static func attachMiner(_ stack: Stack, paying wallet: TestWallet) async throws -> ProcessRunner {
        let p = try await ProcessRunner(Build.path("cairn"), ["miner", "--address", wallet.address().string, "--edge", stack.edge, "--threads", "1", "--block-interval", "0.2"])
        return p
    }

    static func stop(_ p: ProcessRunner) async throws {
        p.signal(SIGTERM)
        try await waitUntil("the miner exits", timeout: 30) { !p.isRunning }
    }

    func errorCode(_ text: String) -> String? {
        let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        return (json?["error"] as? [String: Any])?["code"] as? String
    }

    @Test func aStuckTransactionIsReplacedAndOnlyTheReplacementConfirms() async throws {
        let me = TestWallet()
        let stack = try await Stack(miner: me, extra: ["--no-miner"])
        defer { stack.stop() }
        var miner = try await Self.attachMiner(stack, paying: me)
        defer { miner.signal(SIGTERM) }
        try await waitUntil("coinbases mature", timeout: 180) { try await stack.height() >= ChainParams.regtest.coinbaseMaturity + 2 }
        try await Self.stop(miner)
        let tip = try await stack.height()
        let coin = try #require(try await stack.spendable(me, tip: tip).first, "no mature coinbase\n\(stack.log)")

        // Stuck: no miner runs.
        let them = TestWallet()
        let pay = Units.perCoin
        let original = me.spend([coin], to: [them.output(pay), me.output(coin.1.value - pay - 1_000)])
        let (accepted, _) = try await stack.submit(original)
        #expect(accepted == 200, "\(stack.log)")

        // Refusals, each with its name, over HTTP and JSON-RPC.
        let cheap = me.spend([coin], to: [them.output(pay), me.output(coin.1.value - pay - 1_050)])
        let (refused, body) = try await stack.submit(cheap)
        #expect(refused == 400 && errorCode(body) == "insufficient-fee", "\(refused) \(body)")
        let rpc = #"{"jsonrpc":"2.0","id":1,"method":"sendrawtransaction","params":["\#(Hex.encode(cheap.encoded))"]}"#
        let (_, rpcText, _) = try await stack.fetch("/rpc", method: "POST", body: rpc, headers: [("Content-Type", "application/json")])
        #expect(rpcText.contains("-26") && rpcText.contains("insufficient-fee"), "\(rpcText)")

        // The bump: same coin, same payment, a higher fee.
        let bump = me.spend([coin], to: [them.output(pay), me.output(coin.1.value - pay - 5_000)])
        // Over JSON-RPC with a maxfeerate below its fee rate (about 25,000 units/kB): -25, checked by the
        // mempool after the replacement rules, and the original stays.
        let capped = #"{"jsonrpc":"2.0","id":1,"method":"sendrawtransaction","params":["\#(Hex.encode(bump.encoded))", 0.0001]}"#
        let (_, cappedText, _) = try await stack.fetch("/rpc", method: "POST", body: capped, headers: [("Content-Type", "application/json")])
        #expect(cappedText.contains("-25") && cappedText.contains("max-fee-exceeded"), "\(cappedText)")
        let (kept, _) = try await stack.get("/api/tx/\(original.txid.hex)")
        #expect(kept == 200)
        let (bumped, bumpText) = try await stack.submit(bump)
        #expect(bumped == 200, "\(bumpText)")
        let (gone, _) = try await stack.get("/api/tx/\(original.txid.hex)")
        #expect(gone == 404)
        let (_, trace) = try await stack.get("/api/tx/\(original.txid.hex)/trace")
        let events = (trace["events"] as? [[String: Any]]) ?? []
        #expect(events.contains { $0["stage"] as? String == "replaced" && ($0["detail"] as? String ?? "").contains(bump.txid.hex) }, "\(events)")
        let (_, pool, _) = try await stack.fetch("/api/mempool/txids")
        #expect(pool.contains(bump.txid.hex) && !pool.contains(original.txid.hex), "\(pool)")

        // A miner attaches: the replacement confirms, the original never does.
        miner = try await Self.attachMiner(stack, paying: me)
        try await waitUntil("the replacement confirms", timeout: 90) {
            let (_, status) = try await stack.get("/api/tx/\(bump.txid.hex)/status")
            return status["confirmed"] as? Bool == true
        }
        let (still, _) = try await stack.get("/api/tx/\(original.txid.hex)")
        #expect(still == 404)
        // the payee holds the replacement's output, none of the original's
        let utxos = try await stack.getArray("/api/address/\(them.address().string)/utxo")
        #expect(utxos.map { $0["txid"] as? String } == [bump.txid.hex], "\(utxos)")
        let (_, check, _) = try await stack.fetch("/api/mempool")
        #expect(!check.contains(original.txid.hex))
        try await Self.stop(miner)
    }

    /// The txid `cairn wallet bump` printed (its note names the replaced one too).
    static func newTxid(in text: String, not old: String) -> String? {
        text.split(whereSeparator: { !$0.isHexDigit }).map(String.init).first { $0.count == 64 && $0 != old }
    }

    /// `cairn wallet bump`: a stuck payment bumped, then the bump cancelled, from the command line.
    @Test func theCLIBumpsAndCancelsAPendingPayment() async throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-bump-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let keystore = tmp.appendingPathComponent("alice.json").path
        let alice = try await EndToEnd.newWallet(keystore)
        let stack = try await Stack(extra: ["--no-miner"])
        defer { stack.stop() }
        let wallet = { (args: [String]) in
            try await stack.cairn(["wallet"] + args + ["--keystore", keystore, "--edge", stack.edge], env: EndToEnd.password)
        }
        let miner = try await ProcessRunner(Build.path("cairn"), ["miner", "--address", alice, "--edge", stack.edge, "--threads", "1", "--block-interval", "0.2"])
        defer { miner.signal(SIGTERM) }
        try await waitUntil("coinbases mature", timeout: 180) { try await stack.height() >= ChainParams.regtest.coinbaseMaturity + 2 }
        try await Self.stop(miner)

        let bob = TestWallet().address().string
        let (sent, sendOut) = try await wallet(["send", "--to", bob, "--amount", "1", "--fee-rate", "1"])
        #expect(sent == 0, "\(sendOut)")
        let original = try #require(EndToEnd.txid(in: sendOut))
        let (_, old) = try await stack.get("/api/tx/\(original)")
        let oldFee = try #require(old["fee"] as? Int)

        let (bumped, bumpOut) = try await wallet(["bump", original, "--fee-rate", "3"])
        #expect(bumped == 0, "\(bumpOut)")
        let bump = try #require(Self.newTxid(in: bumpOut, not: original), "\(bumpOut)")
        #expect(bump != original && bumpOut.contains("fee bumped"))
        #expect(try await stack.get("/api/tx/\(original)").0 == 404)
        let (_, new) = try await stack.get("/api/tx/\(bump)")
        let size = try #require(new["size"] as? Int)
        #expect(new["fee"] as? Int == 3 * size && 3 * size > oldFee)
        let outputs = (new["vout"] as? [[String: Any]]) ?? []
        #expect(outputs.contains { $0["address"] as? String == bob && $0["value"] as? Int == 100_000_000 })

        // the replaced one is gone: bumping it again fails, and the bump stays
        let (again, againOut) = try await wallet(["bump", original, "--fee-rate", "5"])
        #expect(again != 0, "\(againOut)")
        #expect(try await stack.get("/api/tx/\(bump)").0 == 200)

        let (cancelled, cancelOut) = try await wallet(["bump", bump, "--cancel"])
        #expect(cancelled == 0, "\(cancelOut)")
        let cancel = try #require(Self.newTxid(in: cancelOut, not: bump), "\(cancelOut)")
        let (_, c) = try await stack.get("/api/tx/\(cancel)")
        let cancelOutputs = (c["vout"] as? [[String: Any]]) ?? []
        #expect(cancelOutputs.count == 1 && cancelOutputs.first?["address"] as? String == alice, "\(cancelOutputs)")
        #expect(try await stack.get("/api/tx/\(bump)").0 == 404)
    }
}
