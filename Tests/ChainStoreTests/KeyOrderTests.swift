import ChainCore
import Foundation
import GRDB
import Testing
@testable import ChainStore

/// The connect path writes each table's rows in the table's key order; the comparators that sort
/// them must give SQLite's own order (BLOBs by `memcmp`, a shorter prefix first, then INTEGER).
/// Checked against `ORDER BY` on the same keys.
@Suite struct KeyOrderTests {
    @Test func blobsAndOutpointsSortAsSQLiteOrdersThem() throws {
        var rng = SystemRandomNumberGenerator()
        // Blobs of 0-5 bytes from a small alphabet (many shared prefixes and equal ones), and 32-byte ones.
        var blobs = (0..<400).map { _ in Data((0..<Int.random(in: 0...5, using: &rng)).map { _ in [0, 1, 0x7F, 0x80, 0xFF].randomElement(using: &rng)! }) }
        blobs += (0..<200).map { _ in Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }) }
        // Outpoints: some txids share their first words, indexes repeat.
        let txids = (0..<50).map { _ in Hash256(bytes: (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }) }
        var outpoints = [OutPoint]()
        for t in txids {
            outpoints.append(OutPoint(txid: t, index: UInt32.random(in: 0...3, using: &rng)))
            var shared = t.bytes
            shared[31] &+= 1  // the same first 31 bytes
            outpoints.append(OutPoint(txid: Hash256(bytes: shared), index: .max))
            outpoints.append(OutPoint(txid: t, index: UInt32.random(in: 4...1_000, using: &rng)))
        }

        let db = try DatabaseQueue()
        let (byBlob, byOutpoint) = try db.write { db in
            try db.execute(sql: "CREATE TABLE b (k BLOB NOT NULL, n INTEGER NOT NULL)")
            try db.execute(sql: "CREATE TABLE o (txid BLOB NOT NULL, idx INTEGER NOT NULL, n INTEGER NOT NULL)")
            for (n, b) in blobs.enumerated() { try db.execute(sql: "INSERT INTO b VALUES (?, ?)", arguments: [b, n]) }
            for (n, o) in outpoints.enumerated() {
                try db.execute(sql: "INSERT INTO o VALUES (?, ?, ?)", arguments: [Data(o.txid.bytes), Int64(o.index), n])
            }
            return (try Data.fetchAll(db, sql: "SELECT k FROM b ORDER BY k"),
                    try Int.fetchAll(db, sql: "SELECT n FROM o ORDER BY txid, idx").map { outpoints[$0] })
        }
        #expect(blobs.sorted { ChainStorage.lexicographic($0, $1) } == byBlob)
        #expect(outpoints.sorted(by: ChainStorage.keyOrder) == byOutpoint)
        // The INTEGER tie-break (the addr rows' position after their public key).
        #expect(ChainStorage.lexicographic(Data([1]), Data([1]), 2, 3) && !ChainStorage.lexicographic(Data([1]), Data([1]), 3, 3))
        #expect(ChainStorage.lexicographic([UInt8]([1]), [UInt8]([1, 0]), 9, 0))
    }
}
