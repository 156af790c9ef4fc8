import ChainCore
import Foundation
import Logging
import NodeKit
@testable import PeerBridge
import Synchronization
import Testing
import TestSupport

/// The local node as the bridge sees it, in memory: a best chain of blocks, a mempool of raw txs.
final class FakeNode: LocalNode, @unchecked Sendable {
    let lock = NSLock()
    private var chain: [Block]
    private var index: [Hash256: Int]
    private(set) var submitted: [Hash256] = []
    private(set) var submittedTxs: [Hash256] = []
    /// Blocks the fake refuses with this reason (as the chain store would).
    var refuse: [Hash256: String] = [:]
    /// While true, the chain-store calls fail as an unreachable chain store's would.
    var unreachable = false
    struct Unreachable: Error {}
    func reach() throws { if sync({ unreachable }) { throw Unreachable() } }

    init(blocks: [Block]) {
        chain = blocks
        index = Dictionary(uniqueKeysWithValues: blocks.enumerated().map { ($1.hash, $0) })
    }

    func sync<T>(_ body: () -> T) -> T { lock.lock(); defer { lock.unlock() }; return body() }
    var submittedBlocks: [Hash256] { sync { submitted } }
    var height: Int { sync { chain.count - 1 } }

    func tip() async throws -> ChainTip {
        sync { ChainTip(height: chain.count - 1, hash: chain.last!.hash.hex, time: chain.last!.header.time, nextBits: 0, medianTimePast: 0) }
    }
    func locator() async throws -> [Hash256] { sync { [chain.last!.hash, chain[0].hash] } }
    func blockStates(_ hashes: [Hash256]) async throws -> [BlockState?] { try reach(); return sync { hashes.map { index[$0] != nil ? .active : nil } } }
    func heightOf(_ hash: Hash256) async throws -> Int? { try reach(); return sync { index[hash] } }
    func headers(after locator: [Hash256], stop: Hash256?, count: Int) async throws -> [BlockHeader] {
        sync {
            let fork = locator.compactMap { index[$0] }.first ?? 0
            return Array(chain[(fork + 1)...].prefix(count).map(\.header))
        }
    }
    /// A byte bound on one `blocks` answer, as the chain store's `getrawblocks` has (nil: none).
    var maxBlockBytes: Int?
    /// As the chain store's `getrawblocks`: in order, stopping before the block that would go past the
    /// byte bound (the first found is always given).
    func blocks(_ hashes: [Hash256]) async throws -> (found: [Hash256: [UInt8]], looked: Int) {
        try reach()
        return sync {
            var found = [Hash256: [UInt8]](), bytes = 0, looked = 0
            for h in hashes.prefix(RawBlocksRequest.maxHashes) {
                if let raw = index[h].map({ chain[$0].encoded }) {
                    if let bound = maxBlockBytes, !found.isEmpty, bytes + raw.count > bound { break }
                    found[h] = raw
                    bytes += raw.count
                }
                looked += 1
            }
            return (found, looked)
        }
    }
    func submitBlock(_ block: Block, source: String) async throws -> SubmitBlockResult {
        try reach()
        return sync {
            submitted.append(block.hash)
            if let reason = refuse[block.hash] { return SubmitBlockResult(hash: block.hash.hex, accepted: false, reason: reason, isTip: false) }
            guard let parent = index[block.header.previousHash] else {
                return SubmitBlockResult(hash: block.hash.hex, accepted: false, reason: "bad-prevblk", isTip: false)
            }
            if index[block.hash] != nil { return SubmitBlockResult(hash: block.hash.hex, accepted: false, reason: "duplicate", isTip: true) }
            guard parent == chain.count - 1 else { return SubmitBlockResult(hash: block.hash.hex, accepted: false, reason: "inconclusive", isTip: false) }
            chain.append(block)
            index[block.hash] = chain.count - 1
            return SubmitBlockResult(hash: block.hash.hex, accepted: true, height: chain.count - 1, isTip: true)
        }
    }
    func mempoolTx(_ txid: Hash256) async throws -> [UInt8]? { nil }
    func submitTx(_ tx: Transaction) async throws -> Result<SubmitTxResult, RPCError> {
        sync { submittedTxs.append(tx.txid) }
        return .success(SubmitTxResult(txid: tx.txid.hex, fee: 0, size: tx.encodedSize))
    }
}

