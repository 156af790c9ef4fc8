import ChainCore
@testable import PeerBridge
import Testing

@Suite("Block download: queue, requests in flight, failures, round-robin scheduling")
struct BlockDownloadTests {
    static func hash(_ n: Int) -> Hash256 { Hash256.sha256d(Array("block\(n)".utf8)) }

    /// A tree of headers 1...n (hashes `hash(h)`) on top of `hash(0)`.
    static func tree(_ n: Int) -> HeaderTree {
        var t = HeaderTree(maxKnown: 10_000)
        for h in 1...n { t.add(hash(h), parent: hash(h - 1), height: h) }
        return t
    }

    static func download(perPeer: Int = 2, maxInFlight: Int = 64, window: Int = 256, maxAttempts: Int = 8) -> BlockDownload {
        BlockDownload(perPeer: perPeer, maxInFlight: maxInFlight, window: window, maxAttempts: maxAttempts)
    }

    @Test("scheduled lowest first, round robin, a few per peer, only to peers whose best height reaches the block")
    func roundRobin() {
        let tree = Self.tree(6)
        var d = Self.download()
        for h in 1...6 { d.enqueue(Self.hash(h)) }
        let (requests, givenUp) = d.schedule(live: [(id: 1, bestHeight: 6), (id: 2, bestHeight: 3)], tipHeight: 0, tree: tree)
        #expect(givenUp.isEmpty)
        #expect(requests[1] == [1, 3].map(Self.hash) && requests[2] == [2].map(Self.hash),
                "\(requests.mapValues { $0.count })")
        // Peer 2 reaches height 3 only; peer 1 is full (2 each): 4...6 wait.
        #expect(d.queue == [4, 5, 6].map(Self.hash) && d.inFlight.count == 3)
        #expect(d.load(of: 1) == 2 && d.peer(asked: Self.hash(2)) == 2)
    }

    @Test("nothing beyond the window above our tip, nor beyond the global bound")
    func windowAndBound() {
        let tree = Self.tree(10)
        var d = Self.download(perPeer: 10, maxInFlight: 3, window: 5)
        for h in 1...10 { d.enqueue(Self.hash(h)) }
        let (requests, _) = d.schedule(live: [(id: 1, bestHeight: 10)], tipHeight: 0, tree: tree)
        #expect(requests[1] == [1, 2, 3].map(Self.hash))
        var e = Self.download(perPeer: 10, maxInFlight: 64, window: 5)
        for h in 1...10 { e.enqueue(Self.hash(h)) }
        let (more, _) = e.schedule(live: [(id: 1, bestHeight: 10)], tipHeight: 2, tree: tree)
        #expect(more[1] == (1...7).map(Self.hash))
    }

    @Test("notfound and stalls: the peer is not asked again; once every live peer failed it, the block is given up")
    func failures() throws {
        let t0 = ContinuousClock.now
        let tree = Self.tree(1)
        let live = [(id: 1, bestHeight: 1), (id: 2, bestHeight: 1)]
        var d = Self.download()
        d.enqueue(Self.hash(1))
        let first = d.schedule(live: live, tipHeight: 0, tree: tree, now: t0)
        let asked = try #require(first.requests.keys.first)
        let r1 = d.notFound(Self.hash(1), from: asked == 1 ? 2 : 1)
        #expect(!r1, "not asked of the other peer")
        let r2 = d.notFound(Self.hash(1), from: asked)
        #expect(r2)
        d.requeue([Self.hash(1)], tree: tree) { _ in false }
        let second = d.schedule(live: live, tipHeight: 0, tree: tree, now: t0)
        let other = asked == 1 ? 2 : 1
        #expect(second.requests == [other: [Self.hash(1)]])
        let r3 = d.stalled(now: t0 + .seconds(1), timeout: .seconds(15))
        #expect(r3.isEmpty)
        let r4 = d.stalled(now: t0 + .seconds(60), timeout: .seconds(15))
        #expect(r4 == [Self.hash(1)])
        d.requeue([Self.hash(1)], tree: tree) { _ in false }
        #expect(d.misses(of: Self.hash(1)) == [1, 2])
        let third = d.schedule(live: live, tipHeight: 0, tree: tree, now: t0)
        #expect(third.requests.isEmpty && third.givenUp == [Self.hash(1)] && d.isIdle)
        #expect(d.misses(of: Self.hash(1)).isEmpty, "announced again, it starts afresh")
    }

    @Test("maxAttempts failures give a block up even with other peers left")
    func maxAttempts() throws {
        let tree = Self.tree(1)
        var d = Self.download(maxAttempts: 1)
        d.enqueue(Self.hash(1))
        _ = d.schedule(live: [(id: 1, bestHeight: 1), (id: 2, bestHeight: 1)], tipHeight: 0, tree: tree)
        let asked = try #require(d.peer(asked: Self.hash(1)))
        let r5 = d.notFound(Self.hash(1), from: asked)
        #expect(r5)
        d.requeue([Self.hash(1)], tree: tree) { _ in false }
        let r = d.schedule(live: [(id: 1, bestHeight: 1), (id: 2, bestHeight: 1)], tipHeight: 0, tree: tree)
        #expect(r.givenUp == [Self.hash(1)] && r.requests.isEmpty)
    }

    @Test("requeue: in height order at the front, skipping queued and seen ones; a peer gone gives its blocks back")
    func requeueAndDisconnect() {
        let tree = Self.tree(5)
        var d = Self.download(perPeer: 5)
        d.enqueue(Self.hash(5))
        d.requeue([Self.hash(3), Self.hash(1), Self.hash(5), Self.hash(2)], tree: tree) { $0 == Self.hash(2) }
        #expect(d.queue == [1, 3, 5].map(Self.hash))
        _ = d.schedule(live: [(id: 7, bestHeight: 5)], tipHeight: 0, tree: tree)
        #expect(d.queue.isEmpty && d.load(of: 7) == 3)
        d.received(Self.hash(1), from: 8)
        #expect(d.isInFlight(Self.hash(1)), "only the peer asked completes a request")
        d.received(Self.hash(1), from: 7)
        let lost = d.disconnectedPeer(7)
        #expect(Set(lost) == Set([3, 5].map(Self.hash)) && d.inFlight.isEmpty)
        d.asked(Self.hash(4), of: 9)
        #expect(d.isPending(Self.hash(4)) && !d.isQueued(Self.hash(4)))
        d.settled(Self.hash(4))
        #expect(d.isInFlight(Self.hash(4)), "settled leaves requests in flight to their delivery")
    }
}
