import Bus
import ChainCore
import Foundation
import NodeKit
import Testing
import TestSupport

/// What the flood tests (FloodTests, CrashTests' flood) share: the services' own checks over the
/// bus, a flood started on a mature coinbase, and the check that nothing acknowledged was lost.
extension Stack {
    /// Calls a method on this node's chain store ("chain") or mempool ("mempool").
    func rpc<P: Encodable & Sendable, R: Codable & Sendable>(_ service: String, _ method: String, _ params: P, as: R.Type) async throws -> R {
        let context = try ZMQContext()
        let client = try await RPCClient(context: context, endpoint: service == "chain" ? endpoints.chainRPC : endpoints.mempoolRPC,
                                         timeout: .seconds(30), retries: 1)
        defer { Task { await client.stop(); await context.terminate() } }
        return try await client.call(method, params, as: R.self)
    }

    func checkMempool() async throws -> MempoolCheck { try await rpc("mempool", "checkmempool", Empty(), as: MempoolCheck.self) }
    func verifyUTXO() async throws -> UTXOCheck { try await rpc("chain", "verifyutxo", Empty(), as: UTXOCheck.self) }

    /// `clients` flood clients, each with one output of a fan-out of `coin` (submitted and acknowledged first).
    func startFlood(clients: Int, on coin: (OutPoint, TxOutput)) async throws -> PaymentFlood {
        let flood = PaymentFlood(edge: edge, wallet: miner, connections: clients + 8)
        let fan = PaymentFlood.fanOut(coin, into: clients, wallet: miner)
        let (status, body) = try await submit(fan)
        try #require(status == 200, "the fan-out was refused: \(status) \(body)\n\(log)")
        flood.start(PaymentFlood.coins(of: fan).map { [$0] })
        return flood
    }

    /// After the flood: every acknowledged transaction is in the mempool or the chain, and the
    /// mempool's consistency check (its coin view and inputs against the chain store) and the chain
    /// store's UTXO check pass.
    func expectNothingLost(_ tally: PaymentFlood.Tally, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let started = ContinuousClock.now
        let lost = await waitUntilFound(tally.acknowledged)
        print("\(tally.acknowledged.count) acknowledged transactions looked up (\(seconds(since: started)))")
        #expect(lost.isEmpty, "\(lost.count) of \(tally.acknowledged.count) acknowledged transactions lost, e.g. \(lost.prefix(5))\n\(log)",
                sourceLocation: sourceLocation)
        try await expectChecksPass(sourceLocation: sourceLocation)
    }

    /// `checkmempool` and `verifyutxo` pass (the mempool's may need a moment to catch up with the chain's publications).
    func expectChecksPass(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let started = ContinuousClock.now
        var pool: MempoolCheck?
        try? await waitUntil("checkmempool passes", timeout: 60, every: 0.5) {
            pool = try await checkMempool()
            return pool?.ok == true
        }
        print("checkmempool \(pool?.ok == true ? "passes" : "fails") (\(seconds(since: started)))")
        #expect(pool?.ok == true, "checkmempool: \(pool.map { "\($0)" } ?? "no answer")", sourceLocation: sourceLocation)
        let utxo = try await verifyUTXO()
        #expect(utxo.ok, "verifyutxo: \(utxo.mismatches)", sourceLocation: sourceLocation)
    }
}

/// Seconds since `start`, for the tests' printed figures (never asserted).
func seconds(since start: ContinuousClock.Instant) -> String {
    let d = ContinuousClock.now - start
    return String(format: "%.1f s", Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
}

/// Prints each phase of a long test with the seconds since the previous one (figures, never asserted).
final class Phases: @unchecked Sendable {
    let name: String
    private var last = ContinuousClock.now
    init(_ name: String) { self.name = name }
    func mark(_ what: String) {
        print("\(name): \(what) (\(seconds(since: last)))")
        last = .now
    }
}
