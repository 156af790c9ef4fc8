import BigInt
import ChainCore
import Foundation
import GRDB
import NodeKit
import SQLiteSupport

/// Every statement the chain's writer (`Chain`) runs against chain.sqlite (the tables are
/// described in `Schema`). Each function runs inside a transaction its caller opened, so a
/// block's connection, with its UTXO changes, indexes, undo data and trace, commits as one.
/// Reads for the API are elsewhere (`ChainQueries`, `PeerQueries`).
enum ChainStorage {
    // MARK: opening

    /// Writes the genesis block into an empty database, or checks that a used one holds this network's chain.
    static func initialize(_ db: Database, params: ChainParams, now: Double) throws {
        let genesisHash = Data(params.genesisHash.bytes)
        if let stored = try Data.fetchOne(db, sql: "SELECT hash FROM active WHERE height = 0") {
            guard stored == genesisHash else {
                throw ChainStoreError.wrongNetwork("this data folder holds another network's chain")
            }
            return
        }
        let g = params.genesis
        try db.execute(sql: "INSERT INTO header VALUES (?, ?, 0, ?, ?, ?, ?, 1, ?)", arguments: [
            genesisHash, Data(Hash256.zero.bytes), Data(CompactTarget.workBytes(CompactTarget.work(bits: g.header.bits))),
            Data(g.header.encoded), Schema.Status.connected.rawValue, g.encodedSize, now])
        try db.execute(sql: "INSERT INTO block VALUES (?, ?)", arguments: [genesisHash, Data(g.encoded)])
        try db.execute(sql: "INSERT INTO active VALUES (0, ?)", arguments: [genesisHash])
        try db.execute(sql: "INSERT INTO meta VALUES ('network', ?), ('supply', 0)", arguments: [params.network.rawValue])
    }

    /// Every header known, the best chain by height, and the coin supply.
    static func load(_ db: Database) throws -> (entries: [HeaderEntry], active: [Hash256], supply: UInt64) {
        var entries = [HeaderEntry]()
        for row in try Row.fetchAll(db, sql: "SELECT hash, height, work, raw, status, size, tx_count FROM header") {
            let raw: Data = row["raw"]
            let work: Data = row["work"]
            entries.append(HeaderEntry(hash: Hash256(bytes: Array(row["hash"] as Data)), header: try BlockHeader(bytes: Array(raw)),
                                       height: row["height"], work: CompactTarget.work(fromBytes: Array(work)),
                                       status: Schema.Status(rawValue: row["status"]) ?? .stored,
                                       size: row["size"], txCount: row["tx_count"]))
        }
        let active = try Data.fetchAll(db, sql: "SELECT hash FROM active ORDER BY height").map { Hash256(bytes: Array($0)) }
        let supply = try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'supply'") ?? 0
        return (entries, active, UInt64(supply))
    }

    // MARK: writing

    /// A block that passed the context-free and header checks: header (status `stored`) and body.
    static func store(_ db: Database, entry: HeaderEntry, block: Block, receivedAt: Double) throws {
        let hash = Data(entry.hash.bytes)
        try db.execute(sql: "INSERT OR IGNORE INTO header VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", arguments: [
            hash, Data(entry.header.previousHash.bytes), entry.height, Data(CompactTarget.workBytes(entry.work)),
            Data(entry.header.encoded), Schema.Status.stored.rawValue, entry.size, entry.txCount, receivedAt])
        try db.execute(sql: "INSERT OR IGNORE INTO block VALUES (?, ?)", arguments: [hash, Data(block.encoded)])
    }

    /// Takes the best chain's block at `height` off it: its coins go, the coins it spent come back
    /// from its undo data, its index rows go (each by its own key: the block and its undo data name
    /// them all). Returns what its coinbase paid and the fees it collected, for the supply.
    static func disconnect(_ db: Database, block: Block, height: Int) throws -> (coinbase: UInt64, fees: UInt64) {
        let hash = Data(block.hash.bytes)
        let undoRaw = try Data.fetchOne(db, sql: "SELECT raw FROM undo WHERE hash = ?", arguments: [hash])
        // Only a block of its coinbase alone spends nothing; any other without its undo data cannot
        // be taken off (its spent coins and index rows would be lost): refused, the commit rolled back.
        guard undoRaw != nil || block.transactions.count == 1 else { throw ChainStorage.MissingUndo(block: block.hash.hex) }
        let spent = try UndoCoding.decode(Array(undoRaw ?? Data()))
        let fees = try Self.fees(of: block, spent: spent)
        let deleteCoins = try db.cachedStatement(sql: "DELETE FROM utxo WHERE txid = ?")
        let deleteTx = try db.cachedStatement(sql: "DELETE FROM tx WHERE txid = ?")
        let txids = block.txids.sorted { keyOrder(OutPoint(txid: $0, index: 0), OutPoint(txid: $1, index: 0)) }.map { Data($0.bytes) }
        for key in txids {
            try deleteCoins.execute(arguments: [key])
            try deleteTx.execute(arguments: [key])
        }
        try insertCoins(db, spent.map { ($0.outpoint, $0.coin) })
        // The addr rows at this height: those of the keys its outputs pay and its inputs spend from.
        var keys = Set<[UInt8]>()
        for tx in block.transactions { for o in tx.outputs { keys.insert(o.publicKey) } }
        for s in spent { keys.insert(s.coin.output.publicKey) }
        let deleteAddr = try db.cachedStatement(sql: "DELETE FROM addr WHERE pubkey = ? AND height = ?")
        for key in keys.map({ Data($0) }).sorted(by: { lexicographic($0, $1) }) {
            try deleteAddr.execute(arguments: [key, height])
        }
        try SpendIndex.forget(db, block)
        try db.execute(sql: "DELETE FROM active WHERE height = ?", arguments: [height])
        try db.execute(sql: "DELETE FROM undo WHERE hash = ?", arguments: [hash])
        return (block.transactions[0].outputs.reduce(0) { $0 + $1.value }, fees)
    }

