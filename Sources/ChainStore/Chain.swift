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
    var disconnected: [(height: Int, block: Block)] = []
    var connected: [(height: Int, block: Block, source: String?)] = []
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
    private let clock: @Sendable () -> Int64

    init(db: DatabasePool, params: ChainParams, logger: Logger,
         clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) },
         onChange: @escaping @Sendable (TipChange, ChainTip) async -> Void) async throws {
        self.db = db
        self.params = params
        self.logger = logger
        self.clock = clock
        self.onChange = onChange
        try await load()
    }

    var tip: HeaderEntry { index[active[active.count - 1]]! }

    // MARK: loading

    private func load() async throws {
        let params = self.params
        try await db.write { db in
            let genesisHash = Data(params.genesisHash.bytes)
            if let stored = try Data.fetchOne(db, sql: "SELECT hash FROM active WHERE height = 0") {
                guard stored == genesisHash else {
                    throw ChainStoreError.wrongNetwork("this data folder holds another network's chain")
                }
                return
            }
            let g = params.genesis
            try db.execute(sql: "INSERT INTO header VALUES (?, ?, 0, ?, ?, 1, ?, 1, ?)", arguments: [
                genesisHash, Data(Hash256.zero.bytes), Data(CompactTarget.workBytes(CompactTarget.work(bits: g.header.bits))),
                Data(g.header.encoded), g.encodedSize, Date().timeIntervalSince1970])
            try db.execute(sql: "INSERT INTO block VALUES (?, ?)", arguments: [genesisHash, Data(g.encoded)])
            try db.execute(sql: "INSERT INTO active VALUES (0, ?)", arguments: [genesisHash])
            try db.execute(sql: "INSERT INTO meta VALUES ('network', ?), ('supply', 0)", arguments: [params.network.rawValue])
        }
        let (entries, activeHashes, supply) = try await db.read { db -> ([HeaderEntry], [Hash256], UInt64) in
            var entries = [HeaderEntry]()
            let rows = try Row.fetchAll(db, sql: "SELECT hash, height, work, raw, status, size, tx_count FROM header")
            for row in rows {
                let raw: Data = row["raw"]
                let header = try BlockHeader(bytes: Array(raw))
                let work: Data = row["work"]
                entries.append(HeaderEntry(hash: Hash256(bytes: Array(row["hash"] as Data)), header: header,
                                           height: row["height"], work: CompactTarget.work(fromBytes: Array(work)),
                                           status: Schema.Status(rawValue: row["status"]) ?? .stored,
                                           size: row["size"], txCount: row["tx_count"]))
            }
            let hashes = try Data.fetchAll(db, sql: "SELECT hash FROM active ORDER BY height").map { Hash256(bytes: Array($0)) }
            let supply = try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'supply'") ?? 0
            return (entries, hashes, UInt64(supply))
        }
        for e in entries { index[e.hash] = e }
        active = activeHashes
        self.supply = supply
        logger.info("chain loaded", metadata: ["height": "\(active.count - 1)", "tip": "\(tip.hash.hex)", "headers": "\(index.count)"])
        // A crash after storing a block but before activating it leaves a better stored branch: take it now.
        if let best = bestCandidate(), best.work > tip.work {
            logger.notice("activating a stored branch with more work", metadata: ["hash": "\(best.hash.hex)"])
            _ = try await activate(best, sources: [:])
        }
    }

    // MARK: submitting a block

    func submit(hex: String, source: String) async -> SubmitBlockResult {
        guard let raw = Hex.decode(hex) else {
            return SubmitBlockResult(hash: "", accepted: false, reason: RejectReason.malformed.rawValue, message: "not hex", isTip: false)
        }
        let block: Block
        do {
            block = try Block(bytes: raw)
        } catch {
            return SubmitBlockResult(hash: "", accepted: false, reason: RejectReason.malformed.rawValue, message: error.description, isTip: false)
        }
        return await submit(block, source: source)
    }

    /// The last block submission queued; each waits for the one before.
    private var queueTail: Task<Void, Never>?

    /// Blocks are processed strictly one at a time: the actor is reentrant at
    /// every await, and two activations interleaving would work from the same
    /// old tip.
    func submit(_ block: Block, source: String) async -> SubmitBlockResult {
        let previous = queueTail
        let task = Task { () -> SubmitBlockResult in
            await previous?.value
            return await self.process(block, source: source)
        }
        queueTail = Task { _ = await task.value }
        return await task.value
    }

    private func process(_ block: Block, source: String) async -> SubmitBlockResult {
        let hash = block.hash
        func reject(_ e: ValidationError) -> SubmitBlockResult {
            logger.info("block rejected", metadata: ["hash": "\(hash.hex)", "reason": "\(e.reason.rawValue)", "source": "\(source)"])
            return SubmitBlockResult(hash: hash.hex, accepted: false, reason: e.reason.rawValue, message: e.detail, isTip: false)
        }
        if let known = index[hash] {
            let reason = known.status == .invalid ? "duplicate-invalid" : "duplicate"
            return SubmitBlockResult(hash: hash.hex, accepted: false, reason: reason, message: "block already known",
                                     height: known.height, isTip: active.count > known.height && active[known.height] == hash)
        }
        guard let parent = index[block.header.previousHash] else {
            return reject(ValidationError(.badPrevBlock, "parent \(block.header.previousHash.hex) is unknown"))
        }
        guard parent.status != .invalid else {
            return reject(ValidationError(.badPrevBlock, "parent \(parent.hash.hex) is invalid"))
        }
        do {
            try BlockRules.checkBlock(block, params: params)
            try BlockRules.checkHeader(block.header, context: context(after: parent), now: clock(), params: params)
        } catch {
            return reject(error)
        }
        let entry = HeaderEntry(hash: hash, header: block.header, height: parent.height + 1,
                                work: parent.work + CompactTarget.work(bits: block.header.bits), status: .stored,
                                size: block.encodedSize, txCount: block.transactions.count)
        do {
            try await store(entry, block: block, source: source)
        } catch {
            logger.error("storing a block failed", metadata: ["error": "\(error)"])
            return SubmitBlockResult(hash: hash.hex, accepted: false, reason: "internal", message: "\(error)", isTip: false)
        }
        index[hash] = entry
        guard entry.work > tip.work else {
            logger.info("block stored on a side branch", metadata: ["hash": "\(hash.hex)", "height": "\(entry.height)"])
            return SubmitBlockResult(hash: hash.hex, accepted: true, reason: "inconclusive",
                                     message: "valid so far, on a branch with less work than the tip", height: entry.height, isTip: false)
        }
        do {
            if let failure = try await activate(entry, sources: [hash: source]) {
                return reject(failure)
            }
        } catch {
            logger.error("activating a block failed", metadata: ["error": "\(error)"])
            return SubmitBlockResult(hash: hash.hex, accepted: false, reason: "internal", message: "\(error)", isTip: false)
        }
        let isTip = active.last == hash
        return SubmitBlockResult(hash: hash.hex, accepted: isTip, reason: isTip ? nil : "inconclusive",
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

    private func store(_ entry: HeaderEntry, block: Block, source: String) async throws {
        let hash = Data(entry.hash.bytes)
        let now = Date().timeIntervalSince1970
        let raw = Data(block.encoded)
        try await db.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO header VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)", arguments: [
                hash, Data(entry.header.previousHash.bytes), entry.height, Data(CompactTarget.workBytes(entry.work)),
                Data(entry.header.encoded), entry.size, entry.txCount, now])
            try db.execute(sql: "INSERT OR IGNORE INTO block VALUES (?, ?)", arguments: [hash, raw])
            try db.execute(sql: "INSERT INTO trace VALUES (?, 'block', 'received', 'chainstore', ?, ?)",
                           arguments: [entry.hash.hex, now, "from \(source), height \(entry.height)"])
        }
    }

    // MARK: activating a branch (extend or reorganise)

    /// Makes `target`'s branch the best chain, in one database transaction.
    /// Returns the validation failure of a block on the branch (marked invalid; the tip stays), or nil.
    private func activate(_ target: HeaderEntry, sources: [Hash256: String]) async throws -> ValidationError? {
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

        var overlay = OverlayView()
        var change = TipChange()
        var undos = [Hash256: [SpentCoin]]()
        // Disconnect the old branch, newest first.
        for (i, hash) in disconnectHashes.enumerated() {
            let height = active.count - 1 - i
            let (block, spent) = try await loadBlockAndUndo(hash)
            for tx in block.transactions {
                let txid = tx.txid
                for j in tx.outputs.indices { overlay.remove(OutPoint(txid: txid, index: UInt32(j))) }
            }
            for s in spent { overlay.put(s.outpoint, s.coin) }
            change.disconnected.append((height, block))
        }
        // Connect the new branch, oldest first.
        var connections = [(entry: HeaderEntry, block: Block, connection: BlockConnection, fees: [Amount])]()
        for entry in branch {
            let block = try await loadBlock(entry.hash)
            let needed = Self.spentOutpoints(block).filter { !overlay.knows($0) }
            overlay.base.merge(try await fetchCoins(needed)) { a, _ in a }
            let connection: BlockConnection
            do {
                connection = try await BlockRules.connect(block, height: entry.height, view: overlay, params: params)
            } catch {
                try await markInvalid(entry, reason: error)
                return error
            }
            for s in connection.spent { overlay.remove(s.outpoint) }
            for c in connection.created { overlay.put(c.outpoint, c.coin) }
            connections.append((entry, block, connection, Self.fees(block, connection)))
            undos[entry.hash] = connection.spent
            change.connected.append((entry.height, block, sources[entry.hash]))
        }

        let disconnectedBlocks = change.disconnected
        let connectedItems = connections
        let now = Date().timeIntervalSince1970
        let traceSources = sources
        let startSupply = supply

        // Supply = coins created: coinbase outputs minus the fees they collect.
        let newSupply: UInt64 = try await db.write { db in
            var supply = startSupply
            for (height, block) in disconnectedBlocks {
                let hash = Data(block.hash.bytes)
                let fees = try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(fee), 0) FROM tx WHERE block = ?", arguments: [hash]) ?? 0
                supply -= block.transactions[0].outputs.reduce(0) { $0 + $1.value } - UInt64(fees)
                let undoRaw = try Data.fetchOne(db, sql: "SELECT raw FROM undo WHERE hash = ?", arguments: [hash])
                let spent = try UndoCoding.decode(Array(undoRaw ?? Data()))
                for tx in block.transactions {
                    try db.execute(sql: "DELETE FROM utxo WHERE txid = ?", arguments: [Data(tx.txid.bytes)])
                    try db.execute(sql: "DELETE FROM tx WHERE txid = ?", arguments: [Data(tx.txid.bytes)])
                    try db.execute(sql: "INSERT INTO trace VALUES (?, 'tx', 'disconnected', 'chainstore', ?, ?)",
                                   arguments: [tx.txid.hex, now, "block \(block.hash.hex) left the best chain"])
                }
                for s in spent { try Self.insertCoin(db, s.outpoint, s.coin) }
                try db.execute(sql: "DELETE FROM addr WHERE height = ?", arguments: [height])
                try SpendIndex.forget(db, height: height)
                try db.execute(sql: "DELETE FROM active WHERE height = ?", arguments: [height])
                try db.execute(sql: "DELETE FROM undo WHERE hash = ?", arguments: [hash])
                try db.execute(sql: "INSERT INTO trace VALUES (?, 'block', 'disconnected', 'chainstore', ?, NULL)", arguments: [block.hash.hex, now])
            }
            for item in connectedItems {
                let hash = Data(item.entry.hash.bytes)
                supply += item.block.transactions[0].outputs.reduce(0) { $0 + $1.value } - item.connection.fees
                for s in item.connection.spent {
                    try db.execute(sql: "DELETE FROM utxo WHERE txid = ? AND idx = ?", arguments: [Data(s.outpoint.txid.bytes), s.outpoint.index])
                }
                for c in item.connection.created { try Self.insertCoin(db, c.outpoint, c.coin) }
                try db.execute(sql: "INSERT OR REPLACE INTO undo VALUES (?, ?)", arguments: [hash, Data(UndoCoding.encode(item.connection.spent))])
                try Self.indexTransactions(db, item.block, height: item.entry.height, fees: item.fees, spent: item.connection.spent)
                try SpendIndex.record(db, item.block, height: item.entry.height)
                try db.execute(sql: "INSERT INTO active VALUES (?, ?)", arguments: [item.entry.height, hash])
                try db.execute(sql: "UPDATE header SET status = 1 WHERE hash = ?", arguments: [hash])
                let by = traceSources[item.entry.hash].map { "mined by \($0)" }
                try db.execute(sql: "INSERT INTO trace VALUES (?, 'block', 'connected', 'chainstore', ?, ?)",
                               arguments: [item.entry.hash.hex, now, "height \(item.entry.height)" + (by.map { ", \($0)" } ?? "")])
                for (pos, tx) in item.block.transactions.enumerated() {
                    try db.execute(sql: "INSERT INTO trace VALUES (?, 'tx', 'connected', 'chainstore', ?, ?)",
                                   arguments: [tx.txid.hex, now, "block \(item.entry.hash.hex) height \(item.entry.height) position \(pos)" + (by.map { ", \($0)" } ?? "")])
                }
            }
            try db.execute(sql: "UPDATE meta SET value = ? WHERE key = 'supply'", arguments: [Int64(supply)])
            return supply
        }

        // The database now says so; bring memory in line.
        active.removeLast(disconnectHashes.count)
        for item in connectedItems {
            active.append(item.entry.hash)
            index[item.entry.hash]?.status = .connected
        }
        supply = newSupply
        if !change.disconnected.isEmpty {
            logger.notice("reorganised", metadata: ["fork": "\(fork.height)", "disconnected": "\(change.disconnected.count)",
                                                    "connected": "\(change.connected.count)", "tip": "\(tip.hash.hex)"])
        } else {
            logger.info("new tip", metadata: ["height": "\(tip.height)", "hash": "\(tip.hash.hex)", "txs": "\(tip.txCount)"])
        }
        await onChange(change, chainTip())
        return nil
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
        let hashes = bad.map { Data($0.bytes) }
        let now = Date().timeIntervalSince1970
        try await db.write { db in
            for h in hashes { try db.execute(sql: "UPDATE header SET status = 2 WHERE hash = ?", arguments: [h]) }
            try db.execute(sql: "INSERT INTO trace VALUES (?, 'block', 'rejected', 'chainstore', ?, ?)",
                           arguments: [entry.hash.hex, now, reason.description])
        }
        for h in bad { index[h]?.status = .invalid }
        logger.warning("block invalid on connect", metadata: ["hash": "\(entry.hash.hex)", "reason": "\(reason)"])
    }

    // MARK: helpers

    static func spentOutpoints(_ block: Block) -> [OutPoint] {
        block.transactions.dropFirst().flatMap { $0.inputs.map(\.previousOutput) }
    }

    /// Per-transaction fees, from the coins spent (in the order `connect` spends them) and outputs created earlier in the block.
    static func fees(_ block: Block, _ connection: BlockConnection) -> [Amount] {
        var values = [OutPoint: Amount]()
        for s in connection.spent { values[s.outpoint] = s.coin.output.value }
        var fees = [Amount]()
        for (i, tx) in block.transactions.enumerated() {
            let txid = tx.txid
            if i == 0 {
                fees.append(0)
            } else {
                let inSum = tx.inputs.reduce(Amount(0)) { $0 + (values[$1.previousOutput] ?? 0) }
                let outSum = tx.outputs.reduce(Amount(0)) { $0 + $1.value }
                fees.append(inSum >= outSum ? inSum - outSum : 0)
            }
            for (j, o) in tx.outputs.enumerated() { values[OutPoint(txid: txid, index: UInt32(j))] = o.value }
        }
        return fees
    }

    static func insertCoin(_ db: Database, _ op: OutPoint, _ coin: Coin) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO utxo VALUES (?, ?, ?, ?, ?, ?)", arguments: [
            Data(op.txid.bytes), op.index, Int64(coin.output.value), Data(coin.output.publicKey), coin.height, coin.isCoinbase])
    }

    /// tx and addr rows for a connected block.
    static func indexTransactions(_ db: Database, _ block: Block, height: Int, fees: [Amount], spent: [SpentCoin]) throws {
        var coins = [OutPoint: TxOutput]()
        for s in spent { coins[s.outpoint] = s.coin.output }
        let blockHash = Data(block.hash.bytes)
        for (pos, tx) in block.transactions.enumerated() {
            let txid = tx.txid
            try db.execute(sql: "INSERT OR REPLACE INTO tx VALUES (?, ?, ?, ?, ?)",
                           arguments: [Data(txid.bytes), blockHash, height, pos, Int64(fees[pos])])
            var perKey = [[UInt8]: (fundedN: Int, funded: UInt64, spentN: Int, spent: UInt64)]()
            for o in tx.outputs {
                var e = perKey[o.publicKey] ?? (0, 0, 0, 0)
                e.fundedN += 1; e.funded += o.value
                perKey[o.publicKey] = e
            }
            if pos > 0 {
                for input in tx.inputs {
                    guard let o = coins[input.previousOutput] else { continue }
                    var e = perKey[o.publicKey] ?? (0, 0, 0, 0)
                    e.spentN += 1; e.spent += o.value
                    perKey[o.publicKey] = e
                }
            }
            for (key, e) in perKey {
                try db.execute(sql: "INSERT OR REPLACE INTO addr VALUES (?, ?, ?, ?, ?, ?, ?, ?)", arguments: [
                    Data(key), height, pos, Data(txid.bytes), e.fundedN, Int64(e.funded), e.spentN, Int64(e.spent)])
            }
            for (j, o) in tx.outputs.enumerated() { coins[OutPoint(txid: txid, index: UInt32(j))] = o }
        }
    }

    private func loadBlock(_ hash: Hash256) async throws -> Block {
        let key = Data(hash.bytes)
        guard let raw = try await db.read({ db in try Data.fetchOne(db, sql: "SELECT raw FROM block WHERE hash = ?", arguments: [key]) }) else {
            throw ChainStoreError.corrupt("block \(hash.hex) missing")
        }
        return try Block(bytes: Array(raw))
    }

    private func loadBlockAndUndo(_ hash: Hash256) async throws -> (Block, [SpentCoin]) {
        let block = try await loadBlock(hash)
        let key = Data(hash.bytes)
        guard let raw = try await db.read({ db in try Data.fetchOne(db, sql: "SELECT raw FROM undo WHERE hash = ?", arguments: [key]) }) else {
            throw ChainStoreError.corrupt("undo data of \(hash.hex) missing")
        }
        return (block, try UndoCoding.decode(Array(raw)))
    }

    func fetchCoins(_ outpoints: [OutPoint]) async throws -> [OutPoint: Coin] {
        guard !outpoints.isEmpty else { return [:] }
        let keys = outpoints.map { (Data($0.txid.bytes), $0.index) }
        return try await db.read { db in
            var out = [OutPoint: Coin]()
            let stmt = try db.cachedStatement(sql: "SELECT value, pubkey, height, coinbase FROM utxo WHERE txid = ? AND idx = ?")
            for (i, k) in keys.enumerated() {
                if let row = try Row.fetchOne(stmt, arguments: [k.0, k.1]) {
                    let value: Int64 = row["value"]
                    let key: Data = row["pubkey"]
                    out[outpoints[i]] = Coin(output: TxOutput(value: UInt64(value), publicKey: Array(key)),
                                             height: row["height"], isCoinbase: row["coinbase"])
                }
            }
            return out
        }
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

/// The UTXO view a branch is validated against: prefetched coins from the
/// database plus the changes of the blocks disconnected and connected so far.
struct OverlayView: CoinView {
    var base: [OutPoint: Coin] = [:]
    private var changes: [OutPoint: Coin?] = [:]

    func coin(_ outpoint: OutPoint) -> Coin? {
        if let change = changes[outpoint] { return change }
        return base[outpoint]
    }

    func knows(_ outpoint: OutPoint) -> Bool { changes[outpoint] != nil || base[outpoint] != nil }
    mutating func put(_ op: OutPoint, _ coin: Coin) { changes[op] = .some(coin) }
    mutating func remove(_ op: OutPoint) { changes[op] = .some(nil) }
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