/// Reads what the bridge queued on a connection, up to a marker we queue ourselves
/// (everything the bridge sent before the marker is already in the stream).
final class Wiretap: @unchecked Sendable {
    let conn: Connection
    var iterator: AsyncStream<Connection.Outgoing>.Iterator
    var closed = false

    init(_ conn: Connection) {
        self.conn = conn
        iterator = conn.outgoing.makeAsyncIterator()
    }

    static let marker: [UInt8] = [0xff, 0xfe, 0xfd]

    /// Messages sent since the last call (decoded), and whether a close was queued.
    func drain() async -> [Wire.Message] {
        let markerQueued = conn.send(raw: Self.marker)
        var out = [Wire.Message]()
        while let item = await iterator.next() {
            switch item {
            case .data(let bytes):
                if bytes == Self.marker { return out }
                if let m = try? Wire.decode(bytes) { out.append(m) }
            case .close:
                closed = true
                if !markerQueued { return out }
            }
        }
        return out
    }
}

@Suite("Bridge logic against an in-memory node")
struct BridgeTests {
    static let params = ChainParams.regtest
    static let logger = Logger(label: "test")

    static func chain(_ n: Int) -> [Block] {
        let w = TestWallet()
        var blocks = [params.genesis]
        for h in 1...n { blocks.append(ChainFixtures.next(after: blocks.last!.header, height: h, paying: w)) }
        return blocks
    }

    static func hello(nonce: UInt64 = .random(in: 1...UInt64.max), height: UInt32 = 0, best: Hash256 = params.genesisHash,
                      magic: [UInt8] = params.magic, port: UInt16 = 9000) -> [UInt8] {
        Wire.encode(.version(Wire.Hello(protocolVersion: 1, magic: magic, genesis: params.genesisHash, bestHeight: height,
                                        bestHash: best, nonce: nonce, listenPort: port, userAgent: "/t/")))
    }

    func bridge(_ node: FakeNode, configure: (inout BridgeConfig) -> Void = { _ in }) async -> Bridge {
        var config = BridgeConfig(params: Self.params, listenPort: 8342, listenAddress: "ws://127.0.0.1:8342")
        configure(&config)
        let b = Bridge(config: config, node: node, logger: Self.logger)
        try! await b.refreshTip()
        return b
    }

    @Test("refreshTip: the bridge asks the node for its tip itself (the only code that awaits the node)")
    func refreshTipAsksTheNode() async throws {
        let node = FakeNode(blocks: Self.chain(3))
        let b = Bridge(config: BridgeConfig(params: Self.params, listenPort: 8342, listenAddress: "ws://127.0.0.1:8342"),
                       node: node, logger: Self.logger)
        #expect(await b.syncStatus().height == 0)
        try await b.refreshTip()
        #expect(await b.syncStatus().height == 3)
        #expect(await b.syncStatus().tipHash == (try await node.tip()).hash)
    }

    /// Connects a fake peer and completes the handshake; returns its wiretap.
    func handshaken(_ b: Bridge, port: Int, direction: Connection.Direction = .inbound, nonce: UInt64 = .random(in: 1...UInt64.max),
                    height: UInt32 = 0, best: Hash256 = params.genesisHash) async -> (Connection, Wiretap) {
        let conn = Connection(id: await b.newConnectionID(), direction: direction, remoteHost: "10.0.0.\(port % 250)", remotePort: port,
                              dialURL: direction == .outbound ? "ws://10.0.0.\(port % 250):\(port)" : nil)
        let tap = Wiretap(conn)
        await b.attach(conn)
        await b.received(conn, Self.hello(nonce: nonce, height: height, best: best, port: UInt16(port)))
        await b.received(conn, Wire.encode(.verack))
        return (conn, tap)
    }

