import ChainCore
import Hummingbird
import NodeKit

/// `GET /api/lookup/:hash`: what 64 hex digits name, a block or a transaction, in one request (the
/// explorer's search box: trying one kind and then the other logs a 404 for every search of the other kind).
enum LookupRoutes {
    struct Found: Codable, Sendable {
        var kind: String
        var id: String
    }

    static let foundSchema = Schema.object(["kind": ["type": "string", "enum": ["block", "tx"]], "id": Schema.hash])

    static func routes(_ edge: Edge) -> [Route] {
        let backend = edge.backend
        return [
            Route(.get, "/api/lookup/:hash",
                  RouteDoc(summary: "Whether 64 hex digits are a block hash or a txid (chain or mempool); 404 when neither",
                           tag: "blocks", params: [(name: "hash", schema: Schema.hash, description: "a block hash or a txid (display hex)")],
                           response: .json(foundSchema), errors: [400, 404, 502, 503])) { _, context in
                let hash = try Param.hash(context, "hash", what: "hash")
                async let block = header(hash, backend: backend)
                async let confirmed = backend.confirmedTx(hash)
                async let pooled = backend.mempoolEntry(hash)
                if try await block != nil { return Reply.json(Found(kind: "block", id: hash)) }
                if try await confirmed != nil { return Reply.json(Found(kind: "tx", id: hash)) }
                if try await pooled != nil { return Reply.json(Found(kind: "tx", id: hash)) }
                throw APIError.notFound("no block and no transaction (confirmed or in the mempool) has the id \(hash)")
            },
        ]
    }

    static func header(_ hash: String, backend: Backend) async throws -> HeaderInfo? {
        do {
            return try await backend.chain(.getheader, BlockRef(hash: hash), as: HeaderInfo.self)
        } catch let e as APIError where e.status == .notFound {
            return nil
        }
    }
}
