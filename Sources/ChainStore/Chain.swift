import BigInt
import ChainCore
import Foundation
import GRDB
import Logging
import NodeKit

/// What the chain store knows of one header.
struct HeaderEntry: Sendable {
    let hash: Hash256
    let header: BlockHeader
    let height: Int
    /// Cumulative chain work up to and including this block.
    let work: BigUInt
    var status: Schema.Status
    let size: Int
    let txCount: Int
}

/// Changes of the best chain, for the publisher.
struct TipChange: Sendable {
    /// Each with the trace events stored for it (`ChainTrace`), to be published as they are.
    var disconnected: [(height: Int, block: Block, trace: [TraceEvent])] = []
    var connected: [(height: Int, block: Block, source: String?, trace: [TraceEvent])] = []
}

/// The only writer of the chain. Blocks are processed one at a time; reads go
/// straight to the database (`ChainQueries`), which WAL keeps consistent.
actor Chain {
    let db: DatabasePool
    let params: ChainParams
    let logger: Logger
    private(set) var index: [Hash256: HeaderEntry] = [:]
    /// Best chain, by height.
    private(set) var active: [Hash256] = []
    private(set) var supply: UInt64 = 0
    private let onChange: @Sendable (TipChange, ChainTip) async -> Void
    /// Trace events stored outside a change of the tip (a block received, a block found invalid).
    private let onTrace: @Sendable ([TraceEvent]) async -> Void
    private let clock: @Sendable () -> Int64
    /// The txids whose signatures this node's mempool verified (nil: off, `--no-signature-cache`):
    /// their checks are skipped at connect (SignatureCache.swift).
    let signatureCache: SignatureCache?

    init(db: DatabasePool, params: ChainParams, logger: Logger,
         signatureCache: SignatureCache? = nil,
         clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) },
         onTrace: @escaping @Sendable ([TraceEvent]) async -> Void = { _ in },
         onChange: @escaping @Sendable (TipChange, ChainTip) async -> Void) async throws {
        self.db = db
        self.params = params
        self.logger = logger
        self.clock = clock
        self.signatureCache = signatureCache
        self.onTrace = onTrace
        self.onChange = onChange
        try await load()
    }

    var tip: HeaderEntry { index[active[active.count - 1]]! }

    // MARK: loading

    private func load() async throws {
        let params = self.params
        try await db.write { db in try ChainStorage.initialize(db, params: params, now: ServiceSupport.now()) }
        let (entries, activeHashes, supply) = try await db.read { db in try ChainStorage.load(db) }
        for e in entries { index[e.hash] = e }
        active = activeHashes
        self.supply = supply
        logger.info("chain loaded", metadata: ["height": "\(active.count - 1)", "tip": "\(tip.hash.hex)", "headers": "\(index.count)"])
        // A crash after storing a block but before activating it leaves a better stored branch: take it now.
        if let best = bestCandidate(), best.work > tip.work {
            logger.notice("activating a stored branch with more work", metadata: ["hash": "\(best.hash.hex)"])
            _ = try await activate(best, sources: [:], known: [:])
        }
    }

    // MARK: submitting a block

    func submit(hex: String, source: String) async -> SubmitBlockResult {
        let start = ContinuousClock.now
        guard let raw = Hex.decode(hex) else {
            return SubmitBlockResult(hash: "", accepted: false, reason: RejectReason.malformed.rawValue, message: "not hex", isTip: false)
        }
        let block: Block
        do {
            block = try Block(bytes: raw)
        } catch {
            return SubmitBlockResult(hash: "", accepted: false, reason: RejectReason.malformed.rawValue, message: error.description, isTip: false)
        }
        return await submit(block, source: source, decoded: ContinuousClock.now - start)
    }

    /// The last block submission queued; each waits for the one before.
    private var queueTail: Task<Void, Never>?

    /// Blocks are processed strictly one at a time: the actor is reentrant at
    /// every await, and two activations interleaving would work from the same
    /// old tip.
    /// `decoded`: how long its bytes took to decode, for the connection's timing log.
    func submit(_ block: Block, source: String, decoded: Duration? = nil) async -> SubmitBlockResult {
        let previous = queueTail
        let task = Task { () -> SubmitBlockResult in
            await previous?.value
            return await self.process(block, source: source, timing: ConnectTiming(decoded: decoded))
        }
        queueTail = Task { _ = await task.value }
        return await task.value
    }

    /// Returns once every block submitted so far has been processed (the service's exit waits for
    /// it before its last checkpoint and the database's close).
    func drained() async {
        await queueTail?.value
    }

    private func process(_ block: Block, source: String, timing: ConnectTiming) async -> SubmitBlockResult {
        var timing = timing
        let hash = block.hash
        func reject(_ e: ValidationError) -> SubmitBlockResult {
            logger.info("block rejected", metadata: ["hash": "\(hash.hex)", "reason": "\(e.reason.rawValue)", "source": "\(source)"])
            return SubmitBlockResult(hash: hash.hex, accepted: false, reason: e.reason.rawValue, message: e.detail, isTip: false)
        }
        if let known = index[hash] {
            let reason = known.status == .invalid ? SubmitOutcome.duplicateInvalidCode : SubmitOutcome.duplicateCode
            return SubmitBlockResult(hash: hash.hex, accepted: false, reason: reason, message: "block already known",
                                     height: known.height, isTip: active.count > known.height && active[known.height] == hash)
        }
        guard let parent = index[block.header.previousHash] else {
            return reject(ValidationError(.badPrevBlock, "parent \(block.header.previousHash.hex) is unknown"))
        }
        guard parent.status != .invalid else {
            return reject(ValidationError(.badPrevBlock, "parent \(parent.hash.hex) is invalid"))
        }
        // The header is checked first (cheap: its bits must be those the difficulty rule requires, so
        // its proof of work is real work). A child of the tip whose header holds has its coins read on
        // readers (detached: not waiting for this actor) while its body is checked here; a block
        // refused by the checks drops the read. A block failing both is refused for its body first.
        var headerRefusal: ValidationError?
        do { try BlockRules.checkHeader(block.header, context: context(after: parent), now: clock(), params: params) } catch { headerRefusal = error }
        let onTip = parent.hash == tip.hash
        let coinsRead: Task<CoinsRead?, Never>? = onTip && headerRefusal == nil
            ? Task.detached { [db] in await Self.readCoins(Self.spentOutpoints(block), db: db) } : nil
        let txids = block.txids
        do throws(ValidationError) {
            try BlockRules.checkBlock(block, params: params, txids: txids)
            if let headerRefusal { throw headerRefusal }
        } catch {
            coinsRead?.cancel()
            return reject(error)
        }
        timing.mark("checks")
        let entry = HeaderEntry(hash: hash, header: block.header, height: parent.height + 1,
                                work: parent.work + CompactTarget.work(bits: block.header.bits), status: .stored,
                                size: block.encodedSize, txCount: block.transactions.count)
        // The body is stored on the writer while, for a block on the tip (the usual case), its coins
        // are read on a reader, its rules checked and its signatures set verifying on every core.
        let received = ChainTrace.received(entry, source: source, time: ServiceSupport.now())
        let db = self.db
        async let storing: Void = db.write { db in
            try ChainStorage.store(db, entry: entry, block: block, receivedAt: received.time)
            try ChainStorage.record(db, [received])
        }
        var prepared: Prepared?
        if let coinsRead, let read = await coinsRead.value {
            timing.mark("coins read")   // what was left of the read once the checks ended
            prepared = prepare(entry, block: block, txids: txids, coins: read)
            timing.mark("rules")
        }
        do {
            try await storing
            timing.mark("stored")
        } catch {
            prepared?.verification?.cancel()
            logger.error("storing a block failed", metadata: ["error": "\(error)"])
            return SubmitBlockResult(hash: hash.hex, accepted: false, reason: SubmitOutcome.internalCode, message: "\(error)", isTip: false)
        }
        await onTrace([received])
        index[hash] = entry
        guard entry.work > tip.work else {
            logger.info("block stored on a side branch", metadata: ["hash": "\(hash.hex)", "height": "\(entry.height)"])
            return SubmitBlockResult(hash: hash.hex, accepted: true, reason: SubmitOutcome.sideBranchCode,
                                     message: "valid so far, on a branch with less work than the tip", height: entry.height, isTip: false)
        }
        do {
            if let failure = try await activate(entry, sources: [hash: source], known: [hash: (block, txids)], prepared: prepared,
                                                timing: timing) {
                return reject(failure)
            }
        } catch {
            logger.error("activating a block failed", metadata: ["error": "\(error)"])
            return SubmitBlockResult(hash: hash.hex, accepted: false, reason: SubmitOutcome.internalCode, message: "\(error)", isTip: false)
        }
        let isTip = active.last == hash
        return SubmitBlockResult(hash: hash.hex, accepted: isTip, reason: isTip ? nil : SubmitOutcome.sideBranchCode,
                                 height: entry.height, isTip: isTip)
    }

    /// What the difficulty and time rules require of a child of `parent`.
    func context(after parent: HeaderEntry) -> HeaderContext {
        let height = parent.height + 1
        var times = [UInt32]()
        var cursor: HeaderEntry? = parent
        while let c = cursor, times.count < ChainParams.medianTimeSpan {
            times.append(c.header.time)
            cursor = c.height == 0 ? nil : index[c.header.previousHash]
        }
        let bits = Difficulty.nextBits(height: height, parentBits: parent.header.bits, parentTime: parent.header.time,
                                       windowStartTime: self.ancestor(of: parent, height: Difficulty.windowStartHeight(for: height, params: self.params))?.header.time ?? 0,
                                       params: params)
        return HeaderContext(height: height, expectedBits: bits, medianTimePast: Difficulty.medianTimePast(times.reversed()))
    }

    func ancestor(of entry: HeaderEntry, height: Int) -> HeaderEntry? {
        guard height >= 0, height <= entry.height else { return nil }
        if entry.height < active.count && active[entry.height] == entry.hash { return index[active[height]] }
        var cursor = entry
        while cursor.height > height {
            guard let p = index[cursor.header.previousHash] else { return nil }
            if p.height < active.count && active[p.height] == p.hash { return index[active[height]] }
            cursor = p
        }
        return cursor
    }

    private func bestCandidate() -> HeaderEntry? {
        index.values.filter { $0.status != .invalid }.max { a, b in a.work < b.work }
    }

    // MARK: activating a branch (extend or reorganise)

    /// A block of the branch being connected, checked but for its signatures.
    private struct Connecting {
        let entry: HeaderEntry
        let block: Block
        let txids: [Hash256]
        let connection: BlockConnection
        let checks: [SignatureCheck]
        let fees: [Amount]
        /// The signature cache's word on each transaction (nil: no cache), counted once connected.
        let cached: [Bool]?
    }

    /// A signature of the branch's block `index` failed while the branch was being written (rolled back).
    private struct BadSignature: Error {
        let index: Int
        let check: SignatureCheck
    }

    /// Makes `target`'s branch the best chain, in one database transaction.
    /// Returns the validation failure of a block on the branch (marked invalid; the tip stays), or nil.
    /// `known` holds blocks already decoded (the one just submitted) with their txids; `prepared`, the
    /// one just submitted when it extends the tip, already checked but for its signatures, which are verifying.
    ///
    /// Each block of the branch is checked in order against the UTXO view as the blocks before it
    /// leave it, all but its signatures; the signatures of the whole branch are then verified on
    /// every core while the database writes the branch, and the write commits only if they all
    /// verify. The block refused is the one the whole checks in order would refuse: the first
    /// whose rules fail, unless an earlier block has a bad signature.
    private func activate(_ target: HeaderEntry, sources: [Hash256: String], known: [Hash256: (Block, [Hash256])],
                          prepared: Prepared? = nil, timing: ConnectTiming = ConnectTiming()) async throws -> ValidationError? {
        var timing = timing
        // The branch from the fork point up to target.
        var branch = [HeaderEntry]()
        var cursor = target
        while !(cursor.height < active.count && active[cursor.height] == cursor.hash) {
            branch.append(cursor)
            guard let p = index[cursor.header.previousHash] else { throw ChainStoreError.corrupt("missing parent of \(cursor.hash.hex)") }
            cursor = p
        }
        branch.reverse()
        let fork = cursor
        let disconnectHashes = Array(active[(fork.height + 1)...].reversed())

        // Used only for the branch it was prepared for: the one block on the tip.
        let usable = prepared.flatMap { p in disconnectHashes.isEmpty && branch.count == 1 && branch[0].hash == p.hash ? p : nil }
        if usable == nil { prepared?.verification?.cancel() }
        let prepared = usable
        var overlay = OverlayView()
        let now = ServiceSupport.now()
        // Disconnect the old branch, newest first.
        var disconnected = [(height: Int, block: Block)]()
        for (i, hash) in disconnectHashes.enumerated() {
            let height = active.count - 1 - i
            let (block, spent) = try await loadBlockAndUndo(hash)
            for (tx, txid) in zip(block.transactions, block.txids) {
                for j in tx.outputs.indices { overlay.remove(OutPoint(txid: txid, index: UInt32(j))) }
            }
            for s in spent { overlay.put(s.outpoint, s.coin) }
            disconnected.append((height, block))
        }
        // Connect the new branch, oldest first, all but the signatures.
        var connections = [Connecting]()
        for entry in branch {
            let block: Block, txids: [Hash256]
            if let k = known[entry.hash] {
                (block, txids) = k
            } else {
                block = try await loadBlock(entry.hash)
                txids = block.txids
            }
            let pending: PendingConnection
            let cached: [Bool]?
            do {
                if let prepared {
                    overlay.base = prepared.coins
                    cached = prepared.cached
                    pending = try prepared.outcome.get()
                } else {
                    let needed = Self.spentOutpoints(block).filter { !overlay.knows($0) }
                    overlay.base.merge(try await fetchCoins(needed)) { a, _ in a }
                    cached = signatureCache?.verified(txids)
                    pending = try BlockRules.connectDeferringSignatures(block, height: entry.height, view: overlay, params: params, txids: txids,
                                                                        signaturesVerified: cached)
                }
            } catch let error as ValidationError {
                // An earlier block of the branch with a bad signature is the one refused.
                for (i, earlier) in connections.enumerated() {
                    if let bad = await SignatureBatch.firstFailure(earlier.checks) {
                        return try await refuse(connections[i].entry, BlockRules.signatureError(bad))
                    }
                }
                return try await refuse(entry, error)
            }
            let connection = pending.connection
            // The view as this block leaves it, for the blocks after it (none after the last).
            if entry.hash != target.hash {
                for s in connection.spent { overlay.remove(s.outpoint) }
                for c in connection.created { overlay.put(c.outpoint, c.coin) }
            }
            connections.append(Connecting(entry: entry, block: block, txids: txids, connection: connection, checks: pending.checks,
                                          fees: pending.txFees, cached: cached))
        }

        // The signatures, on Dispatch's threads while the writer writes; their verdict decides the commit.
        // Where each block's checks end in the branch's list.
        let ends = connections.reduce(into: [Int]()) { ends, c in ends.append((ends.last ?? 0) + c.checks.count) }
        let verification: Verifying = prepared?.verification.map { .block($0) }
            ?? .checks(SignatureVerification(connections.flatMap(\.checks)), ends: ends)
        let startSupply = supply
        let connecting = connections.map { ($0, sources[$0.entry.hash]) }
        let toDisconnect = disconnected

        // Supply = coins created: coinbase outputs minus the fees they collect. The trace events
        // are built on the writer's thread too, while the signatures verify.
        let newSupply: UInt64
        let change: TipChange
        let written: ContinuousClock.Instant, verified: ContinuousClock.Instant
        timing.mark(disconnected.isEmpty ? "branch checked" : "branch read and checked")
        do {
            (newSupply, change, written, verified) = try await db.write { db in
                var supply = startSupply
                var change = TipChange()
                for d in toDisconnect {
                    try ChainStorage.keepConnectedTrace(db, block: d.block, height: d.height)
                    // (supply + fees) - coinbase: a coinbase may pay less than the fees (the rest is burnt).
                    let taken = try ChainStorage.disconnect(db, block: d.block, height: d.height)
                    supply = try ChainStorage.supply(supply, plus: taken.fees, minus: taken.coinbase)
                    let trace = ChainTrace.disconnected(d.block, time: now)
                    try ChainStorage.record(db, trace)
                    change.disconnected.append((d.height, d.block, trace))
                }
                for (item, source) in connecting {
                    // (supply + coinbase) - fees: never below zero, where `coinbase - fees` is when a
                    // coinbase pays less than the fees it may claim (valid: the rest is burnt).
                    supply = try ChainStorage.supply(supply, plus: item.block.transactions[0].outputs.reduce(0) { $0 + $1.value },
                                                     minus: item.connection.fees)
                    try ChainStorage.connect(db, entry: item.entry, block: item.block, txids: item.txids,
                                             connection: item.connection, fees: item.fees)
                    let trace = ChainTrace.connected(item.block, txids: item.txids, height: item.entry.height, source: source, time: now)
                    try ChainStorage.record(db, ChainTrace.stored(connected: trace))
                    change.connected.append((item.entry.height, item.block, source, trace))
                }
                try ChainStorage.setSupply(db, supply)
                let written = ContinuousClock.now
                // The writer's thread is not the cooperative pool's: waiting here blocks no task.
                if let bad = verification.wait() {
                    // Throwing rolls the whole branch back.
                    throw BadSignature(index: bad.block, check: bad.check)
                }
                return (supply, change, written, ContinuousClock.now)
            }
            timing.mark("rows written", at: written)
            timing.mark("signatures waited for", at: verified)
            timing.mark("committed")
        } catch let bad as BadSignature {
            return try await refuse(connections[bad.index].entry, BlockRules.signatureError(bad.check))
        } catch {
            verification.cancel()
            throw error
        }

        // The database now says so; bring memory in line.
        active.removeLast(disconnectHashes.count)
        for item in connections {
            active.append(item.entry.hash)
            index[item.entry.hash]?.status = .connected
            if let cached = item.cached { signatureCache?.connected(cached) }
        }
        supply = newSupply
        await onChange(change, chainTip())
        timing.mark("published")
        if !change.disconnected.isEmpty {
            logger.notice("reorganised", metadata: ["fork": "\(fork.height)", "disconnected": "\(change.disconnected.count)",
                                                    "connected": "\(change.connected.count)", "tip": "\(tip.hash.hex)",
                                                    "ms": "\(timing.text)"])
        } else {
            logger.info("new tip", metadata: ["height": "\(tip.height)", "hash": "\(tip.hash.hex)", "txs": "\(tip.txCount)",
                                              "ms": "\(timing.text)"])
        }
        return nil
    }

    /// Marks `entry` invalid for `reason` and returns the reason.
    private func refuse(_ entry: HeaderEntry, _ reason: ValidationError) async throws -> ValidationError {
        try await markInvalid(entry, reason: reason)
        return reason
    }

    private func markInvalid(_ entry: HeaderEntry, reason: ValidationError) async throws {
        // The block and every stored descendant.
        var bad = Set([entry.hash])
        var grew = true
        while grew {
            grew = false
            for e in index.values where !bad.contains(e.hash) && bad.contains(e.header.previousHash) {
                bad.insert(e.hash)
                grew = true
            }
        }
        let hashes = Array(bad)
        let event = ChainTrace.rejected(entry, reason: reason, time: ServiceSupport.now())
        try await db.write { db in
            try ChainStorage.markInvalid(db, hashes)
            try ChainStorage.record(db, [event])
        }
        for h in bad { index[h]?.status = .invalid }
        await onTrace([event])
        logger.warning("block invalid on connect", metadata: ["hash": "\(entry.hash.hex)", "reason": "\(reason)"])
    }

    // MARK: facts for queries

    func chainTip() -> ChainTip {
        let t = tip
        let next = context(after: t)
        return ChainTip(height: t.height, hash: t.hash.hex, time: t.header.time, nextBits: next.expectedBits,
                        medianTimePast: next.medianTimePast)
    }

    func entry(_ hash: Hash256) -> HeaderEntry? { index[hash] }
    func hashAt(height: Int) -> Hash256? { height >= 0 && height < active.count ? active[height] : nil }
    func isActive(_ e: HeaderEntry) -> Bool { e.height < active.count && active[e.height] == e.hash }

    /// Block locator: the tip, then exponentially sparser back to genesis.
    func locator() -> [String] {
        var out = [String]()
        var h = active.count - 1
        var step = 1
        while h > 0 {
            out.append(active[h].hex)
            if out.count >= 10 { step *= 2 }
            h -= step
        }
        out.append(active[0].hex)
        return out
    }
}

enum ChainStoreError: Error, CustomStringConvertible {
    case wrongNetwork(String)
    case corrupt(String)

    var description: String {
        switch self {
        case .wrongNetwork(let s): return s
        case .corrupt(let s): return "chain database inconsistent: \(s)"
        }
    }
}
