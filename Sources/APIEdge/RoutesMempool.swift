import ChainCore
import Foundation
import Hummingbird
import NodeKit

enum MempoolRoutes {
    static func routes(_ edge: Edge) -> [Route] {
        let backend = edge.backend
        return [
            Route(.get, "/api/mempool",
                  RouteDoc(summary: "Mempool size, fees and fee histogram", tag: "mempool", response: .json(Schema.ref("Mempool")),
                           errors: [502, 503])) { _, _ in
                let info = try await backend.mempool(.getmempoolinfo, Empty(), as: MempoolInfo.self)
                return Reply.json(EsploraMempool(count: info.count, vsize: info.bytes, totalFee: info.totalFee, feeHistogram: info.feeHistogram))
            },
            Route(.get, "/api/mempool/txids",
                  RouteDoc(summary: "Every txid in the mempool; with ?mempool_sequence=true {txids, mempool_sequence}: the snapshot for the Clone pattern (apply the feed's sequence A/R above it)",
                           tag: "mempool", response: .json(Schema.array(Schema.hash)), errors: [400, 502, 503])) { request, _ in
                let snapshot = try await backend.mempool(.getrawmempool, Empty(), as: RawMempool.self)
                switch request.uri.queryParameters["mempool_sequence"].map(String.init) {
                case nil, "false", "0": return Reply.json(snapshot.txids)
                case "true", "1": return Reply.json(MempoolSnapshot(txids: snapshot.txids, mempoolSequence: snapshot.mempoolSequence))
                case let other?: throw APIError.badRequest("bad-request", "mempool_sequence must be true or false, not '\(other.prefix(40))'")
                }
            },
            Route(.get, "/api/v1/fees/mempool-blocks",
                  RouteDoc(summary: "The next blocks as the node's block assembly would fill them from the mempool now (mempool.space's shape; the last holds the rest)",
                           tag: "mempool", response: .json(Schema.array(Schema.ref("MempoolBlock"))), errors: [502, 503])) { _, _ in
                Reply.json(try await backend.mempool(.getmempoolblocks, MempoolBlocksRequest(), as: MempoolBlocks.self).blocks)
            },
            Route(.get, "/api/mempool/position/:txid",
                  RouteDoc(summary: "Which projected block holds a pending transaction (0: the next block)", tag: "mempool",
                           params: [TxRoutes.txidParam], response: .json(Schema.ref("MempoolPosition")),
                           errors: [400, 404, 502, 503])) { _, context in
                let txid = try Param.hash(context, "txid", what: "txid")
                let projection = try await backend.mempool(.getmempoolblocks, MempoolBlocksRequest(txid: txid), as: MempoolBlocks.self)
                guard let block = projection.txBlock else { throw APIError.notFound("transaction \(txid) is not in the mempool") }
                return Reply.json(MempoolPosition(txid: txid, block: block, blocks: projection.blocks.count))
            },
            Route(.get, "/api/charts/mempool/:seconds",
                  RouteDoc(summary: "The mempool's size and next-block fee rates over the last N seconds (up to a day), as the mempool sampled them",
                           tag: "charts", params: [("seconds", Schema.uint, "how far back (1 to 86,400)")],
                           response: .json(Schema.array(Schema.ref("MempoolSample"))), errors: [400, 502, 503])) { _, context in
                let seconds = try Param.nonNegative(context, "seconds", what: "seconds")
                guard (1...86_400).contains(seconds) else { throw APIError.badRequest("bad-seconds", "seconds must be 1 to 86,400, not \(seconds)") }
                let since = ServiceSupport.now() - Double(seconds)
                let list = try await backend.mempool(.getmempoolsamples, MempoolSamplesRequest(since: since), as: [MempoolSample].self)
                return Reply.json(list.map(ChartMempoolSample.init))
            },
            Route(.get, "/api/fee-estimates",
                  RouteDoc(summary: "Fee rate (units/byte) to confirm within 1, 3, 6 or 25 blocks", tag: "mempool",
                           response: .json(Schema.ref("FeeEstimates")), errors: [502, 503])) { _, _ in
                let info = try await backend.mempool(.getmempoolinfo, Empty(), as: MempoolInfo.self)
                return Reply.json(FeeEstimator.estimates(histogram: info.feeHistogram, minFeeRate: info.minFeeRate))
            },
        ]
    }
}

/// A pending transaction's place among the projected blocks: `block` 0 is the next block, so it
/// should confirm in about `block + 1` blocks (if nothing paying more arrives).
struct MempoolPosition: Codable, Sendable, Equatable {
    var txid: String
    var block: Int
    var blocks: Int
}

/// One sample of `/api/charts/mempool/:seconds`.
struct ChartMempoolSample: Codable, Sendable, Equatable {
    var time: Double
    var count: Int
    var vsize: Int
    var totalFee: UInt64
    var nextBlockMedianFee: Double
    var nextBlockMinFee: Double

    enum CodingKeys: String, CodingKey {
        case time, count, vsize, totalFee = "total_fee", nextBlockMedianFee = "next_block_median_fee", nextBlockMinFee = "next_block_min_fee"
    }

    init(_ s: MempoolSample) {
        time = s.time; count = s.count; vsize = s.bytes; totalFee = s.totalFee
        nextBlockMedianFee = s.nextBlockMedianFee; nextBlockMinFee = s.nextBlockMinFee
    }
}

struct MempoolSnapshot: Codable, Sendable {
    var txids: [String]
    var mempoolSequence: UInt64
    enum CodingKeys: String, CodingKey { case txids, mempoolSequence = "mempool_sequence" }
}

/// A simple estimate from the mempool's fee histogram: for a target of N blocks, the fee rate of
/// the histogram bucket where the transactions paying more than it stop fitting in N blocks.
enum FeeEstimator {
    static let targets = [1, 3, 6, 25]

    static func estimates(histogram: [[Double]], minFeeRate: Double, blockBytes: Int = Limits.maxBlockSize) -> [String: Double] {
        let buckets = histogram.compactMap { pair -> (rate: Double, bytes: Double)? in
            guard pair.count >= 2, pair[0].isFinite, pair[1].isFinite else { return nil }
            return (pair[0], pair[1])
        }.sorted { $0.rate > $1.rate }
        var out = [String: Double]()
        for n in targets {
            let capacity = Double(n * blockBytes)
            var total = 0.0
            var rate = minFeeRate
            for b in buckets {
                total += b.bytes
                if total > capacity {
                    // Pay the top of this bucket to be ahead of it (buckets are powers of two).
                    rate = max(b.rate * 2, b.rate + 1)
                    break
                }
            }
            out[String(n)] = max(minFeeRate, rate)
        }
        return out
    }
}
