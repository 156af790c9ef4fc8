import ChainCore
@testable import PeerBridge
import Testing

@Suite("Announcer: transaction announcements batched per peer")
struct AnnouncerTests {
    static func item(_ n: Int) -> Wire.InvItem { Wire.InvItem(.tx, Hash256.sha256d(Array("tx\(n)".utf8))) }

    @Test("queued items wait for one flush; one flush is scheduled at a time")
    func batches() {
        var a = Announcer()
        let r1 = a.needsFlush()
        #expect(!r1, "nothing waits")
        let r2 = a.queue(Self.item(1), for: 1)
        #expect(r2 == nil)
        let r3 = a.queue(Self.item(2), for: 1)
        #expect(r3 == nil)
        let r4 = a.queue(Self.item(1), for: 2)
        #expect(r4 == nil)
        let r5 = a.needsFlush()
        #expect(r5 && a.flushScheduled)
        let r6 = a.needsFlush()
        #expect(!r6, "already scheduled")
        let out = a.flush()
        #expect(out[1] == [Self.item(1), Self.item(2)] && out[2] == [Self.item(1)])
        #expect(a.isEmpty && !a.flushScheduled)
    }

    @Test("a full batch goes out at once; a peer gone has nothing waiting")
    func fullBatchAndDrop() {
        var a = Announcer()
        var sent: [Wire.InvItem]?
        for n in 0..<Wire.maxInventory { sent = a.queue(Self.item(n), for: 7) }
        #expect(sent?.count == Wire.maxInventory && a.pending(for: 7).isEmpty)
        _ = a.queue(Self.item(1), for: 8)
        a.drop(8)
        #expect(a.isEmpty)
    }
}
