import Bus
import ChainCore
import Foundation
import Logging
import NodeKit

/// What the edge announces on every outward feed (the public ZMQ PUB and `/api/ws`), in this order.
/// Derived from the chain store's `connected`/`disconnected` and the mempool's `rawtx`/`sequence`
/// streams, with whatever those streams lost fetched by request (the Clone pattern), so a running
/// edge's subscribers see every block of the best chain and every accepted transaction.
enum FeedEvent: Sendable {
    /// A block joined the best chain (`sequence` C; a "block" message).
    case connected(height: Int, block: Block, raw: [UInt8])
    /// A block left the best chain, newest first (`sequence` D; a "block-disconnected" message):
    /// the tip is then `previous`.
    case disconnected(height: Int, hash: Hash256, previous: Hash256)
    /// The tip after a change (`hashblock` and `rawblock`, as Bitcoin Core: once per change).
    case newTip(hash: Hash256, raw: [UInt8])
    /// A transaction entered the pool (`hashtx`, `rawtx`, `sequence` A; a "tx" message).
    case txAdded(tx: Transaction, raw: [UInt8], mempoolSequence: UInt64)
    /// A transaction left the pool for another reason than a block (`sequence` R).
    case txRemoved(txid: Hash256, mempoolSequence: UInt64)
    /// The edge cannot tell what was missed: a counter reset on the public feed, a "resync" message.
    case resync(scope: String, reason: String)
}

/// Where feed events go, in the order they are posted. `post` is synchronous, so a follower's
/// check of what it announced, its bookkeeping and the post happen in one step of its actor: two
/// followers (the chain's and the mempool's) cannot overtake each other's announcements.
protocol FeedOutlet: Sendable {
    func post(_ event: FeedEvent)
}

