@testable import APIEdge
import Bus
import ChainCore
import Foundation
import NodeKit
import Synchronization
import Testing

/// Records what a follower announces.
final class RecordingOutlet: FeedOutlet {
    private let state = Mutex<[String]>([])
    var log: [String] { state.withLock { $0 } }
    func post(_ event: FeedEvent) {
        state.withLock { log in
        switch event {
        case let .connected(height, block, _): log.append("C\(height) \(block.hash.hex.prefix(8))")
        case let .disconnected(height, hash, previous): log.append("D\(height) \(hash.hex.prefix(8)) to \(previous.hex.prefix(8))")
        case let .newTip(hash, _): log.append("tip \(hash.hex.prefix(8))")
        case let .txAdded(tx, txid, _, seq): log.append("A \(txid == tx.txid ? txid.hex.prefix(8) : "wrong txid") \(seq)")
        case let .txRemoved(txid, seq): log.append("R \(txid.hex.prefix(8)) \(seq)")
        case let .resync(scope, _): log.append("resync \(scope)")
        }
        }
    }
    func take() -> [String] {
        state.withLock { log in
            defer { log = [] }
            return log
        }
    }
}

/// A chain store whose best chain the test sets, without publishing anything (what a subscriber
/// misses around a restart), on a real request socket.
final class MovingChainStore: Sendable {
    final class State: Sendable {
        let active: Mutex<[Block]>
        let known = Mutex<[Hash256: (Block, Int)]>([:])
        init(_ blocks: [Block]) { active = Mutex(blocks) }
    }
    let state: State
    let server: RequestServer

    init(context: ZMQContext, blocks: [Block]) async throws {
        let state = State(blocks)
        self.state = state
        let active = state
        @Sendable func header(_ b: Block, _ height: Int, best: Bool) -> HeaderInfo {
            HeaderInfo(hash: b.hash.hex, height: height, version: b.header.version, previousHash: b.header.previousHash.hex,
                       merkleRoot: b.header.merkleRoot.hex, time: b.header.time, bits: b.header.bits, nonce: b.header.nonce,
                       difficulty: 1, chainwork: "", txCount: b.transactions.count, size: b.encodedSize, inBestChain: best, nextHash: nil)
        }
        @Sendable func find(_ ref: BlockRef) throws -> (Block, Int, Bool) {
            let chain = active.active.withLock { $0 }
            for (h, b) in chain.enumerated() { active.known.withLock { $0[b.hash] = (b, h) } }
            if let height = ref.height {
                guard height >= 0, height < chain.count else { throw RPCError.notFound("no block at \(height)") }
                return (chain[height], height, true)
            }
            guard let hash = ref.hash.flatMap(Hash256.init(hex:)), let (b, h) = active.known.withLock({ $0[hash] }) else { throw RPCError.notFound("unknown block") }
            return (b, h, h < chain.count && chain[h].hash == hash)
        }
        let router = RPCRouter([
            "getchaintip": RPCRouter.method(Empty.self) { _ in
                let chain = active.active.withLock { $0 }
                let tip = chain[chain.count - 1]
                return ChainTip(height: chain.count - 1, hash: tip.hash.hex, time: tip.header.time, nextBits: tip.header.bits, medianTimePast: 0)
            },
            "getheader": RPCRouter.method(BlockRef.self) { ref in
                let (b, h, best) = try find(ref)
                return header(b, h, best: best)
            },
            "getblock": RPCRouter.method(BlockRef.self) { ref in
                let (b, h, best) = try find(ref)
                return BlockInfo(header: header(b, h, best: best), hex: Hex.encode(b.encoded))
            },
        ])
        server = try await RequestServer(context: context, bind: ["tcp://127.0.0.1:*"]) { await router.handle($0) }
    }
}

@Suite("Feed followers")
struct FollowerTests {
    static func block(on parent: Block, height: Int, tag: UInt64) -> Block {
        ChainFixture.mine(parent: parent.header, [ChainFixture.coinbase(height: height, outputs: [TxOutput(value: tag, publicKey: Stack.shared.alice.publicKey)])])
    }

