import NodeKit
@testable import PeerBridge
import Testing

@Suite("Ban list: keys per identity, bans that expire, offence counters")
struct BanListTests {
    @Test("a remote peer is banned by address; a loopback one by each of its identities")
    func keys() {
        #expect(BanList.keys(host: "10.0.0.5", port: nil, dialURL: nil, listenPort: 8342, nonce: 7) == ["10.0.0.5"])
        let dialled = BanList.keys(host: "127.0.0.1", port: 8342, dialURL: "ws://127.0.0.1:8342", listenPort: 8342, nonce: 0xab)
        #expect(dialled == ["127.0.0.1:8342", "127.0.0.1:8342", "ws://127.0.0.1:8342", "nonce:ab"])
        // Inbound: the source port is ephemeral (the kernel hands it to the next local process), never a key.
        let inbound = BanList.keys(host: "127.0.0.1", port: nil, dialURL: nil, listenPort: 8343, nonce: 0xcd)
        #expect(inbound == ["127.0.0.1:8343", "nonce:cd"])
        #expect(BanList.keys(host: "::1", port: nil, dialURL: nil, listenPort: 0).isEmpty, "no listen port: not a key")
        #expect(BanList.keys(host: "localhost", port: 2, dialURL: nil, listenPort: nil) == ["localhost:2"])
    }

    @Test("a ban holds on any of its keys until it expires, and is reported while it holds")
    func banExpires() {
        var list = BanList(duration: 100)
        list.ban(["a", "b"], reason: "invalid-block: x", now: 1000)
        #expect(list.active(for: ["z", "b"], now: 1050)?.reason == "invalid-block: x")
        #expect(list.active(for: ["z"], now: 1050) == nil)
        #expect(list.active(for: ["a"], now: 1100) == nil, "expired at `until`")
        #expect(list.current(now: 1050).map(\.address) == ["a", "b"])
        #expect(list.current(now: 1200).isEmpty)
        // A later ban drops the expired ones: the list holds only what is in force.
        list.ban(["c"], reason: "malformed-message", now: 1200)
        #expect(list.count == 1 && list.active(for: ["c"], now: 1250) != nil)
    }

    @Test("offences are counted by their raw value")
    func counters() {
        var list = BanList(duration: 1)
        list.record(.malformed)
        list.record(.malformed)
        list.record(.rateLimited)
        #expect(list.offences == ["malformed-message": 2, "rate-limited": 1])
    }
}
