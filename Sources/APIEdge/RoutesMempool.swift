import ChainCore
import Hummingbird
import NodeKit

enum MempoolRoutes {
    static func routes(_ edge: Edge) -> [Route] {
        let backend = edge.backend
        return [
            Route(.get, "/api/mempool",
                  RouteDoc(summary: "Mempool size, fees and fee histogram", tag: "mempool", response: .json(Schema.ref("Mempool")),
                           errors: [502, 503])) { _, _ in
                let info = try await backend.mempool("getmempoolinfo", Empty(), as: MempoolInfo.self)
                return Reply.json(EsploraMempool(count: info.count, vsize: info.bytes, totalFee: info.totalFee, feeHistogram: info.feeHistogram))
            },
            Route(.get, "/api/mempool/txids",
                  RouteDoc(summary: "Every txid in the mempool; with ?mempool_sequence=true {txids, mempool_sequence}: the snapshot for the Clone pattern (apply the feed's sequence A/R above it)",
                           tag: "mempool", response: .json(Schema.array(Schema.hash)), errors: [400, 502, 503])) { request, _ in
                let snapshot = try await backend.mempool("getrawmempool", Empty(), as: RawMempool.self)
                switch request.uri.queryParameters["mempool_sequence"].map(String.init) {
                case nil, "false", "0": return Reply.json(snapshot.txids)
                case "true", "1": return Reply.json(MempoolSnapshot(txids: snapshot.txids, mempoolSequence: snapshot.mempoolSequence))
                case let other?: throw APIError.badRequest("bad-request", "mempool_sequence must be true or false, not '\(other.prefix(40))'")
                }
            },
            Route(.get, "/api/fee-estimates",
                  RouteDoc(summary: "Fee rate (units/byte) to confirm within 1, 3, 6 or 25 blocks", tag: "mempool",
                           response: .json(Schema.ref("FeeEstimates")), errors: [502, 503])) { _, _ in
                let info = try await backend.mempool("getmempoolinfo", Empty(), as: MempoolInfo.self)
                return Reply.json(FeeEstimator.estimates(histogram: info.feeHistogram, minFeeRate: info.minFeeRate))
            },
        ]
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
