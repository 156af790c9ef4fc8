@testable import APIEdge
import ChainCore
import Foundation
import Hummingbird
import HummingbirdTesting
import NodeKit
import Testing

@Suite("Esplora routes against fake services")
struct RouteTests {
    @Test func blocks() async throws {
        try await Stack.with { s in
            let f = s.fixture
            try await s.http { c in
                #expect(try await c.execute(uri: "/api/blocks/tip/height", method: .get).text == "4")
                let tipHash = try await c.execute(uri: "/api/blocks/tip/hash", method: .get)
                #expect(tipHash.text == f.tip.hash.hex)
                #expect(tipHash.headers[.contentType]?.hasPrefix("text/plain") == true)

                let list = try await c.execute(uri: "/api/blocks", method: .get).array
                #expect(list.map { $0["height"] as? Int } == [4, 3, 2, 1, 0])
                #expect(Set(list[0].keys) == ["id", "height", "version", "timestamp", "tx_count", "size", "merkle_root",
                                              "previousblockhash", "nonce", "bits", "difficulty", "chainwork", "in_best_chain"])
                #expect(list[4]["previousblockhash"] is NSNull)
                #expect(list[0]["previousblockhash"] as? String == f.blocks[3].hash.hex)
                #expect(try await c.execute(uri: "/api/blocks/2", method: .get).array.map { $0["height"] as? Int } == [2, 1, 0])

                let block = try await c.execute(uri: "/api/block/\(f.tip.hash.hex)", method: .get).object
                #expect(block["id"] as? String == f.tip.hash.hex)
                #expect(block["tx_count"] as? Int == 2)
                #expect(block["merkle_root"] as? String == f.tip.header.merkleRoot.hex)
                #expect(block["in_best_chain"] as? Bool == true)

                let status = try await c.execute(uri: "/api/block/\(f.blocks[2].hash.hex)/status", method: .get).object
                #expect(status["in_best_chain"] as? Bool == true)
                #expect(status["height"] as? Int == 2)
                #expect(status["next_best"] as? String == f.blocks[3].hash.hex)
                #expect(try await c.execute(uri: "/api/block/\(f.tip.hash.hex)/status", method: .get).object["next_best"] is NSNull)

                #expect(try await c.execute(uri: "/api/block-height/2", method: .get).text == f.blocks[2].hash.hex)
                #expect(try await c.execute(uri: "/api/block/\(f.tip.hash.hex)/raw", method: .get).text == Hex.encode(f.tip.encoded))
                #expect(try await c.execute(uri: "/api/block/\(f.tip.hash.hex)/txids", method: .get).json as? [String]
                    == f.tip.txids.map(\.hex))

