import ChainCore
import Hummingbird
import NodeKit

enum BlockRoutes {
    static let hashParam = (name: "hash", schema: Schema.hash, description: "block hash (display hex)")
    static let heightError = [400, 404, 502, 503]

    static func routes(_ edge: Edge) -> [Route] {
        let backend = edge.backend
        let explorer = edge.explorer
        return [
            Route(.get, "/api/blocks/tip/height",
                  RouteDoc(summary: "Height of the best chain's tip", tag: "blocks",
                           response: .text(["type": "string", "pattern": "^[0-9]+$"]), errors: [502, 503])) { _, _ in
                let tip = try await edge.currentTip()
                edge.metrics.height.set(Int64(tip.height))
                return Reply.text(String(tip.height))
            },
            Route(.get, "/api/blocks/tip/hash",
                  RouteDoc(summary: "Hash of the best chain's tip", tag: "blocks", response: .text(Schema.hash), errors: [502, 503])) { _, _ in
                Reply.text(try await edge.currentTip().hash)
            },
            Route(.get, "/api/blocks",
                  RouteDoc(summary: "The 10 newest blocks", tag: "blocks", response: .json(Schema.array(Schema.ref("Block"))),
                           errors: [502, 503])) { _, _ in
                let list = try await backend.chain(.getblocks, BlockRange(startHeight: nil, count: 10), as: [HeaderInfo].self)
                return Reply.json(list.map(EsploraBlock.init))
            },
            Route(.get, "/api/blocks/:start_height",
                  RouteDoc(summary: "10 blocks downwards from a height", tag: "blocks",
                           params: [("start_height", Schema.height, "newest height to list (clamped to the tip)")],
                           response: .json(Schema.array(Schema.ref("Block"))), errors: [400, 502, 503])) { _, context in
                let start = try Param.nonNegative(context, "start_height", what: "height")
                let list = try await backend.chain(.getblocks, BlockRange(startHeight: start, count: 10), as: [HeaderInfo].self)
                return Reply.json(list.map(EsploraBlock.init))
            },
            Route(.get, "/api/charts/blocks/:count",
                  RouteDoc(summary: "The last N blocks' size, transactions, fees, difficulty and work (expected hashes), oldest first: the explorer's block charts",
                           tag: "charts", params: [("count", Schema.uint, "how many blocks back from the tip (1 to 10,000)")],
                           response: .json(Schema.array(Schema.ref("BlockStats"))), errors: [400, 502, 503])) { _, context in
                let count = try Param.nonNegative(context, "count", what: "count")
                guard (1...10_000).contains(count) else { throw APIError.badRequest("bad-count", "count must be 1 to 10,000, not \(count)") }
                let list = try await backend.chain(.getblockstats, BlockStatsRequest(count: count), as: [BlockStats].self)
                return Reply.json(list.map(ChartBlock.init))
            },
            Route(.get, "/api/block/:hash",
                  RouteDoc(summary: "A block's header data", tag: "blocks", params: [hashParam],
                           response: .json(Schema.ref("Block")), errors: heightError)) { _, context in
                let hash = try Param.hash(context, "hash", what: "block-hash")
                return Reply.json(EsploraBlock(try await backend.chain(.getheader, BlockRef(hash: hash), as: HeaderInfo.self)))
            },
            Route(.get, "/api/block/:hash/status",
                  RouteDoc(summary: "Whether a block is on the best chain, and its successor", tag: "blocks", params: [hashParam],
                           response: .json(Schema.ref("BlockStatus")), errors: heightError)) { _, context in
                let hash = try Param.hash(context, "hash", what: "block-hash")
                let h = try await backend.chain(.getheader, BlockRef(hash: hash), as: HeaderInfo.self)
                return Reply.json(EsploraBlockStatus(inBestChain: h.inBestChain, height: h.height, nextBest: h.nextHash))
            },
            Route(.get, "/api/block/:hash/txs",
                  RouteDoc(summary: "A block's first 25 transactions", tag: "blocks", params: [hashParam],
                           response: .json(Schema.array(Schema.ref("Transaction"))), errors: heightError)) { _, context in
                let hash = try Param.hash(context, "hash", what: "block-hash")
                return Reply.json(try await explorer.blockTxs(hash: hash, start: 0))
            },
            Route(.get, "/api/block/:hash/txs/:start",
                  RouteDoc(summary: "25 of a block's transactions from an index", tag: "blocks",
                           params: [hashParam, ("start", Schema.height, "index of the first transaction")],
                           response: .json(Schema.array(Schema.ref("Transaction"))), errors: heightError)) { _, context in
                let hash = try Param.hash(context, "hash", what: "block-hash")
                let start = try Param.nonNegative(context, "start", what: "index")
                return Reply.json(try await explorer.blockTxs(hash: hash, start: start))
            },
            Route(.get, "/api/block/:hash/txids",
                  RouteDoc(summary: "A block's txids in order", tag: "blocks", params: [hashParam],
                           response: .json(Schema.array(Schema.hash)), errors: heightError)) { _, context in
                let hash = try Param.hash(context, "hash", what: "block-hash")
                let info = try await backend.chain(.getblock, BlockRef(hash: hash), as: BlockInfo.self)
                guard let raw = Hex.decode(info.hex), let block = try? Block(bytes: raw) else {
                    throw APIError(.badGateway, "backend-error", "the chain store returned an undecodable block")
                }
                return Reply.json(block.txids.map(\.hex))
            },
            Route(.get, "/api/block/:hash/raw",
                  RouteDoc(summary: "The serialized block, hex", tag: "blocks", params: [hashParam],
                           response: .text(Schema.hex), errors: heightError)) { _, context in
                let hash = try Param.hash(context, "hash", what: "block-hash")
                return Reply.text(try await backend.chain(.getblock, BlockRef(hash: hash), as: BlockInfo.self).hex)
            },
            Route(.get, "/api/block-height/:height",
                  RouteDoc(summary: "Hash of the best-chain block at a height", tag: "blocks",
                           params: [("height", Schema.height, "block height")], response: .text(Schema.hash), errors: heightError)) { _, context in
                let height = try Param.nonNegative(context, "height", what: "height")
                return Reply.text(try await backend.chain(.getheader, BlockRef(height: height), as: HeaderInfo.self).hash)
            },
        ]
    }
}

/// One block of `/api/charts/blocks/:count` (snake_case, as Esplora's objects).
struct ChartBlock: Codable, Sendable, Equatable {
    var height: Int
    var timestamp: UInt32
    var size: Int
    var txCount: Int
    var fees: UInt64
    var difficulty: Double
    var work: Double

    enum CodingKeys: String, CodingKey { case height, timestamp, size, txCount = "tx_count", fees, difficulty, work }

    init(_ b: BlockStats) {
        height = b.height; timestamp = b.time; size = b.size; txCount = b.txCount; fees = b.fees; difficulty = b.difficulty; work = b.work
    }
}
