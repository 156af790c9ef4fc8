import ChainCore
import Foundation
@testable import PeerBridge
import Synchronization
import Testing
import TestSupport

@Suite("Dialer: an instance per bridge, with the dial injected")
struct DialerTests {
    @Test("a learned address is dialled once at a time; a dial that did not last forgets it; dialers share no tasks")
    func learnedOnce() async throws {
        let node = FakeNode(blocks: BridgeTests.chain(1))
        let b = await BridgeTests().bridge(node)
        let (p, _) = await BridgeTests().handshaken(b, port: 90)
        let url = "ws://10.1.1.1:8342"
        await b.received(p, Wire.encode(.addr([url])))
        #expect(await b.peerList().known.contains(url))

        let dials = Mutex<[String]>([])
        let dialer = Dialer(bridge: b) { url in dials.withLock { $0.append(url) } }
        let other = Dialer(bridge: b) { _ in }
        dialer.tryOnce(url)
        dialer.tryOnce(url)   // its first dial (or the pause after it) is still running: no second dial
        try await waitUntil("the failed learned address is forgotten") { await !b.peerList().known.contains(url) }
        #expect(dials.withLock { $0 } == [url])
        #expect(dialer.active == ["once:" + url])
        #expect(other.active.isEmpty, "a second dialer has tasks of its own (none)")
        dialer.stopAll()
        #expect(dialer.active.isEmpty)
    }

    @Test("a configured peer is dialled again after its connection ends, until stopAll")
    func keepConnected() async throws {
        let node = FakeNode(blocks: BridgeTests.chain(1))
        let b = await BridgeTests().bridge(node)
        let url = "ws://10.1.1.2:8342"
        await b.addConfigured(url)
        let dials = Mutex(0)
        let dialer = Dialer(bridge: b) { _ in dials.withLock { $0 += 1 } }
        dialer.keepConnected(url)
        dialer.keepConnected(url)   // one task per URL
        try await waitUntil("the peer is dialled again") { dials.withLock { $0 } >= 2 }
        #expect(dialer.active == [url])
        dialer.stopAll()
        #expect(dialer.active.isEmpty)
    }
}
