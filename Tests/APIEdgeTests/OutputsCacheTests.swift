@testable import APIEdge
import ChainCore
import Testing

/// The edge's cache of recent transactions' outputs keeps the last `generation` to `2 × generation`
/// transactions seen: never emptied at once.
@Suite struct OutputsCacheTests {
    static func txid(_ i: Int) -> Hash256 { Hash256(bytes: (0..<32).map { UInt8(truncatingIfNeeded: i >> ($0 % 8)) &+ UInt8($0) }) }
    static func outputs(_ i: Int) -> [TxOutput] { [TxOutput(value: UInt64(i), publicKey: Array(repeating: UInt8(i & 0xff), count: 32))] }

    @Test func theLastGenerationIsAlwaysThere() {
        var cache = OutputsCache(generation: 100)
        for i in 0..<1_000 {
            cache.insert(Self.outputs(i), of: Self.txid(i))
            // the last 100 seen (or all of them, fewer), whatever the moment
            for j in max(0, i - 99)...i { #expect(cache.outputs(of: Self.txid(j)) == Self.outputs(j), "\(j) lost after \(i)") }
            #expect(cache.count <= 200)
        }
        #expect(cache.outputs(of: Self.txid(0)) == nil, "the oldest are dropped")
        #expect(cache.count >= 100)
    }

    @Test func seeingATransactionAgainDoesNotTurnTheGeneration() {
        var cache = OutputsCache(generation: 2)
        cache.insert(Self.outputs(1), of: Self.txid(1))
        cache.insert(Self.outputs(2), of: Self.txid(2))
        cache.insert(Self.outputs(2), of: Self.txid(2))   // seen again: still two in the newer
        cache.insert(Self.outputs(3), of: Self.txid(3))   // the generation turns here, not before
        cache.insert(Self.outputs(4), of: Self.txid(4))
        #expect([1, 2, 3, 4].allSatisfy { cache.outputs(of: Self.txid($0)) != nil })
    }
}
