import Bus
import ChainCore
import Foundation
import NodeKit
import Synchronization
import Testing
import TestSupport

@Suite(.serialized) struct CrashRecovery {
    /// kill -9 each service in turn while transactions stream in: the supervisor
    /// restarts it, no acknowledged transaction is lost, and the chain store's
    /// UTXO set equals the one recomputed from its blocks.
    @Test func killingAnyServiceLosesNothingAcknowledged() async throws {
        let miner = TestWallet()
        let stack = try await Stack(miner: miner, blockInterval: 0.3)
        defer { stack.stop() }
        let maturity = ChainParams.regtest.coinbaseMaturity
        try await waitUntil("a dozen mature coinbases", timeout: 120) { try await stack.height() >= maturity + 12 }
        let tip = try await stack.height()
        let start = try await stack.spendable(miner, tip: tip)
        #expect(start.count >= 10)

        let acked = Mutex<[String]>([])
        let refused = Mutex<[String: Int]>([:])
        let stop = Atomic<Bool>(false)
        let stream = Task {
            var coins = start
            while !stop.load(ordering: .relaxed) {
                guard !coins.isEmpty else { try? await Task.sleep(for: .milliseconds(100)); continue }
                let coin = coins.removeFirst()
                let half = (coin.1.value - 1_000) / 2
                let tx = miner.spend([coin], to: [miner.output(half), miner.output(coin.1.value - 1_000 - half)])
                let result = try? await stack.submit(tx)
                switch result {
                case let (200, txid)?:
                    acked.withLock { $0.append(txid.trimmingCharacters(in: .whitespacesAndNewlines)) }
                    coins.append((OutPoint(txid: tx.txid, index: 0), tx.outputs[0]))
                    coins.append((OutPoint(txid: tx.txid, index: 1), tx.outputs[1]))
                case let (status, text)?:
                    let code = (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
                        .flatMap { ($0["error"] as? [String: Any])?["code"] as? String } ?? "\(status)"
                    refused.withLock { $0[code, default: 0] += 1 }
                    // A service was down (not acknowledged): try the coin again later. A real refusal: drop it.
                    if status >= 500 || code == "chain-unavailable" { coins.append(coin) }
                    try? await Task.sleep(for: .milliseconds(50))
                case nil:
                    refused.withLock { $0["connection", default: 0] += 1 }
                    coins.append(coin)
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
        }

        for service in ["cairn-chainstore", "cairn-mempool", "cairn-edge", "cairn-miner"] {
            try await Task.sleep(for: .seconds(2))
            let before = stack.pids(of: service)
            #expect(before.count == 1, "\(service) running once: \(before)")
            for pid in before { kill(pid, SIGKILL) }
            try await waitUntil("\(service) is restarted and the stack is healthy", timeout: 60) {
                let now = stack.pids(of: service)
                guard now.count == 1, now != before else { return false }
                return try await stack.healthy()
            }
        }
        try await Task.sleep(for: .seconds(2))
        // Enough acknowledged for the check below to mean something, however slow the machine.
        try await waitUntil("more than 20 transactions acknowledged", timeout: 120) { acked.withLock { $0.count } > 20 }
        stop.store(true, ordering: .relaxed)
        await stream.value

        let txids = acked.withLock { $0 }
        #expect(txids.count > 20, "transactions acknowledged: \(txids.count), refused: \(refused.withLock { $0 })")
        try await waitUntil("every acknowledged transaction is confirmed", timeout: 120, every: 1) {
            for txid in txids {
                let (_, status) = try await stack.get("/api/tx/\(txid)/status")
                if status["confirmed"] as? Bool != true { return false }
            }
            return true
        }
        for txid in txids {
            let (code, status) = try await stack.get("/api/tx/\(txid)/status")
            #expect(code == 200 && status["confirmed"] as? Bool == true, "acknowledged \(txid) was lost")
        }

        let context = try ZMQContext()
        let chain = try await RPCClient(context: context, endpoint: stack.endpoints.chainRPC, timeout: .seconds(60), retries: 1)
        let check = try await chain.call("verifyutxo", Empty(), as: UTXOCheck.self)
        #expect(check.ok, "UTXO set differs from the blocks: \(check.mismatches)")
        await chain.stop()
        await context.terminate()
    }

    /// The same under a payment flood (issue 11): many clients, each with coins of its own, submit as
    /// fast as the node takes them; a kill -9 of the service lands mid-flood, the supervisor restarts
    /// it, and afterwards every transaction that got a 2xx is in the mempool or the chain, and the
    /// mempool's and the chain store's own checks pass. Prints how many were acknowledged (no rate is
    /// asserted: the machine is shared).
    @Test(arguments: ["cairn-edge", "cairn-mempool", "cairn-chainstore"])
    func killDashNineMidFloodLosesNothingAcknowledged(service: String) async throws {
        let started = ContinuousClock.now
        let miner = TestWallet()
        let stack = try await Stack(miner: miner, blockInterval: 0.3)
        defer { stack.stop() }
        try await waitUntil("a mature coinbase", timeout: 120) { try await stack.height() >= ChainParams.regtest.coinbaseMaturity + 2 }
        let coin = try #require(try await stack.spendable(miner, tip: try await stack.height()).first, "no mature coinbase\n\(stack.log)")
        let flood = try await stack.startFlood(clients: 48, on: coin)

        // Mid-flood: the clients have been acknowledged a while when the kill lands.
        try await waitUntil("the flood is under way", timeout: 90) { flood.acknowledgedCount >= 500 }
        let before = stack.pids(of: service)
        #expect(before.count == 1, "\(service) running once: \(before)")
        let ackedAtKill = flood.acknowledgedCount
        for pid in before { kill(pid, SIGKILL) }
        try await waitUntil("\(service) is restarted and the stack is healthy", timeout: 90) {
            let now = stack.pids(of: service)
            guard now.count == 1, now != before else { return false }
            return try await stack.healthy()
        }
        let ackedAtRestart = flood.acknowledgedCount
        // and the flood goes on through the restarted service
        try await waitUntil("the flood is acknowledged again after the restart", timeout: 90) {
            flood.acknowledgedCount >= ackedAtRestart + 500
        }
        let tally = await flood.stop()
        print("flood, kill -9 \(service): \(tally.summary); \(ackedAtKill) acknowledged before the kill, \(ackedAtRestart) when healthy again")

        try await stack.expectNothingLost(tally)
        #expect(tally.refused.isEmpty, "transactions of the flood refused for good: \(tally.refused)")
        print("flood, kill -9 \(service): took \(seconds(since: started))")
    }
}
