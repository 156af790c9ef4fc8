import ChainCore
import Foundation
import NodeKit
@testable import PeerBridge
import Synchronization
import Testing
import TestSupport

/// The fake node, counting the chain-store calls the bridge makes.
final class CountingNode: LocalNode, @unchecked Sendable {
    let inner: FakeNode
    let blockCalls = Mutex(0)
    /// The hashes of each `blocks` call, in order.
    let lookups = Mutex<[[Hash256]]>([])
    init(_ inner: FakeNode) { self.inner = inner }
    func tip() async throws -> ChainTip { try await inner.tip() }
    func locator() async throws -> [Hash256] { try await inner.locator() }
    func blockStates(_ hashes: [Hash256]) async throws -> [BlockState?] { try await inner.blockStates(hashes) }
    func heightOf(_ hash: Hash256) async throws -> Int? { try await inner.heightOf(hash) }
    func headers(after locator: [Hash256], stop: Hash256?, count: Int) async throws -> [BlockHeader] {
        try await inner.headers(after: locator, stop: stop, count: count)
    }
    func blocks(_ hashes: [Hash256]) async throws -> (found: [Hash256: [UInt8]], looked: Int) {
        blockCalls.withLock { $0 += 1 }
        lookups.withLock { $0.append(hashes) }
        return try await inner.blocks(hashes)
    }
    func submitBlock(_ block: Block, source: String) async throws -> SubmitBlockResult { try await inner.submitBlock(block, source: source) }
    func mempoolTx(_ txid: Hash256) async throws -> [UInt8]? { try await inner.mempoolTx(txid) }
    func submitTx(_ tx: Transaction) async throws -> Result<SubmitTxResult, RPCError> { try await inner.submitTx(tx) }
}

func rejectCode(_ messages: [Wire.Message]) -> [String] {
    messages.compactMap { if case .reject(let code, _) = $0 { return code } else { return nil } }
}

/// End-to-end peer rules through the bridge (FakeNode + Wiretap): slots of closing peers, getdata bounds,
/// one connection per node, loopback bans, the address book over `addr`, peers' best heights.
extension BridgeTests {
    @Test("a closing peer takes no slot, and one stuck closing is let go of by the ping round")
    func closingPeersLetGo() async throws {
        let node = FakeNode(blocks: Self.chain(1))
        let b = await bridge(node) { $0.maxInbound = 1; $0.closeDeadline = .milliseconds(1) }
        let (stuck, _) = await handshaken(b, port: 70)
        // Closed (say for ping-timeout) but its writer is stuck: the transport has not detached it yet.
        stuck.close("ping-timeout")
        let (next, nextTap) = await handshaken(b, port: 71)
        #expect(!rejectCode(await nextTap.drain()).contains("too-many-peers"), "a closing peer does not count against the limit")
        #expect(await b.peerList().peers.contains { $0.id == next.id && $0.handshaken })
        // The ping round forgets a peer closing for longer than the deadline.
        #expect(await eventually("the ping round lets go of the peer stuck closing", timeout: 30, every: 0.005) {
            await b.pingAll()
            return await !b.peerList().peers.contains { $0.id == stuck.id }
        })
        #expect(await b.peerList().peers.contains { $0.id == next.id }, "the live peer stays")
    }

    @Test("getdata: an item listed many times is looked up once; blocks past the per-message bound are not looked up")
    func getDataBounded() async throws {
        let blocks = Self.chain(2)
        let counting = CountingNode(FakeNode(blocks: blocks))
        var config = BridgeConfig(params: Self.params, listenPort: 8342, listenAddress: "ws://127.0.0.1:8342")
        config.maxInbound = 4
        let b = Bridge(config: config, node: counting, logger: Self.logger)
        await b.tipChanged(try await counting.tip())
        let (p, t) = await handshaken(b, port: 72)
        _ = await t.drain()
        await b.received(p, Wire.encode(.getdata(Array(repeating: Wire.InvItem(.block, blocks[1].hash), count: 1000))))
        let answer = await t.drain()
        #expect(counting.blockCalls.withLock { $0 } == 1, "one lookup for 1,000 copies")
        #expect(answer.filter { if case .block = $0 { return true } else { return false } }.count == 1)
        counting.blockCalls.withLock { $0 = 0 }
        let unknown = (0..<1000).map { Wire.InvItem(.block, Hash256.sha256d([UInt8($0 & 0xff), UInt8($0 >> 8)])) }
        await b.received(p, Wire.encode(.getdata(unknown)))
        let second = await t.drain()
        #expect(counting.blockCalls.withLock { $0 } == 1, "one round trip for the 64 looked up")
        #expect(counting.lookups.withLock { $0.last } == unknown.prefix(Bridge.maxBlocksPerGetData).map(\.hash))
        #expect(second.contains { if case .notfound(let items) = $0 { return items.count == 1000 } else { return false } })
    }
}

