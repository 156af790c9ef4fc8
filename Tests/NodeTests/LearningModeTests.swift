import ChainCore
import Foundation
import NodeKit
import Testing
import TestSupport

/// The learning mode through real processes: `cairn up` with its miner and a second miner attached,
/// paused and stepped with `cairn mining` (the operator cookie read from the data folder).
@Suite(.serialized) struct LearningMode {
    @Test func aPausedNodeMinesNothingWhileATransactionWaitsAndOneStepMinesExactlyOneBlockWithIt() async throws {
        let stack = try await Stack(blockInterval: 0.3)
        defer { stack.stop() }
        let mining = { (args: [String]) in
            try await stack.cairn(["mining"] + args + ["--edge", stack.edge, "--data", stack.dir.path])
        }
        try await waitUntil("coinbases mature", timeout: 120) { try await stack.height() >= ChainParams.regtest.coinbaseMaturity + 2 }

        // A second miner: the pace holds across every miner.
        let second = try await ProcessRunner(Build.path("cairn"), ["miner", "--address", TestWallet().address().string, "--edge", stack.edge, "--threads", "1",
                            "--block-interval", "0.3"])
        defer { second.signal(SIGTERM) }
        try await waitUntil("two miners ask for work", timeout: 30) {
            let miners = try await stack.getArray("/api/miners")
            return miners.count >= 2
        }

        // Anyone can read the pace; changing it takes the operator token.
        let (_, view) = try await stack.get("/api/mining")
        #expect(view["state"] as? String == "running")
        let (denied, _, _) = try await stack.fetch("/api/operator/mining/step", method: "POST")
        #expect(denied == 401)

        let (paused, out) = try await mining(["pause"])
        #expect(paused == 0, "cairn mining pause: \(out)")
        #expect(out.contains("paused"), "\(out)")
        // A block already on its way when the pause came may still land: let it.
        try await Task.sleep(for: .seconds(1.5))
        let before = try await stack.height()

        let tip = try await stack.height()
        let coins = try await stack.spendable(stack.miner, tip: tip)
        let coin = try #require(coins.first, "no mature coin")
        let tx = stack.miner.spend([coin], to: [TestWallet().output(Units.perCoin), stack.miner.output(coin.1.value - Units.perCoin - 1_000)])
        let (status, txid) = try await stack.submit(tx)
        #expect(status == 200, "submit: \(txid)")

        // Many block intervals later: no block, the transaction waits in the mempool, never in a template.
        try await Task.sleep(for: .seconds(3))
        #expect(try await stack.height() == before, "a paused node mined\n\(stack.log)")
        let (_, txStatus) = try await stack.get("/api/tx/\(tx.txid.hex)/status")
        #expect(txStatus["confirmed"] as? Bool == false)
        let (_, waiting) = try await stack.get("/api/tx/\(tx.txid.hex)/trace")
        let waitingStages = ((waiting["events"] as? [[String: Any]]) ?? []).compactMap { $0["stage"] as? String }
        #expect(waitingStages.contains("accepted") && !waitingStages.contains("template"), "\(waitingStages)")

        // One step: exactly one block, with the transaction in it; then paused again.
        let (stepped, stepOut) = try await mining(["step"])
        #expect(stepped == 0, "cairn mining step: \(stepOut)")
        try await waitUntil("the step's block", timeout: 60) { try await stack.height() > before }
        try await waitUntil("the step ends", timeout: 30) {
            let (_, v) = try await stack.get("/api/mining")
            return v["state"] as? String == "paused"
        }
        try await Task.sleep(for: .seconds(2))
        #expect(try await stack.height() == before + 1, "a step mined more than one block\n\(stack.log)")
        let (_, confirmed) = try await stack.get("/api/tx/\(tx.txid.hex)/status")
        #expect(confirmed["confirmed"] as? Bool == true)
        #expect(confirmed["block_height"] as? Int == before + 1)
        let (_, trace) = try await stack.get("/api/tx/\(tx.txid.hex)/trace")
        let stages = ((trace["events"] as? [[String: Any]]) ?? []).compactMap { $0["stage"] as? String }
        for stage in ["accepted", "template", "connected"] { #expect(stages.contains(stage), "\(stages)") }

        // The interval, then resume: mining goes on.
        let (set, setOut) = try await mining(["interval", "0.5"])
        #expect(set == 0 && setOut.contains("0.5"), "\(setOut)")
        let (resumed, resumeOut) = try await mining(["resume"])
        #expect(resumed == 0 && resumeOut.contains("running"), "\(resumeOut)")
        try await waitUntil("mining resumes", timeout: 60) { try await stack.height() >= before + 3 }
        let (shown, showOut) = try await mining([])
        #expect(shown == 0 && showOut.contains("running") && showOut.contains("0.5 s"), "\(showOut)")
        second.signal(SIGTERM)
    }
}
