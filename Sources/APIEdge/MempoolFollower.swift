import Bus
import ChainCore
import Foundation
import Logging
import NodeKit

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
            await announce(tx, txid: txid, raw: raw, sequence: lastSequence)
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
        await announce(tx, txid: txid, raw: bytes, sequence: sequence)
    }

    private func announce(_ tx: Transaction, txid: Hash256, raw: [UInt8], sequence: UInt64) async {
        // Checked again here: an await may separate the caller's check from this point.
        guard !mined.contains(txid), inPool.insert(txid).inserted else { return }
        lastSequence = max(lastSequence, sequence)
        outlet.post(.txAdded(tx: tx, txid: txid, raw: raw, mempoolSequence: sequence))
        if inPool.count > limit {
            // A new starting point first, then the resync: a client fetching the mempool when told
            // finds there everything this follower will not announce (the snapshot's).
            inPool.removeAll()
            started = false
            await catchUp(reason: "overflow")
            outlet.post(.resync(scope: "mempool", reason: "more than \(limit) transactions followed"))
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
        let snapshot = try await backend.mempool(.getrawmempool, Empty(), as: RawMempool.self)
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
            await announce(tx, txid: txid, raw: bytes, sequence: snapshot.mempoolSequence)
            added += 1
        }
        logger.notice("feed caught up with the mempool", metadata: ["reason": "\(reason)", "added": "\(added)", "removed": "\(removed)",
                                                                    "mempool_sequence": "\(snapshot.mempoolSequence)"])
    }
}