/// Follows the chain store: keeps the chain as the edge last announced it (the last `window`
/// blocks), checks every `connected`/`disconnected` publication against it, and on a gap, a
/// publisher restart or a block that does not link, fetches the difference from the chain store
/// (disconnects newest first down to the fork, then connects in order) before going on.
actor ChainFollower {
    private var announced: [(height: Int, hash: Hash256)] = []
    private var heights: [Hash256: Int] = [:]
    /// The block bytes of the announced tip, for `rawblock`.
    private var tipRaw: [UInt8] = []
    /// The tip last announced with `hashblock`.
    private var hashblockSent: Hash256?
    private let backend: Backend
    private let outlet: any FeedOutlet
    private let onConfirmed: @Sendable ([Hash256]) async -> Void
    private let onDisconnected: @Sendable () async -> Void
    /// Called before a block's announcement (the mempool follower announces the block's
    /// transactions the feed has not announced yet, so that each shows before its block).
    private let beforeConnected: @Sendable (Block) async -> Void
    private let logger: Logger
    let window: Int
    let maxCatchUp: Int
    private(set) var catchUps = 0

    init(backend: Backend, outlet: any FeedOutlet, logger: Logger, window: Int = 1000, maxCatchUp: Int = 1000,
         onConfirmed: @escaping @Sendable ([Hash256]) async -> Void = { _ in },
         onDisconnected: @escaping @Sendable () async -> Void = {},
         beforeConnected: @escaping @Sendable (Block) async -> Void = { _ in }) {
        self.onDisconnected = onDisconnected
        self.beforeConnected = beforeConnected
        self.backend = backend
        self.outlet = outlet
        self.logger = logger
        self.window = window
        self.maxCatchUp = maxCatchUp
        self.onConfirmed = onConfirmed
    }

    var tip: (height: Int, hash: Hash256)? { announced.last }

    /// The first snapshot (after the subscription is synced): where the feed starts. Nothing is announced.
    func start() async {
        await catchUp(reason: "start")
    }

    func handle(_ event: SubscriberEvent) async {
        switch event {
        case let .message(topic, body, _):
            switch topic {
            case Topic.connected:
                guard let (height, raw) = HeightPrefixed.decode(body), let block = try? Block(bytes: raw) else {
                    return logger.warning("undecodable connected message")
                }
                await connected(height: height, block: block, raw: raw)
            case Topic.disconnected:
                guard let (height, raw) = HeightPrefixed.decode(body), let block = try? Block(bytes: raw) else {
                    return logger.warning("undecodable disconnected message")
                }
                await disconnected(height: height, hash: block.hash, previous: block.header.previousHash)
            case Topic.hashblock:
                // The end of one change of the chain store's tip.
                guard let hash = displayHash(body), hash == announced.last?.hash else { return }
                await announceTip()
            default:
                break
            }
        case let .gap(topic, expected, received):
            logger.warning("missed chain store publications: fetching what was missed",
                           metadata: ["topic": "\(topic)", "expected": "\(expected)", "received": "\(received)"])
            await catchUp(reason: "gap in \(topic)")
        case let .reset(topic, _, _):
            logger.notice("chain store restarted: fetching what was missed", metadata: ["topic": "\(topic)"])
            await catchUp(reason: "chain store restarted")
        }
    }

    private func connected(height: Int, block: Block, raw: [UInt8]) async {
        let hash = block.hash
        guard let last = announced.last else { return await catchUp(reason: "not started") }
        if block.header.previousHash == last.hash && height == last.height + 1 {
            await push(height: height, block: block, raw: raw)
        } else if heights[hash] == height {
            return  // already announced (fetched while catching up)
        } else {
            await catchUp(reason: "block \(hash.hex) at \(height) does not follow \(last.hash.hex) at \(last.height)")
        }
    }

    private func disconnected(height: Int, hash: Hash256, previous: Hash256) async {
        guard let last = announced.last else { return await catchUp(reason: "not started") }
        if last.hash == hash {
            announced.removeLast()
            heights[hash] = nil
            // The tip is now its parent, even when the edge never announced it (the feed started on `hash`).
            if announced.isEmpty {
                announced = [(height - 1, previous)]
                heights[previous] = height - 1
            }
            tipRaw = []
            outlet.post(.disconnected(height: height, hash: hash, previous: previous))
            await onDisconnected()
        } else if heights[hash] == nil {
            return  // never announced, or already taken back while catching up
        } else {
            await catchUp(reason: "block \(hash.hex) disconnected below the tip")
        }
    }

    private func push(height: Int, block: Block, raw: [UInt8]) async {
        announced.append((height, block.hash))
        heights[block.hash] = height
        if announced.count > window {
            let old = announced.removeFirst()
            heights[old.hash] = nil
        }
        tipRaw = raw
        await beforeConnected(block)
        outlet.post(.connected(height: height, block: block, raw: raw))
        await onConfirmed(block.transactions.map(\.txid))
    }

    private func announceTip() async {
        guard let last = announced.last, hashblockSent != last.hash, !tipRaw.isEmpty else { return }
        hashblockSent = last.hash
        outlet.post(.newTip(hash: last.hash, raw: tipRaw))
    }

    /// Brings the announced chain to the chain store's best chain; retries until it can (the
    /// chain store may still be starting), or the task is cancelled.
    func catchUp(reason: String) async {
        catchUps += 1
        var attempt = 0
        while !Task.isCancelled {
            attempt += 1
            do {
                if try await catchUpOnce(reason: reason) { return }
            } catch {
                if attempt == 1 || attempt % 10 == 0 {
                    logger.warning("chain store not answering while catching up; retrying", metadata: ["error": "\(error)"])
                }
            }
            try? await Task.sleep(for: .milliseconds(attempt < 5 ? 200 : 1000))
        }
    }

    /// One attempt; false when the chain changed under it (try again).
    private func catchUpOnce(reason: String) async throws -> Bool {
        let tip = try await backend.chain("getchaintip", Empty(), as: ChainTip.self)
        guard let tipHash = Hash256(hex: tip.hash) else { return true }
        guard !announced.isEmpty else {
            // The starting point: this edge announces what comes after it.
            let info = try await backend.chain("getblock", BlockRef(hash: tip.hash), as: BlockInfo.self)
            announced = [(tip.height, tipHash)]
            heights = [tipHash: tip.height]
            tipRaw = Hex.decode(info.hex) ?? []
            hashblockSent = tipHash
            return true
        }
        if announced.last?.hash == tipHash { return true }
        // The fork point: the newest announced block still on the best chain.
        var fork: Int?
        for i in announced.indices.reversed() {
            do {
                let header = try await backend.chain("getheader", BlockRef(hash: announced[i].hash.hex), as: HeaderInfo.self)
                if header.inBestChain { fork = i; break }
            } catch let e as APIError where e.status == .notFound {
                continue
            }
        }
        guard let f = fork, tip.height - announced[f].height <= maxCatchUp else {
            logger.warning("cannot tell what the feed missed: announcing a resync", metadata: ["reason": "\(reason)",
                           "announced": "\(announced.last!.height)", "tip": "\(tip.height)"])
            let info = try await backend.chain("getblock", BlockRef(hash: tip.hash), as: BlockInfo.self)
            announced = [(tip.height, tipHash)]
            heights = [tipHash: tip.height]
            tipRaw = Hex.decode(info.hex) ?? []
            hashblockSent = tipHash
            outlet.post(.resync(scope: "chain", reason: "more than \(maxCatchUp) blocks or a reorg deeper than \(window) blocks missed (\(reason))"))
            return true
        }
        var replayed = 0
        while announced.count - 1 > f {
            let gone = announced.removeLast()
            heights[gone.hash] = nil
            tipRaw = []
            outlet.post(.disconnected(height: gone.height, hash: gone.hash, previous: announced[announced.count - 1].hash))
            await onDisconnected()
            replayed += 1
        }
        var height = announced[f].height + 1
        while height <= tip.height {
            let info = try await backend.chain("getblock", BlockRef(height: height), as: BlockInfo.self)
            guard let raw = Hex.decode(info.hex), let block = try? Block(bytes: raw) else { return false }
            // A reorg while fetching: start again from the new fork point.
            guard block.header.previousHash == announced.last?.hash else { return false }
            await push(height: height, block: block, raw: raw)
            replayed += 1
            height += 1
        }
        await announceTip()
        logger.notice("feed caught up with the chain store", metadata: ["reason": "\(reason)", "events": "\(replayed)", "height": "\(tip.height)"])
        return true
    }
}