    /// The fees `block` collected: what its inputs spent less what its transactions pay out (no scan
    /// of the tx table, which has no index on the block). `spent` is its undo data, which holds the
    /// coins it took from the UTXO set; a coin an earlier transaction of the same block created and a
    /// later one spent never was in the set, so its value comes from the block itself.
    /// Undo data that spends less than the block pays out is damage, reported, never a trap.
    static func fees(of block: Block, spent: [SpentCoin]) throws -> UInt64 {
        var created = [Hash256: Transaction](minimumCapacity: block.transactions.count)
        for tx in block.transactions { created[tx.txid] = tx }
        func add(_ a: UInt64, _ b: UInt64) throws -> UInt64 {
            let (sum, overflow) = a.addingReportingOverflow(b)
            guard !overflow else { throw ChainStoreError.corrupt("block \(block.hash.hex): its values add up past 2^64") }
            return sum
        }
        var inputs = UInt64(0)
        for s in spent { inputs = try add(inputs, s.coin.output.value) }
        var outputs = UInt64(0)
        for tx in block.transactions.dropFirst() {
            for input in tx.inputs {
                if let parent = created[input.previousOutput.txid], Int(input.previousOutput.index) < parent.outputs.count {
                    inputs = try add(inputs, parent.outputs[Int(input.previousOutput.index)].value)
                }
            }
            for o in tx.outputs { outputs = try add(outputs, o.value) }
        }
        guard inputs >= outputs else {
            throw ChainStoreError.corrupt("block \(block.hash.hex): its undo data and in-block spends (\(inputs)) are less than it pays out (\(outputs))")
        }
        return inputs - outputs
    }

    /// The supply after adding `plus` and taking `minus` (a block's coinbase and fees, one way or the
    /// other). Out of UInt64's range only with damaged stored data: reported, never a trap (a trap
    /// here would stop the chain store again at every restart).
    static func supply(_ supply: UInt64, plus: UInt64, minus: UInt64) throws -> UInt64 {
        let (raised, over) = supply.addingReportingOverflow(plus)
        let (result, under) = raised.subtractingReportingOverflow(minus)
        guard !over, !under else {
            throw ChainStoreError.corrupt("the supply \(supply) + \(plus) - \(minus) leaves the range of UInt64")
        }
        return result
    }

    /// Puts a validated block on the best chain at `height`: spends and creates its coins, keeps
    /// its undo data, indexes its transactions, addresses and spends, and marks it connected.
    /// `txids` are the block's. Every statement is prepared once and reused, and each table's rows
    /// go in its key order (each lands next to the one before in the B-tree).
    static func connect(_ db: Database, entry: HeaderEntry, block: Block, txids: [Hash256], connection: BlockConnection, fees: [Amount]) throws {
        let hash = Data(entry.hash.bytes)
        let delete = try db.cachedStatement(sql: "DELETE FROM utxo WHERE txid = ? AND idx = ?")
        for op in connection.spent.map(\.outpoint).sorted(by: keyOrder) {
            try BulkInsert.run(db, delete) { $0.blob(op.txid); $0.int(Int64(op.index)) }
        }
        try insertCoins(db, connection.created.map { ($0.outpoint, $0.coin) })
        try db.execute(sql: "INSERT OR REPLACE INTO undo VALUES (?, ?)", arguments: [hash, Data(UndoCoding.encode(connection.spent))])
        try indexTransactions(db, block, txids: txids, height: entry.height, fees: fees, spent: connection.spent)
        try SpendIndex.record(db, block, txids: txids, height: entry.height)
        try db.execute(sql: "INSERT INTO active VALUES (?, ?)", arguments: [entry.height, hash])
        try db.execute(sql: "UPDATE header SET status = ? WHERE hash = ?", arguments: [Schema.Status.connected.rawValue, hash])
    }

