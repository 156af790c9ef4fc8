@testable import APIEdge
import ChainCore
import Crypto
import Foundation
import HummingbirdTesting
import NodeKit
import Testing

/// The regtest faucet: its rate limits, which coins it may spend, and its HTTP errors.
/// (The browser test pays a real wallet from a real node's faucet.)
@Suite("Faucet") struct FaucetTests {
    let key = Curve25519.Signing.PrivateKey()
    func faucet(cooldown: Double = 60) -> Faucet { Faucet(key: key, params: .regtest, amount: 10 * Units.perCoin, cooldown: cooldown) }
    func coin(_ n: UInt8, value: Amount = 50 * Units.perCoin, height: Int, coinbase: Bool = true) -> CoinInfo {
        CoinInfo(txid: Hash256(bytes: Array(repeating: n, count: 32)).hex, index: 0, value: value,
                 publicKey: Hex.encode(Array(key.publicKey.rawRepresentation)), height: height, coinbase: coinbase)
    }
    var recipient: Address { Address(publicKey: Array(Curve25519.Signing.PrivateKey().publicKey.rawRepresentation), network: .regtest) }

    @Test func oncePerAddressPerCooldown() {
        let f = faucet(cooldown: 60)
        #expect(f.admit("a", now: 1000) == nil)
        #expect(f.admit("a", now: 1010) == 50)          // wait 50 s more
        #expect(f.admit("b", now: 1010) == nil)         // another address is fine
        #expect(f.admit("a", now: 1061) == nil)         // after the cooldown
    }

    @Test func overallBurstThenSteadyRate() {
        let f = faucet(cooldown: 0)
        for i in 0..<Int(Faucet.burst) { #expect(f.admit("addr\(i)", now: 5000) == nil) }
        let wait = f.admit("late", now: 5000)
        #expect(wait == Faucet.refill)
        #expect(f.admit("late", now: 5000 + Faucet.refill) == nil)   // one token back after `refill` seconds
    }

    @Test func refundGivesTheTurnBack() {
        let f = faucet(cooldown: 60)
        #expect(f.admit("a", now: 100) == nil)
        f.refund("a")
        #expect(f.admit("a", now: 101) == nil)
    }

    @Test func spendsOnlyMatureUnspentUnreservedCoins() throws {
        let f = faucet()
        let maturity = ChainParams.regtest.coinbaseMaturity
        let tip = 100
        let coins = [
            coin(1, height: tip + 1 - maturity),        // just mature at the next block
            coin(2, height: tip + 2 - maturity),        // one block short
            coin(3, height: 5, coinbase: false),         // not a coinbase: any depth
            coin(4, height: 6),                          // spent by a pool transaction
        ]
        let spentInPool: Set<OutPoint> = [OutPoint(txid: Hash256(bytes: Array(repeating: 4, count: 32)), index: 0)]
        let usable = f.spendable(coins: coins, tipHeight: tip, spentInPool: spentInPool)
        #expect(Set(usable.map { $0.outpoint.txid.bytes[0] }) == [1, 3])

        // A payment reserves its coins: the next request doesn't pick them again.
        let tx = try f.pay(recipient, coins: coins, tipHeight: tip, spentInPool: spentInPool)
        #expect(tx.outputs[0].value == 10 * Units.perCoin)
        #expect(Set(tx.inputs.map(\.previousOutput)).isSubset(of: Set(usable.map(\.outpoint))))
        let spent = Set(tx.inputs.map(\.previousOutput))
        let next = f.spendable(coins: coins, tipHeight: tip, spentInPool: spentInPool)
        #expect(Set(next.map(\.outpoint)).isDisjoint(with: spent))
        f.release(tx)
        #expect(f.spendable(coins: coins, tipHeight: tip, spentInPool: spentInPool).count == 2)
    }

    @Test func signedPaymentValidates() throws {
        let f = faucet()
        let c = coin(9, height: 1)
        let tx = try f.pay(recipient, coins: [c], tipHeight: 50, spentInPool: [])
        let spent = [TxOutput(value: c.value, publicKey: Array(key.publicKey.rawRepresentation))]
        let digest = Sighash.compute(tx, spent: spent, params: .regtest)
        #expect(key.publicKey.isValidSignature(tx.inputs[0].payload, for: digest.bytes))
    }

    @Test func notEnoughIsAnError() {
        let f = faucet()
        let immature = coin(1, height: 100)
        let e = #expect(throws: FaucetShortfall.self) { try f.pay(recipient, coins: [immature], tipHeight: 100, spentInPool: []) }
        #expect(e?.coins == 0 && e?.spendable == 0)
    }

    /// Many payments at once from many threads: each coin goes to exactly one of them.
    @Test func concurrentPaymentsNeverShareACoin() async throws {
        let f = faucet()
        let coins = (1...40).map { coin(UInt8($0), value: 11 * Units.perCoin, height: 1) }
        let recipients = (0..<40).map { _ in Address(publicKey: Array(Curve25519.Signing.PrivateKey().publicKey.rawRepresentation), network: .regtest) }
        let txs = try await withThrowingTaskGroup(of: Transaction.self) { group in
            for r in recipients { group.addTask { try f.pay(r, coins: coins, tipHeight: 100, spentInPool: []) } }
            return try await group.reduce(into: [Transaction]()) { $0.append($1) }
        }
        let inputs = txs.flatMap { $0.inputs.map(\.previousOutput) }
        #expect(txs.count == 40)
        #expect(Set(inputs).count == inputs.count, "a coin was chosen twice")
        // All 40 coins are now reserved: a 41st payment has nothing left.
        #expect(throws: FaucetShortfall.self) { try f.pay(recipients[0], coins: coins, tipHeight: 100, spentInPool: []) }
    }

    @Test func routesWithoutAKeySayUnavailable() async throws {
        try await Stack.with { stack in
            try await stack.http { client in
                try await client.execute(uri: "/api/faucet", method: .get) { r in expectError(r, .notFound, "faucet-unavailable") }
                try await client.execute(uri: "/api/faucet", method: .post, body: .init(string: "{\"address\":\"x\"}")) { r in
                    expectError(r, .notFound, "faucet-unavailable")
                }
            }
        }
    }

    @Test func badRequestsGetClearErrors() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("faucet-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let keyPath = dir.appendingPathComponent("node-key").path
        FileManager.default.createFile(atPath: keyPath, contents: key.rawRepresentation)
        let own = Address(publicKey: Array(key.publicKey.rawRepresentation), network: .regtest).string
        let mainAddress = Address(publicKey: Array(key.publicKey.rawRepresentation), network: .main).string
        try await Stack.with(configure: { $0.faucetKeyPath = keyPath }) { stack in
            try await stack.http { client in
                for (body, code) in [("not json", "bad-json"), ("{\"addr\":1}", "bad-json"), ("{\"address\":\"rcrn1qqqq\"}", "bad-address"),
                                     ("{\"address\":\"\(mainAddress)\"}", "bad-address"), ("{\"address\":\"\(own)\"}", "bad-address")] {
                    try await client.execute(uri: "/api/faucet", method: .post, body: .init(string: body)) { r in
                        expectError(r, .badRequest, code)
                    }
                }
                try await client.execute(uri: "/api/faucet", method: .post, body: .init(string: String(repeating: "x", count: 10_000))) { r in
                    expectError(r, .contentTooLarge)
                }
            }
        }
    }
}