/// Follows the mempool: remembers which transactions the feed announced as in the pool, passes
/// on A and R once each, and on a gap or a mempool restart compares a `getrawmempool` snapshot
/// with what it announced: new ones are announced (A), and ones gone for another reason than a
/// block get their R.
actor MempoolFollower {
    /// Announced as in the pool, not yet mined or removed.
    private var inPool = Set<Hash256>()
    /// Recently mined: an A arriving after its block (the two streams are followed independently) is not announced.
    private var mined = Set<Hash256>()
    private var minedOrder: [Hash256] = []
    /// `rawtx` bodies waiting for their `sequence` A (the mempool publishes hashtx, rawtx, sequence per transaction).
    private var raws: [Hash256: (Transaction, [UInt8])] = [:]
    private var started = false
    private let backend: Backend
    private let outlet: any FeedOutlet
    private let logger: Logger
    let limit: Int

    init(backend: Backend, outlet: any FeedOutlet, logger: Logger, limit: Int = 500_000) {
        self.backend = backend
        self.outlet = outlet
        self.logger = logger
        self.limit = limit
    }

    /// The newest mempool sequence seen (an A, an R or a snapshot).
    private var lastSequence: UInt64 = 0
    /// Transactions announced just before their block, not seen from the mempool (tests, metrics).
    private(set) var announcedWithBlock = 0

    var announcedCount: Int { inPool.count }

    /// Before a block's C: its transactions that the feed has not announced as in the pool are
    /// announced now (hashtx, rawtx, sequence A with the newest mempool sequence seen), so every
    /// transaction shows on the feeds before its block. They entered and left the pool while this
    /// edge's view of the mempool was interrupted (the mempool died before publishing an A for a
    /// transaction it had acknowledged, or the edge was still catching up with a restarted mempool),
    /// or they reached this node only inside the block (Bitcoin Core's hashtx and rawtx fire for a
    /// block's transactions too). Their late A, if it comes, is not announced again (`mined`).
    func announceUnseen(in block: Block) async {
        guard started else { return }   // before the feed's first snapshot: nothing is announced
        for tx in block.transactions.dropFirst() {
            let txid = tx.txid
            guard !inPool.contains(txid), !mined.contains(txid) else { continue }
            let raw = raws.removeValue(forKey: txid)?.1 ?? tx.encoded
            announcedWithBlock += 1
            logger.info("a transaction not seen entering the pool is announced before its block",
                        metadata: ["txid": "\(txid.hex)", "block": "\(block.hash.hex)"])
            await announce(tx, raw: raw, sequence: lastSequence)
        }
    }
    var isStarted: Bool { started }

    func start() async { await catchUp(reason: "start") }

    /// Transactions of a block the feed announced: they left the pool by inclusion.
    func confirmed(_ txids: [Hash256]) {
        for t in txids {
            inPool.remove(t)
            if mined.insert(t).inserted { minedOrder.append(t) }
        }
        if minedOrder.count > 50_000 {
            for t in minedOrder.prefix(10_000) { mined.remove(t) }
            minedOrder.removeFirst(10_000)
        }
    }

    /// A block left the chain: its transactions may come back to the pool and be announced again.
    func reorged() {
        mined.removeAll()
        minedOrder.removeAll()
    }

    func handle(_ event: SubscriberEvent) async {
        switch event {
        case let .message(topic, body, _):
            switch topic {
            case Topic.rawtx:
                guard let tx = try? Transaction(bytes: body) else { return logger.warning("undecodable rawtx message") }
                if raws.count > 10_000 { raws.removeAll() }
                raws[tx.txid] = (tx, body)
            case Topic.sequence:
                guard body.count == 32 + 1 + 8, let txid = displayHash(Array(body[0..<32])) else { return }
                let seq = body[33...].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                lastSequence = max(lastSequence, seq)
                if body[32] == UInt8(ascii: "A") {
                    let raw = raws.removeValue(forKey: txid)
                    await added(txid, raw: raw, sequence: seq)
                } else if body[32] == UInt8(ascii: "R") {
                    raws[txid] = nil
                    if inPool.remove(txid) != nil { outlet.post(.txRemoved(txid: txid, mempoolSequence: seq)) }
                }
            default:
                break
            }
        case let .gap(topic, expected, received):
            logger.warning("missed mempool publications: fetching what was missed",
                           metadata: ["topic": "\(topic)", "expected": "\(expected)", "received": "\(received)"])
            await catchUp(reason: "gap in \(topic)")
        case let .reset(topic, _, _):
            logger.notice("mempool restarted: fetching what was missed", metadata: ["topic": "\(topic)"])
            await catchUp(reason: "mempool restarted")
        }
    }

    private func added(_ txid: Hash256, raw: (Transaction, [UInt8])?, sequence: UInt64) async {
        guard started, !inPool.contains(txid), !mined.contains(txid) else { return }
        var found = raw
        if found == nil {
            // The rawtx was lost but not its A (can't happen on one connection; a guard nonetheless).
            if let e = try? await backend.mempoolEntry(txid.hex), let bytes = Hex.decode(e.hex), let tx = try? Transaction(bytes: bytes) {
                found = (tx, bytes)
            }
        }
        guard let (tx, bytes) = found else { return }
        await announce(tx, raw: bytes, sequence: sequence)
    }

    private func announce(_ tx: Transaction, raw: [UInt8], sequence: UInt64) async {
        // Checked again here: an await may separate the caller's check from this point.
        guard !mined.contains(tx.txid), inPool.insert(tx.txid).inserted else { return }
        lastSequence = max(lastSequence, sequence)
        outlet.post(.txAdded(tx: tx, raw: raw, mempoolSequence: sequence))
        if inPool.count > limit {
            inPool.removeAll()
            started = false
            outlet.post(.resync(scope: "mempool", reason: "more than \(limit) transactions followed"))
            await catchUp(reason: "overflow")
        }
    }

    func catchUp(reason: String) async {
        var attempt = 0
        while !Task.isCancelled {
            attempt += 1
            do {
                try await catchUpOnce(reason: reason)
                return
            } catch {
                if attempt == 1 || attempt % 10 == 0 {
                    logger.warning("mempool not answering while catching up; retrying", metadata: ["error": "\(error)"])
                }
            }
            try? await Task.sleep(for: .milliseconds(attempt < 5 ? 200 : 1000))
        }
    }

    private func catchUpOnce(reason: String) async throws {
        let snapshot = try await backend.mempool("getrawmempool", Empty(), as: RawMempool.self)
        let now = snapshot.txids.compactMap(Hash256.init(hex:))
        lastSequence = max(lastSequence, snapshot.mempoolSequence)
        raws.removeAll()
        guard started else {
            // The starting point: what is in the pool now was announced before this edge started.
            inPool = Set(now)
            started = true
            return
        }
        let current = Set(now)
        var added = 0, removed = 0
        // Gone while unseen: mined (its block's C says so, or will) or removed (R).
        for txid in inPool.subtracting(current).sorted(by: { $0.hex < $1.hex }) {
            if try await backend.confirmedTx(txid.hex) == nil {
                outlet.post(.txRemoved(txid: txid, mempoolSequence: snapshot.mempoolSequence))
                removed += 1
            }
            inPool.remove(txid)
        }
        // New while unseen, in the snapshot's order (by entry time: parents first).
        for txid in now where !inPool.contains(txid) && !mined.contains(txid) {
            guard let e = try await backend.mempoolEntry(txid.hex) else { continue }   // left meanwhile: its R follows
            guard let bytes = Hex.decode(e.hex), let tx = try? Transaction(bytes: bytes) else { continue }
            await announce(tx, raw: bytes, sequence: snapshot.mempoolSequence)
            added += 1
        }
        logger.notice("feed caught up with the mempool", metadata: ["reason": "\(reason)", "added": "\(added)", "removed": "\(removed)",
                                                                    "mempool_sequence": "\(snapshot.mempoolSequence)"])
    }
}