    @Test("handshake: version then verack both ways; a wrong network gets its stated reason and a ban")
    func handshake() async throws {
        let node = FakeNode(blocks: Self.chain(3))
        let b = await bridge(node)
        let (good, tap) = await handshaken(b, port: 1)
        let sent = await tap.drain()
        guard case .version(let ours) = sent.first else { Issue.record("first message is version: \(sent)"); return }
        #expect(ours.bestHeight == 3 && ours.magic == Self.params.magic && ours.nonce == b.nonce)
        #expect(sent.contains(.verack) && sent.contains(.getaddr))
        #expect(await b.peerList().peers.first { $0.id == good.id }?.handshaken == true)

        let bad = Connection(id: await b.newConnectionID(), direction: .inbound, remoteHost: "10.0.0.9", remotePort: 5, dialURL: nil)
        let badTap = Wiretap(bad)
        await b.attach(bad)
        await b.received(bad, Self.hello(magic: ChainParams.main.magic))
        let answer = await badTap.drain()
        #expect(answer.contains { if case .reject(let code, _) = $0 { return code == "wrong-network" } else { return false } })
        #expect(badTap.closed)
        let list = await b.peerList()
        #expect(list.banned.contains { $0.address == "10.0.0.9" })
        #expect(list.offences["wrong-network"] == 1)
        // The banned address is refused at once next time.
        let again = Connection(id: await b.newConnectionID(), direction: .inbound, remoteHost: "10.0.0.9", remotePort: 6, dialURL: nil)
        let againTap = Wiretap(again)
        await b.attach(again)
        #expect(await againTap.drain().contains { if case .reject(let code, _) = $0 { return code == "banned" } else { return false } })
    }

    @Test("self-connection and inbound limit are refused with their reasons, unscored")
    func selfAndLimits() async throws {
        let node = FakeNode(blocks: Self.chain(1))
        let b = await bridge(node) { $0.maxInbound = 1 }
        let (_, _) = await handshaken(b, port: 1)
        let extra = Connection(id: await b.newConnectionID(), direction: .inbound, remoteHost: "10.0.0.2", remotePort: 2, dialURL: nil)
        let extraTap = Wiretap(extra)
        await b.attach(extra)
        #expect(await extraTap.drain().contains { if case .reject(let code, _) = $0 { return code == "too-many-peers" } else { return false } })
        let me = Connection(id: await b.newConnectionID(), direction: .outbound, remoteHost: "10.0.0.3", remotePort: 3, dialURL: "ws://10.0.0.3:3")
        let meTap = Wiretap(me)
        await b.attach(me)
        await b.received(me, Self.hello(nonce: b.nonce))
        #expect(await meTap.drain().contains { if case .reject(let code, _) = $0 { return code == "self-connection" } else { return false } })
        #expect(await b.shouldSkipDial("ws://10.0.0.3:3"), "ourselves is not dialled again")
        #expect(await b.peerList().banned.isEmpty)
    }

    @Test("two nodes dialling each other: the lower-nonce node keeps the one it dialled, the other keeps both and lets it decide")
    func duplicateConnection() async throws {
        for weAreLower in [true, false] {
            for inboundFirst in [true, false] {
                let node = FakeNode(blocks: Self.chain(1))
                let b = await bridge(node)
                let theirs = weAreLower ? (b.nonce == .max ? b.nonce : b.nonce + 1) : (b.nonce == 1 ? b.nonce : b.nonce - 1)
                guard theirs != b.nonce else { continue }
                // The same port: the inbound one announces the very URL the outbound one dialled (a mirror).
                var conns: [Connection.Direction: (Connection, Wiretap)] = [:]
                for d in inboundFirst ? [Connection.Direction.inbound, .outbound] : [.outbound, .inbound] {
                    conns[d] = await handshaken(b, port: 10, direction: d, nonce: theirs)
                }
                let (outbound, outTap) = conns[.outbound]!
                let (inbound, inTap) = conns[.inbound]!
                let inCodes = rejectCode(await inTap.drain()), outCodes = rejectCode(await outTap.drain())
                #expect(!outCodes.contains("duplicate-connection"), "our own dial is never the one dropped")
                if weAreLower {
                    #expect(inCodes.contains("duplicate-connection") && inTap.closed, "we decide: the inbound mirror goes")
                    #expect(!outTap.closed && outbound.isClosing == false && inbound.isClosing)
                } else {
                    #expect(inCodes.isEmpty, "the lower-nonce node decides; we keep both meanwhile")
                    #expect(Set(await b.peerList().peers.filter { $0.handshaken }.map(\.id)) == [inbound.id, outbound.id])
                }
            }
        }
    }