extension BridgeTests {
    @Test("a stranger claiming a connected node's nonce evicts nobody and does not stop us dialling that node")
    func nonceImpersonation() async throws {
        for weAreLower in [true, false] {
            let node = FakeNode(blocks: Self.chain(1))
            let b = await bridge(node)
            let real = weAreLower ? (b.nonce == .max ? b.nonce : b.nonce + 1) : (b.nonce == 1 ? b.nonce : b.nonce - 1)
            guard real != b.nonce else { continue }
            // An established inbound peer; a stranger (elsewhere) comes in claiming its nonce: refused.
            let (inReal, inTap) = await handshaken(b, port: 80, direction: .inbound, nonce: real)
            let (_, strangerTap) = await handshaken(b, port: 81, direction: .inbound, nonce: real)
            #expect(rejectCode(await strangerTap.drain()).contains("duplicate-connection"))
            #expect(rejectCode(await inTap.drain()).isEmpty, "the established peer stays")
            #expect(await b.peerList().peers.contains { $0.id == inReal.id && $0.handshaken })

            // An established outbound peer (a configured URL); a stranger claims its nonce: the real one stays.
            let other = weAreLower ? (b.nonce == .max - 1 ? b.nonce : b.nonce + 2) : (b.nonce <= 2 ? b.nonce : b.nonce - 2)
            let (outReal, outTap) = await handshaken(b, port: 82, direction: .outbound, nonce: other)
            let url = "ws://10.0.0.82:82"
            let (_, fakeTap) = await handshaken(b, port: 83, direction: .inbound, nonce: other)
            _ = await fakeTap.drain()
            #expect(rejectCode(await outTap.drain()).isEmpty, "our dialled peer is not evicted by a claim")
            #expect(await b.peerList().peers.contains { $0.id == outReal.id && $0.handshaken })
            #expect(await b.shouldSkipDial(url), "connected: no second dial")
            // The real one drops; the stranger claiming its nonce does not stop us dialling it again.
            outReal.close("gone")
            await b.detach(outReal)
            #expect(await !b.shouldSkipDial(url), "an inbound stranger's claim does not stop the redial")
        }
    }
}