    /// The chain follower fills in what the chain store's stream lost: blocks connected around a
    /// restart (in order, before the late publication, which is not announced twice), a reorg
    /// (disconnects first), and a block that does not link to what it announced.
    @Test func theChainFollowerFillsInWhatWasMissed() async throws {
        let context = try ZMQContext()
        let base = Array(Stack.shared.blocks)
        let store = try await MovingChainStore(context: context, blocks: base)
        let chainRPC = try await RPCClient(context: context, endpoint: store.server.endpoints[0], timeout: .seconds(30), retries: 2)
        let backend = Backend(chain: chainRPC, mempool: chainRPC, params: .regtest,
                              endpoints: Endpoints(chainRPC: "", chainPub: "", mempoolRPC: "", mempoolPub: ""))
        let outlet = RecordingOutlet()
        let follower = ChainFollower(backend: backend, outlet: outlet, logger: .init(label: "test"))
        func short(_ b: Block) -> String { String(b.hash.hex.prefix(8)) }
        func live(_ topic: String, _ height: Int, _ b: Block) -> SubscriberEvent {
            .message(topic: topic, body: HeightPrefixed.encode(height: height, raw: b.encoded), sequence: 0)
        }

        await follower.start()
        #expect(outlet.take() == [])   // where the feed starts: nothing announced
        let b5 = Self.block(on: base[4], height: 5, tag: 1), b6 = Self.block(on: b5, height: 6, tag: 1)
        // Two blocks connected while the publisher restarted: fetched on the reset, in order.
        store.state.active.withLock { $0 = base + [b5, b6] }
        await follower.handle(.reset(topic: Topic.connected, expected: 9, received: 0))
        #expect(outlet.take() == ["C5 \(short(b5))", "C6 \(short(b6))", "tip \(short(b6))"])
        // The late publications of those blocks: already announced.
        await follower.handle(live(Topic.connected, 6, b6))
        await follower.handle(.message(topic: Topic.hashblock, body: b6.hash.displayBytes, sequence: 0))
        #expect(outlet.take() == [])
        // A reorg missed in a gap: disconnect down to the fork, then the new branch.
        let f6 = Self.block(on: b5, height: 6, tag: 2), f7 = Self.block(on: f6, height: 7, tag: 2)
        store.state.active.withLock { $0 = base + [b5, f6, f7] }
        await follower.handle(.gap(topic: Topic.connected, expected: 3, received: 5))
        #expect(outlet.take() == ["D6 \(short(b6)) to \(short(b5))", "C6 \(short(f6))", "C7 \(short(f7))", "tip \(short(f7))"])
        // A live block that does not link (its parent was lost): the parent is fetched first.
        let f8 = Self.block(on: f7, height: 8, tag: 2), f9 = Self.block(on: f8, height: 9, tag: 2)
        store.state.active.withLock { $0 = base + [b5, f6, f7, f8, f9] }
        await follower.handle(live(Topic.connected, 9, f9))
        #expect(outlet.take() == ["C8 \(short(f8))", "C9 \(short(f9))", "tip \(short(f9))"])
        // Live publications that link pass straight through.
        let f10 = Self.block(on: f9, height: 10, tag: 2)
        await follower.handle(live(Topic.connected, 10, f10))
        await follower.handle(.message(topic: Topic.hashblock, body: f10.hash.displayBytes, sequence: 0))
        await follower.handle(live(Topic.disconnected, 10, f10))
        #expect(outlet.take() == ["C10 \(short(f10))", "tip \(short(f10))", "D10 \(short(f10)) to \(short(f9))"])
        // Further back than it can catch up (a small limit here): a resync, and it starts again from the tip.
        let far = ChainFollower(backend: backend, outlet: outlet, logger: .init(label: "test"), maxCatchUp: 1)
        store.state.active.withLock { $0 = base }
        await far.start()
        store.state.active.withLock { $0 = base + [b5, f6, f7] }
        await far.handle(.reset(topic: Topic.connected, expected: 1, received: 0))
        #expect(outlet.take() == ["resync chain"])
        #expect(await far.tip?.hash == f7.hash)
        await chainRPC.stop()
        await store.server.stop()
        await context.terminate()
    }

