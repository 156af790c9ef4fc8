@testable import APIEdge
import ChainCore
import NodeKit
import Testing

@Suite("Trace stamps")
struct TraceStampsTests {
    static func txid(_ i: Int) -> Hash256 { Hash256(w0: UInt64(i), w1: 7, w2: 0, w3: UInt64(i) << 32) }

    static func stamp(_ stamps: TraceStamps, _ i: Int, time: Double = 1) {
        stamps.received(txid(i), at: time, detail: "POST /api/tx")
    }

    static func events(_ stamps: TraceStamps, _ i: Int) -> [TraceEvent] { stamps.events(txid(i).hex) }

    @Test("the edge keeps the stamps of its last `limit` txids, oldest forgotten first")
    func bounded() {
        let stamps = TraceStamps(limit: 3)
        for i in 0..<10 { Self.stamp(stamps, i) }
        #expect((0..<7).allSatisfy { Self.events(stamps, $0).isEmpty })
        #expect((7..<10).allSatisfy { Self.events(stamps, $0).count == 1 })
        // A second stamp of a kept id joins it and forgets nothing.
        Self.stamp(stamps, 9, time: 2)
        #expect(stamps.events(Self.txid(9).hex.uppercased()).map(\.time) == [1, 2])
        #expect(Self.events(stamps, 7).count == 1)
        // Past many turns of the ring, still the last three.
        for i in 10..<1_000 { Self.stamp(stamps, i) }
        #expect(Self.events(stamps, 996).isEmpty)
        #expect((997..<1_000).allSatisfy { Self.events(stamps, $0).count == 1 })
        // As the trace route shows them: the txid's display hex, the edge's received stage.
        let e = Self.events(stamps, 999)
        #expect(e == [TraceEvent(id: Self.txid(999).hex, kind: .tx, stage: .received, service: .edge, time: 1, detail: "POST /api/tx")])
        // An id that is not a txid has none.
        #expect(stamps.events("tx999").isEmpty)
    }

    @Test("one txid posted again and again keeps its first stamp and its latest few, no more")
    func repeatsBounded() {
        let stamps = TraceStamps(limit: 3)
        for t in 1...100 { Self.stamp(stamps, 5, time: Double(t)) }
        let times = Self.events(stamps, 5).map(\.time)
        #expect(times == [1] + (100 - TraceStamps.moreLimit + 1...100).map(Double.init))
    }
}