    @Test("scores add up to a ban: malformed messages, an announcement flood")
    func scoring() async throws {
        let node = FakeNode(blocks: Self.chain(1))
        // A burst of 40 announcements, refilled at one per 100 s: no refill during the test.
        let b = await bridge(node) { $0.inventoryRate = 0.01; $0.burstSeconds = 4000 }
        let (c1, t1) = await handshaken(b, port: 20)
        await b.received(c1, [0x04, 1, 0])            // truncated ping: 50
        #expect(!(await t1.drain()).contains { if case .reject = $0 { return true } else { return false } })
        await b.received(c1, [0x10, 1, 5])            // inv count without items: 50 → 100
        #expect(await t1.drain().contains { if case .reject(let code, _) = $0 { return code == "misbehaving" } else { return false } })
        #expect(await b.peerList().banned.contains { $0.address == "10.0.0.20" })

        let (c2, t2) = await handshaken(b, port: 21)
        let items = (0..<30).map { Wire.InvItem(.tx, Hash256.sha256d([UInt8($0)])) }
        await b.received(c2, Wire.encode(.inv(items)))   // 30 of a 40 burst: fetched
        let first = await t2.drain()
        #expect(first.contains { if case .getdata(let asked) = $0 { return asked.count == 30 } else { return false } })
        for _ in 0..<5 { await b.received(c2, Wire.encode(.inv(items))) }   // over the rate: 20 each
        #expect(await t2.drain().contains { if case .reject(let code, _) = $0 { return code == "misbehaving" } else { return false } })
        #expect(await b.peerList().offences["rate-limited"] == 5)
    }

    @Test("headers first: headers are checked, blocks fetched from two peers lowest first, submitted parents first whatever the arrival order")
    func headersFirst() async throws {
        let blocks = Self.chain(40)
        let node = FakeNode(blocks: [blocks[0]])
        let b = await bridge(node) { $0.blocksInFlightPerPeer = 8 }
        let (p1, t1) = await handshaken(b, port: 30, height: 40, best: blocks[40].hash)
        let (p2, t2) = await handshaken(b, port: 31, height: 40, best: blocks[40].hash)
        let asked = await t1.drain() + t2.drain()
        #expect(asked.contains { if case .getheaders = $0 { return true } else { return false } })

        // Headers that do not link are an invalid header (ban), from a third peer.
        let (p3, t3) = await handshaken(b, port: 32, height: 40, best: blocks[40].hash)
        _ = await t3.drain()
        await b.received(p3, Wire.encode(.headers([blocks[1].header, blocks[3].header])))
        #expect(await t3.drain().contains { if case .reject = $0 { return true } else { return false } })

        await b.received(p1, Wire.encode(.headers(blocks[1...40].map(\.header))))
        var wanted = [Int: [Hash256]]()
        for (id, tap) in [(p1.id, t1), (p2.id, t2)] {
            for m in await tap.drain() { if case .getdata(let items) = m { wanted[id, default: []] += items.map(\.hash) } }
        }
        let all = (wanted[p1.id] ?? []) + (wanted[p2.id] ?? [])
        #expect((wanted[p1.id]?.count ?? 0) == 8 && (wanted[p2.id]?.count ?? 0) == 8, "both peers asked: \(wanted.mapValues(\.count))")
        let byHash = Dictionary(uniqueKeysWithValues: blocks.map { ($0.hash, $0) })
        let heights = all.compactMap { h in blocks.firstIndex { $0.hash == h } }.sorted()
        #expect(heights == Array(1...16), "the lowest 16 heights first")

        // Deliver p2's blocks (the upper half of each round) before p1's: all held, then submitted in order.
        var delivered = 0
        while delivered < 40 {
            var round = [Int: [Hash256]]()
            for (id, tap) in [(p1.id, t1), (p2.id, t2)] {
                for m in await tap.drain() { if case .getdata(let items) = m { round[id, default: []] += items.map(\.hash) } }
            }
            if delivered == 0 { round = wanted }
            let order = (round[p2.id] ?? []).reversed() + (round[p1.id] ?? []).reversed()
            guard !order.isEmpty else { break }
            for h in order {
                let from = (round[p2.id] ?? []).contains(h) ? p2 : p1
                await b.received(from, Wire.encode(.block(byHash[h]!)))
                delivered += 1
            }
        }
        #expect(node.height == 40)
        let submittedHeights = node.submittedBlocks.compactMap { h in blocks.firstIndex { $0.hash == h } }
        #expect(submittedHeights == Array(1...40), "parents before children: \(submittedHeights)")
        let status = await b.syncStatus()
        #expect(status.orphans == 0 && status.blocksQueued == 0 && status.blocksInFlight == 0 && status.blocksAccepted == 40)
    }