    /// A best-chain block with spends but no undo row: the store is damaged, nothing is changed.
    struct MissingUndo: Error, CustomStringConvertible {
        let block: String
        var description: String { "block \(block) has no undo data: it cannot be disconnected" }
    }

    /// Byte order then number order: SQLite's order of a (BLOB, INTEGER) key (its BLOBs compare
    /// with `memcmp`, a shorter prefix first). On the connect path (thousands of comparisons a
    /// block), so a `memcmp` of the bytes in place, not an iteration.
    static func lexicographic(_ a: some ContiguousBytes, _ b: some ContiguousBytes, _ i: Int64 = 0, _ j: Int64 = 0) -> Bool {
        let c = a.withUnsafeBytes { x in
            b.withUnsafeBytes { y -> Int32 in
                let n = min(x.count, y.count)
                if n > 0, case let r = memcmp(x.baseAddress!, y.baseAddress!, n), r != 0 { return r }
                return x.count == y.count ? 0 : (x.count < y.count ? -1 : 1)
            }
        }
        return c != 0 ? c < 0 : i < j
    }

    /// Two outpoints in the order of a (txid BLOB, idx INTEGER) key, without making the txids'
    /// bytes: a txid's words are little-endian loads of its bytes, so their byte-swapped values
    /// compare as the bytes do.
    static func keyOrder(_ a: OutPoint, _ b: OutPoint) -> Bool {
        let x = a.txid, y = b.txid
        if x.w0 != y.w0 { return x.w0.byteSwapped < y.w0.byteSwapped }
        if x.w1 != y.w1 { return x.w1.byteSwapped < y.w1.byteSwapped }
        if x.w2 != y.w2 { return x.w2.byteSwapped < y.w2.byteSwapped }
        if x.w3 != y.w3 { return x.w3.byteSwapped < y.w3.byteSwapped }
        return a.index < b.index
    }

    /// Writes `coins` to `utxo` (OR REPLACE), in the table's key order.
    static func insertCoins(_ db: Database, _ coins: [(OutPoint, Coin)]) throws {
        let sorted = coins.sorted { keyOrder($0.0, $1.0) }
        try BulkInsert.rows(db, "INSERT OR REPLACE INTO utxo VALUES", width: 6, count: sorted.count) { row, i in
            let (op, coin) = sorted[i]
            row.blob(op.txid); row.int(Int64(op.index)); row.int(Int64(coin.output.value))
            row.blob(coin.output.publicKey); row.int(coin.height); row.bool(coin.isCoinbase)
        }
    }

    static func setSupply(_ db: Database, _ supply: UInt64) throws {
        try db.execute(sql: "UPDATE meta SET value = ? WHERE key = 'supply'", arguments: [Int64(supply)])
    }

    static func markInvalid(_ db: Database, _ hashes: [Hash256]) throws {
        let update = try db.cachedStatement(sql: "UPDATE header SET status = ? WHERE hash = ?")
        for h in hashes {
            try update.execute(arguments: [Schema.Status.invalid.rawValue, Data(h.bytes)])
        }
    }

    /// One step of a path, as `gettrace` reads it back: the same event the chain store publishes.
    static func record(_ db: Database, _ events: [TraceEvent]) throws {
        try BulkInsert.rows(db, "INSERT INTO trace VALUES", width: 6, count: events.count) { row, i in
            let e = events[i]
            row.text(e.id); row.text(e.kind.rawValue); row.text(e.stage.rawValue); row.text(e.service)
            row.double(e.time); row.text(e.detail)
        }
    }

    // MARK: trace

    /// Every stored trace row of `id` (display hex), in the order stored.
    static func storedTrace(_ db: Database, _ id: String) throws -> [TraceEvent] {
        try Row.fetchAll(db, sql: ChainQueries.traceSQL, arguments: [String(id.prefix(16)), id]).compactMap {
            TraceEvent(id: $0["id"], kind: $0["kind"], stage: $0["stage"], service: $0["service"], time: $0["time"], detail: $0["detail"])
        }
    }

    /// The `connected` event of the transaction `txid` (display hex) while it is on the best chain:
    /// made from its `tx` row and its block's last stored `connected` event (the block's current
    /// place on the best chain), as `ChainTrace.connected` published it. Nil when it is not on the
    /// best chain.
    static func derivedConnected(_ db: Database, txid: String) throws -> TraceEvent? {
        guard let hash = Hash256(hex: txid),
              let row = try Row.fetchOne(db, sql: "SELECT block, height, position FROM tx WHERE txid = ?", arguments: [Data(hash.bytes)])
        else { return nil }
        let block = Hash256(bytes: Array(row["block"] as Data)).hex
        guard let blockEvent = try storedTrace(db, block).last(where: { $0.kind == .block && $0.stage == .connected }) else { return nil }
        return ChainTrace.transactionConnected(txid: hash.hex, position: row["position"], height: row["height"], blockEvent: blockEvent)
    }

