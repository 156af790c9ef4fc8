@testable import APIEdge
import ChainCore
import Foundation
import HummingbirdTesting
import NodeKit
import Testing

/// "Spent by" (Esplora's outspends) and the projected blocks (mempool.space's mempool-blocks),
/// against the fake services.
@Suite("Outspends and projected blocks")
struct OutspendTests {
    @Test func outspendsInEsplorasShape() async throws {
        try await Stack.with { s in
            let f = s.fixture
            let coinbase1 = f.blocks[1].transactions[0].txid.hex
            let coinbase2 = f.blocks[2].transactions[0].txid.hex
            try await s.http { c in
                // Spent in a block: {spent, txid, vin, status} with the block.
                let confirmed = try await c.execute(uri: "/api/tx/\(coinbase1)/outspends", method: .get)
                #expect(confirmed.status == .ok)
                let list = confirmed.json as? [[String: Any]] ?? []
                #expect(list.count == 1)
                #expect(Set(list.first?.keys ?? [String: Any]().keys) == ["spent", "txid", "vin", "status"])
                #expect(list.first?["spent"] as? Bool == true)
                #expect(list.first?["txid"] as? String == f.payment.txid.hex)
                #expect(list.first?["vin"] as? Int == 0)
                let status = list.first?["status"] as? [String: Any]
                #expect(status?["confirmed"] as? Bool == true && status?["block_height"] as? Int == 4)
                #expect(status?["block_hash"] as? String == f.tip.hash.hex)
                // Spent by a mempool transaction: unconfirmed status.
                let one = try await c.execute(uri: "/api/tx/\(coinbase2)/outspend/0", method: .get).object
                #expect(one["spent"] as? Bool == true && one["txid"] as? String == f.pending.txid.hex)
                #expect((one["status"] as? [String: Any]).map { Set($0.keys) } == ["confirmed"])
                // Unspent outputs: {spent: false} only; a pending transaction's too.
                let unspent = try await c.execute(uri: "/api/tx/\(f.payment.txid.hex)/outspends", method: .get).json as? [[String: Any]]
                #expect(unspent?.count == 2)
                #expect(unspent?.allSatisfy { $0.count == 1 && $0["spent"] as? Bool == false } == true)
                let pending = try await c.execute(uri: "/api/tx/\(f.pending.txid.hex)/outspend/1", method: .get).object
                #expect(pending.count == 1 && pending["spent"] as? Bool == false)
            }
        }
    }

    @Test func badInputIsAClearError() async throws {
        try await Stack.with { s in
            let f = s.fixture
            try await s.http { c in
                let badTxid = try await c.execute(uri: "/api/tx/xyz/outspends", method: .get)
                #expect(badTxid.status == .badRequest)
                #expect((badTxid.object["error"] as? [String: Any])?["code"] as? String == "bad-txid")
                let badVout = try await c.execute(uri: "/api/tx/\(f.payment.txid.hex)/outspend/-1", method: .get)
                #expect(badVout.status == .badRequest)
                #expect((badVout.object["error"] as? [String: Any])?["code"] as? String == "bad-vout")
                let pastEnd = try await c.execute(uri: "/api/tx/\(f.payment.txid.hex)/outspend/2", method: .get)
                #expect(pastEnd.status == .notFound)
                #expect(((pastEnd.object["error"] as? [String: Any])?["message"] as? String ?? "").contains("no output 2"))
                let unknown = try await c.execute(uri: "/api/tx/\(String(repeating: "ab", count: 32))/outspends", method: .get)
                #expect(unknown.status == .notFound)
                #expect((unknown.object["error"] as? [String: Any])?["code"] as? String == "not-found")
            }
        }
    }

    @Test func projectedBlocksAndAPendingTransactionsPlace() async throws {
        try await Stack.with { s in
            let f = s.fixture
            try await s.http { c in
                let blocks = try await c.execute(uri: "/api/v1/fees/mempool-blocks", method: .get).json as? [[String: Any]] ?? []
                #expect(blocks.count == 1)
                #expect(Set(blocks.first?.keys ?? [String: Any]().keys) == ["blockSize", "blockVSize", "nTx", "totalFees", "medianFee", "feeRange"])
                #expect(blocks.first?["nTx"] as? Int == 1 && blocks.first?["totalFees"] as? Int == 10_000)
                #expect((blocks.first?["feeRange"] as? [Double])?.count == 7)
                let place = try await c.execute(uri: "/api/mempool/position/\(f.pending.txid.hex)", method: .get).object
                #expect(place["block"] as? Int == 0 && place["blocks"] as? Int == 1 && place["txid"] as? String == f.pending.txid.hex)
                #expect(try await c.execute(uri: "/api/mempool/position/\(f.payment.txid.hex)", method: .get).status == .notFound)
                #expect(try await c.execute(uri: "/api/mempool/position/nothex", method: .get).status == .badRequest)
            }
        }
    }

    @Test func chartSeries() async throws {
        try await Stack.with { s in
            try await s.http { c in
                let blocks = try await c.execute(uri: "/api/charts/blocks/2", method: .get).json as? [[String: Any]] ?? []
                #expect(blocks.map { $0["height"] as? Int } == [3, 4])
                #expect(Set(blocks.first?.keys ?? [String: Any]().keys) == ["height", "timestamp", "size", "tx_count", "fees", "difficulty", "work"])
                #expect(blocks.last?["fees"] as? Int == 5_000)
                #expect(try await c.execute(uri: "/api/charts/blocks/0", method: .get).status == .badRequest)
                #expect(try await c.execute(uri: "/api/charts/blocks/many", method: .get).status == .badRequest)
                let hour = try await c.execute(uri: "/api/charts/mempool/3600", method: .get).json as? [[String: Any]] ?? []
                #expect(hour.count == 1 && hour.first?["count"] as? Int == 1)
                #expect(Set(hour.first?.keys ?? [String: Any]().keys) == ["time", "count", "vsize", "total_fee", "next_block_median_fee", "next_block_min_fee"])
                #expect((try await c.execute(uri: "/api/charts/mempool/86400", method: .get).json as? [Any])?.count == 2)
                #expect(try await c.execute(uri: "/api/charts/mempool/86401", method: .get).status == .badRequest)
            }
        }
    }
}