    /// The mempool follower passes A and R once each, and on a restart of the mempool announces
    /// what it accepted unseen and the R of what left unseen, but not of what was mined.
    @Test func theMempoolFollowerComparesASnapshot() async throws {
        let context = try ZMQContext()
        let f = Stack.shared
        let t1 = f.pending, t2 = f.orphan, t3 = f.payment
        let pool = Mutex<(txids: [Transaction], seq: UInt64)>(([t1], 5))
        let confirmed: Set<String> = [t3.txid.hex]
        let router = RPCRouter([
            "getrawmempool": RPCRouter.method(Empty.self) { _ in
                let (txs, seq) = pool.withLock { $0 }
                return RawMempool(txids: txs.map(\.txid.hex), mempoolSequence: seq)
            },
            "getentry": RPCRouter.method(TxRef.self) { ref in
                guard let tx = pool.withLock({ $0.txids }).first(where: { $0.txid.hex == ref.txid }) else { throw RPCError.notFound("not in the pool") }
                return MempoolEntry(txid: ref.txid, hex: Hex.encode(tx.encoded), fee: 1, size: tx.encodedSize, feeRate: 1, time: 0, depends: [], spent: [])
            },
            "gettx": RPCRouter.method(TxRef.self) { ref in
                guard confirmed.contains(ref.txid) else { throw RPCError.notFound("not confirmed") }
                return ConfirmedTx(txid: ref.txid, hex: Hex.encode(t3.encoded), blockHash: f.tip.hash.hex, height: 4, position: 1, blockTime: 0, fee: 0)
            },
        ])
        let server = try await RequestServer(context: context, bind: ["tcp://127.0.0.1:*"]) { await router.handle($0) }
        let rpc = try await RPCClient(context: context, endpoint: server.endpoints[0], timeout: .seconds(30), retries: 2)
        let backend = Backend(chain: rpc, mempool: rpc, params: .regtest, endpoints: Endpoints(chainRPC: "", chainPub: "", mempoolRPC: "", mempoolPub: ""))
        let outlet = RecordingOutlet()
        let follower = MempoolFollower(backend: backend, outlet: outlet, logger: .init(label: "test"))
        func short(_ t: Transaction) -> String { String(t.txid.hex.prefix(8)) }
        func seq(_ t: Transaction, _ label: String, _ n: UInt8) -> SubscriberEvent {
            .message(topic: Topic.sequence, body: t.txid.displayBytes + Array(label.utf8) + [n, 0, 0, 0, 0, 0, 0, 0], sequence: 0)
        }

        await follower.start()
        #expect(outlet.take() == [])   // what was in the pool before the feed started
        // Live: t2 enters (rawtx then sequence A), t1 leaves (R); a second A for t2 (a reload) is not announced again.
        await follower.handle(.message(topic: Topic.rawtx, body: t2.encoded, sequence: 0))
        await follower.handle(seq(t2, "A", 6))
        await follower.handle(seq(t1, "R", 7))
        await follower.handle(.message(topic: Topic.rawtx, body: t2.encoded, sequence: 1))
        await follower.handle(seq(t2, "A", 8))
        #expect(outlet.take() == ["A \(short(t2)) 6", "R \(short(t1)) 7"])
        // The mempool restarted; meanwhile t2 left (not into a block), t1 came back, and t3 entered
        // unseen and was mined (its block announced): t2's R, then t1's A, nothing about t3.
        pool.withLock { $0 = ([t1], 2) }
        await follower.confirmed([t3.txid])
        await follower.handle(.reset(topic: Topic.sequence, expected: 9, received: 0))
        #expect(outlet.take() == ["R \(short(t2)) 2", "A \(short(t1)) 2"])
        // ...and a late A for a transaction already mined is not announced.
        await follower.handle(.message(topic: Topic.rawtx, body: t3.encoded, sequence: 2))
        await follower.handle(seq(t3, "A", 3))
        #expect(outlet.take() == [])
        // A block holding a transaction the feed never announced as in the pool (its A died with the
        // mempool, or it reached the node only inside the block): announced just before the block, with
        // the newest mempool sequence seen; t1, announced, is not announced again; nor is t2's late A.
        let block = ChainFixture.mine(parent: f.tip.header, [ChainFixture.coinbase(height: 5, outputs: [TxOutput(value: 1, publicKey: f.alice.publicKey)]), t1, t2])
        await follower.announceUnseen(in: block)
        #expect(outlet.take() == ["A \(short(t2)) 8"])
        await follower.confirmed(block.transactions.map(\.txid))
        await follower.handle(.message(topic: Topic.rawtx, body: t2.encoded, sequence: 3))
        await follower.handle(seq(t2, "A", 11))
        #expect(outlet.take() == [])
        #expect(await follower.announcedWithBlock == 1)
        await rpc.stop()
        await server.stop()
        await context.terminate()
    }
    /// Past its limit the mempool follower starts over from a new snapshot and only then tells the
    /// feeds to resync: a client fetching the mempool when told finds there everything the follower
    /// will not announce (the snapshot's transactions), whatever entered the pool meanwhile.
    @Test func anOverflowResyncsAfterTheNewSnapshot() async throws {
        let context = try ZMQContext()
        let f = Stack.shared
        let t1 = f.pending, t2 = f.orphan, t3 = f.payment
        let pool = Mutex<[Transaction]>([])
        let outlet = RecordingOutlet()
        let resyncBeforeSnapshot = Mutex<[Bool]>([])
        let router = RPCRouter([
            "getrawmempool": RPCRouter.method(Empty.self) { _ in
                resyncBeforeSnapshot.withLock { $0.append(outlet.log.contains("resync mempool")) }
                return RawMempool(txids: pool.withLock { $0 }.map(\.txid.hex), mempoolSequence: 9)
            },
        ])
        let server = try await RequestServer(context: context, bind: ["tcp://127.0.0.1:*"]) { await router.handle($0) }
        let rpc = try await RPCClient(context: context, endpoint: server.endpoints[0], timeout: .seconds(30), retries: 2)
        let backend = Backend(chain: rpc, mempool: rpc, params: .regtest, endpoints: Endpoints(chainRPC: "", chainPub: "", mempoolRPC: "", mempoolPub: ""))
        let follower = MempoolFollower(backend: backend, outlet: outlet, logger: .init(label: "test"), limit: 1)
        func short(_ t: Transaction) -> String { String(t.txid.hex.prefix(8)) }
        func added(_ t: Transaction, _ n: UInt8) async {
            await follower.handle(.message(topic: Topic.rawtx, body: t.encoded, sequence: 0))
            await follower.handle(.message(topic: Topic.sequence, body: t.txid.displayBytes + Array("A".utf8) + [n, 0, 0, 0, 0, 0, 0, 0], sequence: 0))
        }
        await follower.start()
        await added(t1, 1)
        // t2 takes the follower past its limit: the pool (t1, t2, and t3, which entered meanwhile) is the new start.
        pool.withLock { $0 = [t1, t2, t3] }
        await added(t2, 2)
        #expect(outlet.take() == ["A \(short(t1)) 1", "A \(short(t2)) 2", "resync mempool"])
        #expect(resyncBeforeSnapshot.withLock { $0 } == [false, false], "the snapshots (start, overflow) came before the resync")
        // t3 was in the new snapshot (the resync covers it): its late A is not announced; nor t2's again.
        await added(t3, 3)
        await added(t2, 4)
        #expect(outlet.take() == [])
        await rpc.stop()
        await server.stop()
        await context.terminate()
    }
}
