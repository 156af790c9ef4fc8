import ChainCore
import Foundation
import GRDB
import SQLiteSupport

/// chain.sqlite, owned by this process alone (WAL; one writer, many readers).
///
/// | table  | one row per | notes |
/// |--------|-------------|-------|
/// | header | block header known (best chain, side branches, invalid) | `work` = cumulative chain work, 32 bytes big-endian; `status` 0 stored, 1 connected at least once, 2 invalid |
/// | block  | full block  | canonical encoding |
/// | active | height on the best chain | hash at that height |
/// | utxo   | unspent output of the best chain | indexed by public key |
/// | undo   | connected block | the coins it spent, to disconnect it |
/// | tx     | transaction on the best chain | block, height, position, fee; `start` and `size` of its bytes in the block's encoding (v3) |
/// | addr   | (public key, transaction) on the best chain | amounts received and spent; no height index (v4) |
/// | spend  | output of a best-chain transaction spent on the best chain | by which input (txid, vin) at which height (v2); no height index (v4) |
/// | trace  | step of a tx/block path seen here | connected, disconnected, mined by; indexed by the id's first 16 hex digits (v5) |
/// | meta   | key | network, supply |
enum Schema {
    static func migrator() -> DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE header (
                    hash BLOB PRIMARY KEY NOT NULL,
                    prev BLOB NOT NULL,
                    height INTEGER NOT NULL,
                    work BLOB NOT NULL,
                    raw BLOB NOT NULL,
                    status INTEGER NOT NULL,
                    size INTEGER NOT NULL,
                    tx_count INTEGER NOT NULL,
                    received_at REAL NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE block (hash BLOB PRIMARY KEY NOT NULL, raw BLOB NOT NULL) WITHOUT ROWID;
                CREATE TABLE active (height INTEGER PRIMARY KEY NOT NULL, hash BLOB NOT NULL UNIQUE);
                CREATE TABLE utxo (
                    txid BLOB NOT NULL, idx INTEGER NOT NULL,
                    value INTEGER NOT NULL, pubkey BLOB NOT NULL,
                    height INTEGER NOT NULL, coinbase INTEGER NOT NULL,
                    PRIMARY KEY (txid, idx)
                ) WITHOUT ROWID;
                CREATE INDEX utxo_pubkey ON utxo(pubkey);
                CREATE TABLE undo (hash BLOB PRIMARY KEY NOT NULL, raw BLOB NOT NULL) WITHOUT ROWID;
                CREATE TABLE tx (
                    txid BLOB PRIMARY KEY NOT NULL, block BLOB NOT NULL,
                    height INTEGER NOT NULL, position INTEGER NOT NULL, fee INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX tx_height ON tx(height);
                CREATE TABLE addr (
                    pubkey BLOB NOT NULL, height INTEGER NOT NULL, position INTEGER NOT NULL,
                    txid BLOB NOT NULL,
                    funded_n INTEGER NOT NULL, funded INTEGER NOT NULL,
                    spent_n INTEGER NOT NULL, spent INTEGER NOT NULL,
                    PRIMARY KEY (pubkey, height, position)
                ) WITHOUT ROWID;
                CREATE INDEX addr_height ON addr(height);
                CREATE TABLE trace (
                    id TEXT NOT NULL, kind TEXT NOT NULL, stage TEXT NOT NULL,
                    service TEXT NOT NULL, time REAL NOT NULL, detail TEXT
                );
                CREATE INDEX trace_id ON trace(id);
                CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value) WITHOUT ROWID;
                """)
        }
        // v2: the spend index ("spent by" of Esplora's /tx/:txid/outspends). Filled from the best
        // chain's stored blocks for a data folder made before it existed.
        m.registerMigration("v2-spend") { db in
            try db.execute(sql: """
                CREATE TABLE spend (
                    txid BLOB NOT NULL, idx INTEGER NOT NULL,
                    spender BLOB NOT NULL, vin INTEGER NOT NULL, height INTEGER NOT NULL,
                    PRIMARY KEY (txid, idx)
                ) WITHOUT ROWID;
                CREATE INDEX spend_height ON spend(height);
                """)
            let rows = try Row.fetchCursor(db, sql: """
                SELECT active.height AS height, block.raw AS raw FROM active JOIN block ON block.hash = active.hash
                WHERE active.height > 0 ORDER BY active.height
                """)
            while let row = try rows.next() {
                try SpendIndex.record(db, try Block(bytes: Array(row["raw"] as Data)), height: row["height"])
            }
        }
        // v3: where each indexed transaction lies in its block's stored encoding (`start`, bytes from
        // the block's first byte, and `size`), so a lookup reads its bytes alone instead of decoding
        // the whole block. Filled from the best chain's stored blocks for a data folder made before it.
        m.registerMigration("v3-tx-span") { db in
            try db.execute(sql: "ALTER TABLE tx ADD COLUMN start INTEGER; ALTER TABLE tx ADD COLUMN size INTEGER")
            let update = try db.cachedStatement(sql: "UPDATE tx SET start = ?, size = ? WHERE txid = ? AND block = ?")
            let rows = try Row.fetchCursor(db, sql: """
                SELECT active.hash AS hash, block.raw AS raw FROM active JOIN block ON block.hash = active.hash ORDER BY active.height
                """)
            while let row = try rows.next() {
                let hash: Data = row["hash"]
                let block = try Block(bytes: Array(row["raw"] as Data))
                for (tx, span) in zip(block.transactions, TxSpans.of(block)) {
                    try update.execute(arguments: [span.start, span.size, Data(tx.txid.bytes), hash])
                }
            }
        }
        // v4: no height indexes on addr and spend. Their only use was a disconnect deleting a block's
        // rows by height; it now deletes them by their own keys (the block's public keys at its
        // height, the outpoints its inputs spend), which the block and its undo data give. Two
        // fewer index rows written per row at every connect.
        m.registerMigration("v4-no-height-indexes") { db in
            try db.execute(sql: "DROP INDEX IF EXISTS addr_height; DROP INDEX IF EXISTS spend_height")
        }
        // v5: the trace index keys the id's first 16 hex digits, as the mempool's does (issue 11).
        // A connected block writes a row per transaction; with the whole 64-digit id, the index's
        // entries were three times the size, its random inserts dirtying three times the pages.
        // Sixteen digits still tell ids apart but for one in 2^64 (the query checks the whole id).
        m.registerMigration("v5-trace-key") { db in
            try db.execute(sql: "DROP INDEX IF EXISTS trace_id; CREATE INDEX trace_key ON trace(substr(id, 1, 16))")
        }
        return m
    }

    enum Status: Int {
        case stored = 0
        case connected = 1
        case invalid = 2
    }
}

/// The spend table, kept in the same write transaction as the UTXO set: a block's rows are
/// written when it is connected and deleted when it is disconnected (by the outpoints its inputs
/// spend: the best chain spends an outpoint once), so a reorganisation leaves exactly the new
/// branch's spends.
enum SpendIndex {
    /// `txids`, when given, are the block's.
    static func record(_ db: Database, _ block: Block, txids: [Hash256]? = nil, height: Int) throws {
        let txids = txids ?? block.txids
        var spends = [(outpoint: OutPoint, spender: Int, vin: Int)]()
        for (position, tx) in block.transactions.enumerated().dropFirst() {
            for (vin, input) in tx.inputs.enumerated() { spends.append((input.previousOutput, position, vin)) }
        }
        // In key order (sorted by outpoint before the rows are made): each row lands next to the one before in the B-tree.
        spends.sort { ChainStorage.keyOrder($0.outpoint, $1.outpoint) }
        try BulkInsert.rows(db, "INSERT OR REPLACE INTO spend VALUES", width: 5, count: spends.count) { row, i in
            let s = spends[i]
            row.blob(s.outpoint.txid); row.int(Int64(s.outpoint.index)); row.blob(txids[s.spender]); row.int(s.vin); row.int(height)
        }
    }

    /// Deletes the rows `record` wrote for `block`.
    static func forget(_ db: Database, _ block: Block) throws {
        let spent = block.transactions.dropFirst().flatMap { $0.inputs.map(\.previousOutput) }.sorted(by: ChainStorage.keyOrder)
        let delete = try db.cachedStatement(sql: "DELETE FROM spend WHERE txid = ? AND idx = ?")
        for op in spent { try delete.execute(arguments: [Data(op.txid.bytes), Int64(op.index)]) }
    }
}

/// Where each transaction of a block lies in its encoding (as stored in `block.raw`): the byte it
/// starts at and its length, in order. The tx index keeps them, so a lookup reads one transaction's
/// bytes (`ChainQueries.transaction`).
enum TxSpans {
    static func of(_ block: Block) -> [(start: Int, size: Int)] {
        var at = BlockHeader.size + ByteWriter.compactSizeLength(block.transactions.count)
        return block.transactions.map { tx in
            let size = tx.encodedSize
            defer { at += size }
            return (at, size)
        }
    }
}