extension BridgeTests {
    @Test("a ban on loopback holds when the peer comes back with another listen_port (same node nonce) or another nonce (same listen_port), and not on the ephemeral source port it used")
    func loopbackBanKeys() async throws {
        let node = FakeNode(blocks: Self.chain(1))
        let b = await bridge(node)
        let nonce = UInt64.random(in: 1...UInt64.max)
        func connect(_ ephemeral: Int, nonce: UInt64, listen: UInt16) async -> (Connection, Wiretap) {
            let c = Connection(id: await b.newConnectionID(), direction: .inbound, remoteHost: "127.0.0.1", remotePort: ephemeral, dialURL: nil)
            let t = Wiretap(c)
            await b.attach(c)
            await b.received(c, Self.hello(nonce: nonce, port: listen))
            await b.received(c, Wire.encode(.verack))
            return (c, t)
        }
        let (bad, badTap) = await connect(50_001, nonce: nonce, listen: 9_001)
        await b.received(bad, [0x04, 1, 0])          // malformed: 50
        await b.received(bad, [0x10, 1, 5])          // malformed: 100, banned
        #expect(rejectCode(await badTap.drain()).contains("misbehaving"))
        let (_, otherPort) = await connect(50_002, nonce: nonce, listen: 9_002)
        #expect(rejectCode(await otherPort.drain()).contains("banned"), "another listen_port, same nonce")
        let (_, otherNonce) = await connect(50_003, nonce: .random(in: 1...UInt64.max), listen: 9_001)
        #expect(rejectCode(await otherNonce.drain()).contains("banned"), "another nonce, same listen_port")
        let (_, portZero) = await connect(50_004, nonce: nonce, listen: 0)
        #expect(rejectCode(await portZero.drain()).contains("banned"), "listen_port 0, same nonce")
        #expect(await b.peerList().banned.contains { $0.address == "nonce:\(String(nonce, radix: 16))" })
        // Another local node that the kernel gives the banned peer's old source port is not refused.
        let (_, reused) = await connect(50_001, nonce: .random(in: 1...UInt64.max), listen: 9_005)
        #expect(!rejectCode(await reused.drain()).contains("banned"), "a reused ephemeral port is not an identity")
    }
}

extension BridgeTests {
    @Test("address book: only sane ws:// URLs learned, bounded with eviction, dial candidates at random, failed ones forgotten")
    func addressBook() async throws {
        let node = FakeNode(blocks: Self.chain(1))
        let b = await bridge(node) { $0.maxOutbound = 8 }
        let (p, _) = await handshaken(b, port: 90)
        let junk = ["ws://10.1.1.1", "ws://10.1.1.1:0", "ws://10.1.1.1:70000", "ws://:8342",
                    "ws://user@10.1.1.1:8342", "ws://10.1.1.1:8342/path", "ws://a b:1", "wss://10.1.1.1:8342", "ws://-x:1"]
        await b.received(p, Wire.encode(.addr(junk + ["ws://10.1.1.1:8342", "ws://[::1]:8342", "ws://node.example:8342/"])))
        let learned = Set(await b.peerList().known)
        #expect(learned == ["ws://10.1.1.1:8342", "ws://[::1]:8342", "ws://node.example:8342/"], "\(learned)")

        // 1,100 valid addresses in 11 messages: at most 1,000 kept, the newest still learned (eviction, not a full stop).
        for m in 0..<11 {
            await b.received(p, Wire.encode(.addr((0..<100).map { "ws://10.2.\(m).\($0):8342" })))
        }
        let known = await b.peerList().known
        #expect(known.count == AddressBook.maxLearned)
        #expect(known.contains("ws://10.2.10.99:8342"), "the last one learned made room for itself")

        // Candidates at random, not the first eight sorted: a few rounds reach more than eight.
        var seen = Set<String>()
        for _ in 0..<6 { seen.formUnion(await b.addressesToDial()) }
        #expect(seen.count > 8, "\(seen.count) distinct candidates")

        // A learned address whose dial failed (or did not last) is forgotten.
        let tried = try #require(await b.addressesToDial().first)
        await b.learnedDialEnded(tried, lasted: .seconds(1))
        #expect(await !b.peerList().known.contains(tried))

        // But not the address of a node we are connected to another way (our dial was the duplicate).
        let (_, _) = await handshaken(b, port: 92, direction: .outbound)
        let alive = "ws://10.0.0.92:92"
        await b.received(p, Wire.encode(.addr([alive])))
        #expect(await b.peerList().known.contains(alive))
        await b.learnedDialEnded(alive, lasted: .seconds(1))
        #expect(await b.peerList().known.contains(alive), "a connected node's address is kept")
    }