    @Test("an invalid block bans its sender and drops the orphans built on it")
    func invalidBlock() async throws {
        let blocks = Self.chain(3)
        let node = FakeNode(blocks: [blocks[0]])
        node.refuse[blocks[1].hash] = "bad-txnmrklroot"
        let b = await bridge(node)
        let (p, t) = await handshaken(b, port: 40)
        _ = await t.drain()
        await b.received(p, Wire.encode(.inv([.init(.block, blocks[2].hash)])))   // announced, then asked for
        _ = await t.drain()
        await b.received(p, Wire.encode(.block(blocks[2])))    // parent unknown: held, ancestors asked for
        #expect(await t.drain().contains { if case .getheaders = $0 { return true } else { return false } })
        #expect(await b.syncStatus().orphans == 1)
        await b.received(p, Wire.encode(.inv([.init(.block, blocks[1].hash)])))
        _ = await t.drain()
        await b.received(p, Wire.encode(.block(blocks[1])))
        #expect(await t.drain().contains { if case .reject(let code, _) = $0 { return code == "misbehaving" } else { return false } })
        #expect(await b.syncStatus().orphans == 0)
        #expect(await b.peerList().offences["invalid-block"] == 1)
        #expect(!node.submittedBlocks.contains(blocks[2].hash))
    }

    @Test("relay: a local transaction is announced once to each peer, never back to the one it came from")
    func relay() async throws {
        let node = FakeNode(blocks: Self.chain(1))
        let b = await bridge(node)
        let (p1, t1) = await handshaken(b, port: 50)
        let (_, t2) = await handshaken(b, port: 51)
        _ = await t1.drain(); _ = await t2.drain()
        let w = TestWallet()
        let tx = w.spend([(OutPoint(txid: Hash256.sha256d([1]), index: 0), w.output(100))], to: [w.output(50)])
        await b.received(p1, Wire.encode(.inv([.init(.tx, tx.txid)])))
        #expect(await t1.drain() == [.getdata([.init(.tx, tx.txid)])])
        await b.received(p1, Wire.encode(.tx(tx)))
        #expect(node.sync { node.submittedTxs } == [tx.txid])
        await b.txAdded(tx.encoded)          // the mempool published it
        await b.txAdded(tx.encoded)          // and again (a reorg readmits it): no second announcement
        await b.flushAnnouncements()         // (announcements are batched; this sends them now)
        #expect(await t1.drain().isEmpty, "not back to its sender")
        #expect(await t2.drain() == [.inv([.init(.tx, tx.txid)])], "once to the other peer")
        // The same announcement again from p1 is not fetched twice.
        await b.received(p1, Wire.encode(.inv([.init(.tx, tx.txid)])))
        #expect(await t1.drain().isEmpty)
    }
    @Test("liveness: a ping answered with its pong keeps the peer; a silent peer is dropped for ping-timeout")
    func liveness() async throws {
        let node = FakeNode(blocks: Self.chain(1))
        let b = await bridge(node) { $0.pingInterval = .milliseconds(1) }
        let (p1, t1) = await handshaken(b, port: 60)
        let (_, t2) = await handshaken(b, port: 61)
        _ = await t1.drain(); _ = await t2.drain()
        await b.pingAll()
        guard case .ping(let n)? = await t1.drain().first else { Issue.record("a ping"); return }
        _ = await t2.drain()
        await b.received(p1, Wire.encode(.pong(n)))
        #expect(await b.peerList().peers.first { $0.id == p1.id }?.pingTime != nil)
        // Until the silent one's ping is older than two intervals.
        #expect(await eventually("the silent peer is dropped for ping-timeout", timeout: 30, every: 0.005) {
            await b.pingAll()
            let dropped = await t2.drain().contains { if case .reject(let code, _) = $0 { return code == "ping-timeout" } else { return false } }
            // p1 keeps answering.
            for m in await t1.drain() { if case .ping(let n) = m { await b.received(p1, Wire.encode(.pong(n))) } }
            return dropped
        })
        #expect(!t1.closed, "the answering peer stays")
    }

    @Test("liveness: a peer is pinged once an interval, not again as soon as its pong is back (--ping-interval means what it says)")
    func pingCadence() async throws {
        let node = FakeNode(blocks: Self.chain(1))
        let b = await bridge(node) { $0.pingInterval = .seconds(600) }
        let (p1, t1) = await handshaken(b, port: 62)
        _ = await t1.drain()
        await b.pingAll()
        guard case .ping(let n)? = await t1.drain().first else { Issue.record("a ping"); return }
        await b.received(p1, Wire.encode(.pong(n)))
        for _ in 0..<3 { await b.pingAll() }
        #expect(await t1.drain().isEmpty, "no second ping within the interval")
        #expect(!t1.closed)
    }
}
