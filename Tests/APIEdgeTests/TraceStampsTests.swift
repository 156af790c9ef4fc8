@testable import APIEdge
import NodeKit
import Testing

@Suite("Trace stamps")
struct TraceStampsTests {
    static func stamp(_ i: Int, time: Double = 1) -> TraceEvent {
        TraceEvent(id: "tx\(i)", kind: .tx, stage: .received, service: .edge, time: time, detail: "POST /api/tx")
    }

    @Test("the edge keeps the stamps of its last `limit` txids, oldest forgotten first")
    func bounded() {
        let stamps = TraceStamps(limit: 3)
        for i in 0..<10 { stamps.record(Self.stamp(i)) }
        #expect((0..<7).allSatisfy { stamps.events("tx\($0)").isEmpty })
        #expect((7..<10).allSatisfy { stamps.events("tx\($0)").count == 1 })
        // A second stamp of a kept id joins it and forgets nothing.
        stamps.record(Self.stamp(9, time: 2))
        #expect(stamps.events("TX9").map(\.time) == [1, 2])
        #expect(stamps.events("tx7").count == 1)
        // Past many compactions, still the last three.
        for i in 10..<1_000 { stamps.record(Self.stamp(i)) }
        #expect(stamps.events("tx996").isEmpty)
        #expect((997..<1_000).allSatisfy { stamps.events("tx\($0)").count == 1 })
    }
}
