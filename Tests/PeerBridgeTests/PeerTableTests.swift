import ChainCore
@testable import PeerBridge
import Testing

@Suite("Peer table: slots, best height, one connection per node")
struct PeerTableTests {
    static func peer(_ id: Int, _ direction: Connection.Direction = .inbound, host: String = "10.0.0.1", dialURL: String? = nil,
                     nonce: UInt64? = nil, height: Int = 0, verack: Bool = true, listenPort: UInt16 = 0) -> PeerState {
        let conn = Connection(id: id, direction: direction, remoteHost: host, remotePort: 1000 + id, dialURL: dialURL)
        var p = PeerState(conn: conn, messages: TokenBucket(capacity: 1, rate: 1), inventory: TokenBucket(capacity: 1, rate: 1))
        if let nonce { p.hello = hello(nonce: nonce, listenPort: listenPort) }
        p.verackReceived = verack
        p.bestHeight = height
        p.shownHeight = height
        return p
    }

    static func hello(nonce: UInt64, listenPort: UInt16 = 0) -> Wire.Hello {
        Wire.Hello(protocolVersion: 1, magic: ChainParams.regtest.magic, genesis: ChainParams.regtest.genesisHash, bestHeight: 0,
                   bestHash: ChainParams.regtest.genesisHash, nonce: nonce, listenPort: listenPort, userAgent: "/t/")
    }

    @Test("slots count one direction, without the newcomer and without closing peers")
    func slots() {
        var t = PeerTable()
        t[1] = Self.peer(1)
        t[2] = Self.peer(2)
        t[3] = Self.peer(3, .outbound)
        #expect(t.slotsTaken(.inbound, besides: 2) == 1)
        #expect(t.slotsTaken(.outbound, besides: 9) == 1)
        t[1]?.conn.close("going")
        #expect(t.slotsTaken(.inbound, besides: 2) == 0)
        #expect(t.outboundCount == 1)
    }

    @Test("best shown height and live ids: only handshaken peers that are not closing count")
    func live() {
        var t = PeerTable()
        #expect(t.bestShownHeight == 0)
        t[1] = Self.peer(1, nonce: 1, height: 10)
        t[2] = Self.peer(2, nonce: 2, height: 50)
        t[3] = Self.peer(3, nonce: 3, height: 99, verack: false)
        #expect(t.bestShownHeight == 50 && t.liveIDs == [1, 2])
        // A claim it has not shown does not count.
        t[1]?.bestHeight = 4_000_000_000
        #expect(t.bestShownHeight == 50)
        t[2]?.conn.close("going")
        #expect(t.bestShownHeight == 10 && t.liveIDs == [1])
        t.removeValue(forKey: 1)
        #expect(t.bestShownHeight == 0 && t.liveIDs.isEmpty && t.count == 2)
    }

    @Test("a URL's node: dialled there, or the node found there reached otherwise; a stranger's nonce alone is not enough")
    func nodeAtURL() {
        var t = PeerTable()
        t[1] = Self.peer(1, .outbound, dialURL: "ws://a:1", nonce: 5)
        t[2] = Self.peer(2, .inbound, nonce: 6)
        #expect(t.connects("ws://a:1", nodeAtURL: nil))
        #expect(t.connects("ws://a-alias:1", nodeAtURL: 5), "our dial found node 5 there, and we are connected to it")
        #expect(!t.connects("ws://b:1", nodeAtURL: 6), "an inbound peer claiming 6 that did not announce the URL")
        t[2]?.announcedURL = "ws://b:1"
        #expect(t.connects("ws://b:1", nodeAtURL: 6))
        #expect(t.other(claiming: 5, besides: 2)?.conn.id == 1 && t.other(claiming: 5, besides: 1) == nil)
    }

    @Test("duplicates: same direction keeps the established one; crossed dials are decided by the lower nonce only")
    func duplicateLoser() {
        let existingIn = Self.peer(1, .inbound, nonce: 50)
        let newIn = Connection(id: 2, direction: .inbound, remoteHost: "10.0.0.2", remotePort: 9, dialURL: nil)
        #expect(PeerTable.duplicateLoser(ownNonce: 10, new: newIn, newHello: Self.hello(nonce: 50), existing: existingIn) == .new)

        // We (10) dialled ws://10.0.0.2:8342 while it (50) dialled us and announced that very URL: we keep ours.
        var inbound = Self.peer(1, .inbound, host: "10.0.0.2", nonce: 50)
        inbound.announcedURL = "ws://10.0.0.2:8342"
        let ours = Connection(id: 3, direction: .outbound, remoteHost: "10.0.0.2", remotePort: 8342, dialURL: "ws://10.0.0.2:8342")
        #expect(PeerTable.duplicateLoser(ownNonce: 10, new: ours, newHello: Self.hello(nonce: 50), existing: inbound) == .existing)
        #expect(PeerTable.duplicateLoser(ownNonce: 90, new: ours, newHello: Self.hello(nonce: 50), existing: inbound) == nil,
                "the higher nonce lets the other node decide")
        inbound.announcedURL = "ws://elsewhere:1"
        #expect(PeerTable.duplicateLoser(ownNonce: 10, new: ours, newHello: Self.hello(nonce: 50), existing: inbound) == nil)

        // The inbound one arrives second: it goes when it announced the URL we dialled.
        let dialled = Self.peer(1, .outbound, host: "10.0.0.2", dialURL: "ws://10.0.0.2:8342", nonce: 50)
        let theirs = Connection(id: 4, direction: .inbound, remoteHost: "10.0.0.2", remotePort: 5555, dialURL: nil)
        #expect(PeerTable.duplicateLoser(ownNonce: 10, new: theirs, newHello: Self.hello(nonce: 50, listenPort: 8342), existing: dialled) == .new)
        #expect(PeerTable.duplicateLoser(ownNonce: 10, new: theirs, newHello: Self.hello(nonce: 50, listenPort: 1), existing: dialled) == nil)
    }
}