    /// Before `block` (at `height`) leaves the best chain: its transactions' `connected` events,
    /// derived until now from its tx rows, are written out, so the trace keeps them. Not when
    /// they were stored at its connection already (by a build before they were derived).
    static func keepConnectedTrace(_ db: Database, block: Block, height: Int) throws {
        guard let blockEvent = try storedTrace(db, block.hash.hex).last(where: { $0.kind == .block && $0.stage == .connected }) else { return }
        let txids = block.txids.map(\.hex)
        let events = txids.enumerated().compactMap { pos, txid in
            ChainTrace.transactionConnected(txid: txid, position: pos, height: height, blockEvent: blockEvent)
        }
        guard let first = events.first, try !storedTrace(db, first.id).contains(first) else { return }
        try record(db, events)
    }

    /// tx and addr rows for a connected block (`txids` are its).
    static func indexTransactions(_ db: Database, _ block: Block, txids: [Hash256], height: Int, fees: [Amount], spent: [SpentCoin]) throws {
        var coins = [OutPoint: TxOutput](minimumCapacity: spent.count)
        for s in spent { coins[s.outpoint] = s.coin.output }
        let blockHash = block.hash
        let spans = TxSpans.of(block)
        // Key order: tx by txid, addr by (pubkey, height, position) (each key once in a block; the
        // height is the block's). The keys are sorted before any row is made: a comparison of two
        // rows of `DatabaseValue`s retains and releases its values, and sorting the rows was a
        // tenth of the chain store's CPU under a flood.
        let byTxid = txids.indices.sorted { keyOrder(OutPoint(txid: txids[$0], index: 0), OutPoint(txid: txids[$1], index: 0)) }
        var addrKeys = [(key: [UInt8], pos: Int, fundedN: Int, funded: UInt64, spentN: Int, spent: UInt64)]()
        addrKeys.reserveCapacity(block.transactions.count * 2)
        for (pos, tx) in block.transactions.enumerated() {
            let txid = txids[pos]
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
                addrKeys.append((key, pos, e.fundedN, e.funded, e.spentN, e.spent))
            }
            for (j, o) in tx.outputs.enumerated() { coins[OutPoint(txid: txid, index: UInt32(j))] = o }
        }
        addrKeys.sort { lexicographic($0.key, $1.key, Int64($0.pos), Int64($1.pos)) }
        try BulkInsert.rows(db, "INSERT OR REPLACE INTO addr VALUES", width: 8, count: addrKeys.count) { row, i in
            let a = addrKeys[i]
            row.blob(a.key); row.int(height); row.int(a.pos); row.blob(txids[a.pos])
            row.int(a.fundedN); row.int(Int64(a.funded)); row.int(a.spentN); row.int(Int64(a.spent))
        }
        try BulkInsert.rows(db, "INSERT OR REPLACE INTO tx (txid, block, height, position, fee, start, size) VALUES", width: 7,
                            count: byTxid.count) { row, i in
            let pos = byTxid[i]
            row.blob(txids[pos]); row.blob(blockHash); row.int(height); row.int(pos)
            row.int(Int64(fees[pos])); row.int(spans[pos].start); row.int(spans[pos].size)
        }
    }

    // MARK: reading (for the writer's own validation)

    static func block(_ db: Database, _ hash: Hash256) throws -> Data? {
        try Data.fetchOne(db, sql: "SELECT raw FROM block WHERE hash = ?", arguments: [Data(hash.bytes)])
    }

    static func undo(_ db: Database, _ hash: Hash256) throws -> Data? {
        try Data.fetchOne(db, sql: "SELECT raw FROM undo WHERE hash = ?", arguments: [Data(hash.bytes)])
    }

    /// The best chain's unspent coins among `outpoints` (absent ones are left out).
    static func coins(_ db: Database, _ outpoints: [OutPoint]) throws -> [OutPoint: Coin] {
        var out = [OutPoint: Coin]()
        let stmt = try db.cachedStatement(sql: "SELECT value, pubkey, height, coinbase FROM utxo WHERE txid = ? AND idx = ?")
        for op in outpoints {
            if let row = try Row.fetchOne(stmt, arguments: [Data(op.txid.bytes), op.index]) {
                let value: Int64 = row[0]
                let key: Data = row[1]
                out[op] = Coin(output: TxOutput(value: UInt64(value), publicKey: Array(key)), height: row[2], isCoinbase: row[3])
            }
        }
        return out
    }
}