    @Test("addr never relays a URL a receiver would refuse (a configured URL over 200 bytes)")
    func addrRelaysOnlyValid() async throws {
        let node = FakeNode(blocks: Self.chain(1))
        let b = await bridge(node)
        let long = "ws://" + String(repeating: "a", count: 220) + ":8342"
        await b.addConfigured(long)
        await b.addConfigured("ws://10.3.3.3:8342")
        let (p, t) = await handshaken(b, port: 91)
        _ = await t.drain()
        await b.received(p, Wire.encode(.getaddr))
        let sent = await t.drain()
        let urls = sent.flatMap { if case .addr(let l) = $0 { return l } else { return [] } }
        #expect(urls.contains("ws://10.3.3.3:8342") && !urls.contains(long), "\(urls)")
    }

    @Test("getdata: the blocks in one round trip; found ones sent in request order, the rest in one notfound; duplicates once")
    func getDataBatched() async throws {
        let blocks = Self.chain(4)
        let fake = FakeNode(blocks: blocks)
        let counting = CountingNode(fake)
        let b = Bridge(config: BridgeConfig(params: Self.params, listenPort: 8342, listenAddress: "ws://127.0.0.1:8342"),
                       node: counting, logger: Self.logger)
        await b.tipChanged(try await counting.tip())
        let (p, t) = await handshaken(b, port: 93)
        _ = await t.drain()
        let u1 = Hash256.sha256d([1, 1]), u2 = Hash256.sha256d([2, 2]), tx = Hash256.sha256d([3, 3])
        let asked: [Wire.InvItem] = [.init(.block, blocks[3].hash), .init(.block, u1), .init(.block, blocks[1].hash),
                                     .init(.block, blocks[3].hash), .init(.tx, tx), .init(.block, blocks[2].hash),
                                     .init(.block, u1), .init(.block, u2)]
        let expected: [Wire.Message] = try [3, 1, 2].map { try Wire.decode([Wire.Kind.block.rawValue, Wire.messageVersion] + blocks[$0].encoded) }
            + [.notfound([.init(.block, u1), .init(.tx, tx), .init(.block, u2)])]
        await b.received(p, Wire.encode(.getdata(asked)))
        #expect(await t.drain() == expected)
        #expect(counting.lookups.withLock { $0 } == [[blocks[3].hash, u1, blocks[1].hash, blocks[2].hash, u2]],
                "one lookup, each distinct block once, in request order")

        // A chain store answering one block per reply (its byte bound): asked again from the first block not
        // looked at, the same messages in the same order.
        counting.lookups.withLock { $0 = [] }
        fake.sync { fake.maxBlockBytes = 1 }
        await b.received(p, Wire.encode(.getdata(asked)))
        #expect(await t.drain() == expected)
        #expect(counting.lookups.withLock { $0 } == [[blocks[3].hash, u1, blocks[1].hash, blocks[2].hash, u2],
                                                     [blocks[1].hash, blocks[2].hash, u2], [blocks[2].hash, u2]])

        // The chain store unreachable: every block answered notfound, the peer kept.
        fake.sync { fake.unreachable = true }
        await b.received(p, Wire.encode(.getdata(asked)))
        #expect(await t.drain() == [.notfound([.init(.block, blocks[3].hash), .init(.block, u1), .init(.block, blocks[1].hash),
                                               .init(.tx, tx), .init(.block, blocks[2].hash), .init(.block, u2)])])
        #expect(await b.peerList().peers.contains { $0.id == p.id })
    }

    @Test("peer best height: raised from its version and when it fetches our tip")
    func peerBestHeight() async throws {
        let blocks = Self.chain(5)
        let node = FakeNode(blocks: blocks)
        let b = await bridge(node)
        let (p, t) = await handshaken(b, port: 92, height: 3, best: blocks[3].hash)
        #expect(await b.peerList().peers.first { $0.id == p.id }?.bestHeight == 3)
        _ = await t.drain()
        await b.received(p, Wire.encode(.getdata([.init(.block, blocks[4].hash), .init(.block, blocks[5].hash)])))
        #expect(await b.peerList().peers.first { $0.id == p.id }?.bestHeight == 5)
    }
}
