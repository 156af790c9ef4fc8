import ChainCore
@testable import PeerBridge
import Testing

@Suite("Transaction download: who is asked, who next, and the per-peer cap")
struct TxDownloadTests {
    static func txid(_ n: Int) -> Hash256 { Hash256.sha256d(Array("tx\(n)".utf8)) }
    let a = TxDownloadTests.txid(1), b = TxDownloadTests.txid(2)

    @Test("the first announcer is asked; later ones are remembered (bounded, once each) while it is in flight")
    func announcements() {
        var d = TxDownload()
        let r1 = d.addAnnouncement(a, from: 1, alreadySeen: false)
        #expect(r1 == .request)
        let r2 = d.addAnnouncement(a, from: 2, alreadySeen: true)
        #expect(r2 == .noted)
        let r3 = d.addAnnouncement(a, from: 2, alreadySeen: true)
        #expect(r3 == .noted)
        let r4 = d.addAnnouncement(a, from: 1, alreadySeen: true)
        #expect(r4 == .noted, "the peer asked is not its own alternative")
        #expect(d.alternatives(for: a) == [2])
        for p in 3..<20 { _ = d.addAnnouncement(a, from: p, alreadySeen: true) }
        #expect(d.alternatives(for: a).count == TxDownload.maxAnnouncers)
        #expect(d.inFlight[a]?.peer == 1 && d.requestedCount(of: 1) == 1)
        // Seen and not in flight (delivered, or accepted locally): nothing to remember.
        let r5 = d.addAnnouncement(b, from: 2, alreadySeen: true)
        #expect(r5 == .noted)
        #expect(d.alternatives(for: b).isEmpty)
    }

    @Test("a transaction delivered by another peer than the one asked no longer counts against the one asked")
    func deliveredByAnother() {
        var d = TxDownload()
        #expect(d.addAnnouncement(a, from: 1, alreadySeen: false) == .request)
        #expect(d.requestedCount(of: 1) == 1)
        d.receivedTx(a, from: 2)
        #expect(d.requestedCount(of: 1) == 0 && d.inFlight[a] == nil && d.alternatives(for: a).isEmpty)
    }

    @Test("a peer with maxPeerAnnouncements open requests is asked for nothing more")
    func perPeerCap() {
        var d = TxDownload()
        let decisions = (0..<TxDownload.maxPeerAnnouncements).map { d.addAnnouncement(Self.txid(100 + $0), from: 1, alreadySeen: false) }
        #expect(decisions.allSatisfy { $0 == .request })
        let r6 = d.addAnnouncement(a, from: 1, alreadySeen: false)
        #expect(r6 == .peerAtLimit)
        let r7 = d.addAnnouncement(a, from: 2, alreadySeen: false)
        #expect(r7 == .request)
        d.receivedTx(Self.txid(100), from: 1)
        let r8 = d.addAnnouncement(b, from: 1, alreadySeen: false)
        #expect(r8 == .request, "a delivery frees a slot")
    }

    @Test("delivered: nothing pending about it any more")
    func delivered() {
        var d = TxDownload()
        _ = d.addAnnouncement(a, from: 1, alreadySeen: false)
        _ = d.addAnnouncement(a, from: 2, alreadySeen: true)
        d.receivedTx(a, from: 1)
        #expect(d.inFlight[a] == nil && d.alternatives(for: a).isEmpty && d.requestedCount(of: 1) == 0)
        let r = d.receivedNotFound([a], from: 1, askable: [1, 2])
        #expect(r == TxDownload.Reassigned(), "notfound for something not in flight from that peer changes nothing")
    }

    @Test("notfound: asked of the next announcer that can be asked; with none left, forgotten")
    func notFound() {
        var d = TxDownload()
        _ = d.addAnnouncement(a, from: 1, alreadySeen: false)
        _ = d.addAnnouncement(b, from: 1, alreadySeen: false)
        _ = d.addAnnouncement(a, from: 2, alreadySeen: true)
        _ = d.addAnnouncement(a, from: 3, alreadySeen: true)
        let r = d.receivedNotFound([a, b], from: 1, askable: [3])   // 2 is gone or not handshaken
        #expect(r.requests == [3: [a]] && r.forgotten == [b])
        #expect(d.inFlight[a]?.peer == 3 && d.requestedCount(of: 1) == 0 && d.requestedCount(of: 3) == 1)
        #expect(d.alternatives(for: a).isEmpty, "2 was tried and skipped")
    }

    @Test("a peer gone or silent past the timeout: its transactions go to the next announcers")
    func disconnectAndStall() {
        let t0 = ContinuousClock.now
        var d = TxDownload()
        _ = d.addAnnouncement(a, from: 1, alreadySeen: false, now: t0)
        _ = d.addAnnouncement(a, from: 2, alreadySeen: true)
        _ = d.addAnnouncement(a, from: 3, alreadySeen: true)
        let gone = d.disconnectedPeer(1, askable: [1, 2, 3])
        #expect(gone.requests == [2: [a]] && d.requestedCount(of: 1) == 0)
        #expect(d.alternatives(for: a) == [3], "the rest stay for the next failure")
        let early = d.stalled(now: t0 + .seconds(5), timeout: .seconds(15), askable: [2, 3])
        #expect(early == TxDownload.Reassigned())
        let late = d.stalled(now: t0 + .seconds(60), timeout: .seconds(15), askable: [2, 3])
        #expect(late.requests == [3: [a]] && d.inFlight[a]?.peer == 3)
        let last = d.stalled(now: t0 + .seconds(600), timeout: .seconds(15), askable: [2, 3])
        #expect(last.forgotten == [a] && d.inFlight.isEmpty)
    }
}