                let txs = try await c.execute(uri: "/api/block/\(f.tip.hash.hex)/txs", method: .get).array
                #expect(txs.count == 2)
                let coinbaseIn = (txs[0]["vin"] as? [[String: Any]])?.first
                #expect(coinbaseIn?["is_coinbase"] as? Bool == true)
                #expect(coinbaseIn?["coinbase"] is String)
                #expect(coinbaseIn?["prevout"] is NSNull)
                #expect(txs[1]["txid"] as? String == f.payment.txid.hex)
                #expect(txs[1]["fee"] as? Int == 5_000)
                let prevout = ((txs[1]["vin"] as? [[String: Any]])?.first?["prevout"]) as? [String: Any]
                #expect(prevout?["address"] as? String == f.alice.address.string)
                #expect((txs[1]["status"] as? [String: Any])?["block_height"] as? Int == 4)
                #expect(try await c.execute(uri: "/api/block/\(f.tip.hash.hex)/txs/1", method: .get).array.count == 1)
                #expect(try await c.execute(uri: "/api/block/\(f.tip.hash.hex)/txs/25", method: .get).array.isEmpty)
            }
        }
    }

    @Test func transactions() async throws {
        try await Stack.with { s in
            let f = s.fixture
            try await s.http { c in
                let confirmed = try await c.execute(uri: "/api/tx/\(f.payment.txid.hex)", method: .get).object
                #expect(Set(confirmed.keys) == ["txid", "version", "size", "fee", "vin", "vout", "status"])
                #expect(confirmed["fee"] as? Int == 5_000)
                #expect(confirmed["size"] as? Int == f.payment.encodedSize)
                let vin = (confirmed["vin"] as? [[String: Any]])?.first
                #expect(vin?["is_coinbase"] as? Bool == false)
                #expect(vin?["signature"] as? String == Hex.encode(f.payment.inputs[0].payload))
                #expect((vin?["prevout"] as? [String: Any])?["value"] as? Int == Int(ChainParams.regtest.subsidy(height: 1)))
                let vout = confirmed["vout"] as? [[String: Any]]
                #expect(vout?.first?["address"] as? String == f.bob.address.string)
                #expect(vout?.first?["pubkey"] as? String == Hex.encode(f.bob.publicKey))
                let status = confirmed["status"] as? [String: Any]
                #expect(status?["confirmed"] as? Bool == true)
                #expect(status?["block_height"] as? Int == 4)
                #expect(status?["block_hash"] as? String == f.tip.hash.hex)
                #expect(status?["block_time"] as? Int == Int(f.tip.header.time))

                let pending = try await c.execute(uri: "/api/tx/\(f.pending.txid.hex)", method: .get).object
                #expect(pending["fee"] as? Int == 10_000)
                #expect((pending["status"] as? [String: Any]).map { Set($0.keys) } == ["confirmed"])
                let pin = (pending["vin"] as? [[String: Any]])?.first?["prevout"] as? [String: Any]
                #expect(pin?["address"] as? String == f.alice.address.string)

                #expect(try await c.execute(uri: "/api/tx/\(f.pending.txid.hex)/status", method: .get).object["confirmed"] as? Bool == false)
                #expect(try await c.execute(uri: "/api/tx/\(f.payment.txid.hex)/hex", method: .get).text == Hex.encode(f.payment.encoded))

                let trace = try await c.execute(uri: "/api/tx/\(f.pending.txid.hex)/trace", method: .get).object
                #expect(trace["txid"] as? String == f.pending.txid.hex)
                let events = trace["events"] as? [[String: Any]] ?? []
                #expect(events.map { $0["stage"] as? String } == ["accepted"])
                #expect(events.first?["service"] as? String == "mempool")
            }
        }
    }

    @Test func addresses() async throws {
        try await Stack.with { s in
            let f = s.fixture
            try await s.http { c in
                let bob = try await c.execute(uri: "/api/address/\(f.bob.address.string)", method: .get).object
                #expect(bob["address"] as? String == f.bob.address.string)
                let chain = bob["chain_stats"] as? [String: Any]
                #expect(chain?["funded_txo_count"] as? Int == 1)
                #expect(chain?["funded_txo_sum"] as? Int == Int(10 * Units.perCoin))
                #expect(chain?["spent_txo_count"] as? Int == 0)
                #expect(chain?["tx_count"] as? Int == 1)
                let pool = bob["mempool_stats"] as? [String: Any]
                #expect(pool?["funded_txo_sum"] as? Int == Int(5 * Units.perCoin))
                #expect(pool?["tx_count"] as? Int == 1)
                let alicePool = try await c.execute(uri: "/api/address/\(f.alice.address.string)", method: .get).object["mempool_stats"] as? [String: Any]
                #expect(alicePool?["spent_txo_count"] as? Int == 1)

                // Alice: confirmed coins minus the one the mempool spends, plus the pending change.
                let utxos = try await c.execute(uri: "/api/address/\(f.alice.address.string)/utxo", method: .get).array
                let spentByPool = f.blocks[2].transactions[0].txid.hex
                #expect(!utxos.contains { $0["txid"] as? String == spentByPool })
                let unconfirmed = utxos.filter { ($0["status"] as? [String: Any])?["confirmed"] as? Bool == false }
                #expect(unconfirmed.map { $0["txid"] as? String } == [f.pending.txid.hex])
                #expect(unconfirmed.first?["vout"] as? Int == 1)
                let confirmed = utxos.filter { ($0["status"] as? [String: Any])?["confirmed"] as? Bool == true }
                #expect(confirmed.count == 3)  // coinbases of blocks 3 and 4 and the change in block 4
                #expect(Set(utxos[0].keys) == ["txid", "vout", "value", "status", "coinbase"])
                // Coinbases are marked (a wallet must wait for them to mature); the change and the pending output are not.
                #expect(confirmed.filter { $0["coinbase"] as? Bool == true }.count == 2)
                #expect(unconfirmed.allSatisfy { $0["coinbase"] as? Bool == false })

                let txs = try await c.execute(uri: "/api/address/\(f.bob.address.string)/txs", method: .get).array
                #expect(txs.map { $0["txid"] as? String } == [f.pending.txid.hex, f.payment.txid.hex])
                let next = try await c.execute(uri: "/api/address/\(f.bob.address.string)/txs/chain/\(f.payment.txid.hex)", method: .get)
                #expect(next.status == .ok)
                #expect(next.array.isEmpty)
                #expect(try await c.execute(uri: "/api/address/\(f.bob.address.string)/txs/mempool", method: .get).array.count == 1)
            }
        }
    }

    @Test func mempoolAndFees() async throws {
        try await Stack.with { s in
            try await s.http { c in
                let m = try await c.execute(uri: "/api/mempool", method: .get).object
                #expect(Set(m.keys) == ["count", "vsize", "total_fee", "fee_histogram"])
                #expect(m["count"] as? Int == 1)
                #expect(m["total_fee"] as? Int == 10_000)
                #expect(try await c.execute(uri: "/api/mempool/txids", method: .get).json as? [String] == [s.fixture.pending.txid.hex])
                let fees = try await c.execute(uri: "/api/fee-estimates", method: .get).object
                #expect(Set(fees.keys) == ["1", "3", "6", "25"])
                // 3.5 MB wait at 2 units/byte: one block needs more than that, 25 blocks only the minimum.
                #expect((fees["1"] as? Double ?? 0) > 2)
                #expect(fees["25"] as? Double == 1)
            }
        }
    }

    @Test func chainNodeMinersHealth() async throws {
        try await Stack.with { s in
            try await s.http { c in
                let chain = try await c.execute(uri: "/api/chain", method: .get).object
                #expect(Set(chain.keys) == ["network", "height", "tip", "tip_time", "difficulty", "bits", "chainwork", "supply",
                                            "supply_crn", "utxo_count", "mempool_size", "mempool_bytes"])
                #expect(chain["network"] as? String == "regtest")
                #expect(chain["height"] as? Int == 4)
                #expect(chain["supply_crn"] as? String == "200.00005000")
                #expect(chain["mempool_size"] as? Int == 1)

                let miners = try await c.execute(uri: "/api/miners", method: .get).array
                #expect(miners.first.map { Set($0.keys) } == ["id", "address", "hashrate", "threads", "last_seen"])

                let node = try await c.execute(uri: "/api/node", method: .get).object
                #expect(node["version"] as? String == "0.1.0")
                let endpoints = node["endpoints"] as? [String: String]
                #expect(endpoints?["chain_rpc"] == s.chain.rpcEndpoint)
                #expect(endpoints?["mempool_pub"] == s.pool.pubEndpoint)

                let health = try await c.execute(uri: "/healthz", method: .get)
                #expect(health.status == .ok)
                #expect(health.object["status"] as? String == "ok")
                let services = health.object["services"] as? [String: [String: Any]]
                #expect(services?["chainstore"]?["ok"] as? Bool == true)
                #expect(services?["chainstore"]?["pid"] as? Int == 4242)
                #expect(services?["mempool"]?["count"] as? Int == 1)
                #expect(services?["edge"]?["tip_height"] as? Int == 4)
                #expect((health.object["miners"] as? [Any])?.count == 1)

                let metrics = try await c.execute(uri: "/metrics", method: .get).text
                #expect(metrics.contains("cairn_edge_http_requests_total"))
                #expect(metrics.contains(#"route="/api/chain""#))
            }
        }
    }

    @Test func submitTransaction() async throws {
        try await Stack.with { s in
            let f = s.fixture
            try await s.http { c in
                let hex = Hex.encode(f.pending.encoded)
                let ok = try await c.execute(uri: "/api/tx", method: .post, headers: [.contentType: "text/plain"], body: ByteBuffer(string: hex + "\n"))
                #expect(ok.status == .ok)
                #expect(ok.text == f.pending.txid.hex)
                let sent = s.pool.submitted.list.withLock { $0 }
                #expect(sent.last?.hex == hex)
                #expect(sent.last?.receivedAt != nil)

                let json = try await c.execute(uri: "/api/tx", method: .post, headers: [.contentType: "application/json"],
                                               body: ByteBuffer(string: #"{"hex":"\#(hex)"}"#))
                #expect(json.text == f.pending.txid.hex)

                let refused = try await c.execute(uri: "/api/tx", method: .post, body: ByteBuffer(string: Hex.encode(f.orphan.encoded)))
                expectError(refused, .badRequest, "bad-txns-inputs-missingorspent")

                // The edge's received stamps: the accepted transaction's (with the txid the mempool
                // answered) and the refused one's (from its own bytes), each at the time it was received.
                for (txid, count) in [(f.pending.txid, 2), (f.orphan.txid, 1)] {
                    let trace = try await c.execute(uri: "/api/tx/\(txid.hex)/trace", method: .get).object
                    let edge = (trace["events"] as? [[String: Any]] ?? []).filter { $0["service"] as? String == "edge" }
                    #expect(edge.count == count)
                    #expect(edge.allSatisfy { $0["stage"] as? String == "received" && $0["detail"] as? String == "POST /api/tx" })
                }

                let garbage = try await c.execute(uri: "/api/tx", method: .post, body: ByteBuffer(string: "zz"))
                expectError(garbage, .badRequest, "bad-encoding")

                let badJSON = try await c.execute(uri: "/api/tx", method: .post, headers: [.contentType: "application/json"],
                                                  body: ByteBuffer(string: #"{"hex": 5"#))
                expectError(badJSON, .badRequest, "bad-json")

                let metrics = try await c.execute(uri: "/metrics", method: .get).text
                #expect(metrics.contains("cairn_edge_tx_accepted_total 2"))
                #expect(metrics.contains(#"cairn_edge_tx_rejected_total{reason="bad-txns-inputs-missingorspent"} 1"#))
            }
        }
    }
}