/// A hash in display order (as the `hashblock`/`sequence` bodies carry it).
func displayHash(_ bytes: [UInt8]) -> Hash256? {
    bytes.count == 32 ? Hash256(bytes: bytes.reversed()) : nil
}

/// Every outward feed, in one order: the public ZMQ PUB (when configured), the WebSocket feed
/// `/api/ws` and the JSON-RPC WebSocket subscriptions. Events are queued as they are posted and
/// handed to each outlet in that order by `run()`.
final class FeedOutlets: FeedOutlet {
    let notifier: PublicNotifier?
    let outlets: [any FeedOutlet]
    private let stream: AsyncStream<FeedEvent>
    private let continuation: AsyncStream<FeedEvent>.Continuation

    init(notifier: PublicNotifier?, outlets: [any FeedOutlet]) {
        self.notifier = notifier
        self.outlets = outlets
        // Unbounded: the followers' events must not be dropped (blocks and accepted transactions).
        (stream, continuation) = AsyncStream.makeStream(of: FeedEvent.self, bufferingPolicy: .unbounded)
    }

    func post(_ event: FeedEvent) { continuation.yield(event) }
    func finish() { continuation.finish() }

    /// Hands the queued events out until `finish()`.
    func run() async {
        for await event in stream {
            await notifier?.deliver(event)
            for o in outlets { o.post(event) }
        }
    }
}
