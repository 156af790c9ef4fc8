import Foundation
import Hummingbird
import NodeKit

/// A keyed WebSocket (`/v1/<key>/rpc`, `/v1/<key>/api/ws`, or `X-API-Key` on the `/rpc` upgrade): the
/// key must be valid and allow the origin (and, for the feed, the path `restPath`). Opening the feed
/// costs one credit; a JSON-RPC socket is metered per message instead (`RPCSubscriptions.serve` with
/// its `SocketKey`), so opening it is counted ("websocket" in usage) without a charge.
func keyedUpgrade(_ request: Request, key: String, edge: Edge, restPath: String? = nil, charge: Bool = true) async throws {
    let record = try await edge.access.authenticate(key)
    do {
        try AccessControl.checkOrigin(record, origin: request.headers[.origin])
        if let restPath { try AccessControl.checkMethod(record, restPath: restPath) }
    } catch {
        edge.access.count(key: record.info.id, method: "websocket", refused: 1)
        throw error
    }
    guard charge else {
        edge.access.count(key: record.info.id, method: "websocket", requests: 1)
        return
    }
    let admission = await edge.access.take(record, count: 1)
    guard admission == .admitted else {
        edge.access.count(key: record.info.id, method: "websocket", refused: 1)
        throw KeyLimits.refusal(admission, info: record.info)
    }
    edge.access.count(key: record.info.id, method: "websocket", requests: 1, credits: 1)
}

/// The key of a WebSocket upgrade that `keyedUpgrade` admitted: from the path or the `X-API-Key` header.
func socketKey(_ request: Request, pathKey: String?, edge: Edge) -> SocketKey? {
    let text = pathKey ?? request.headers[.xAPIKey]?.trimmingCharacters(in: .whitespaces)
    guard let text, let (id, _) = APIKeyFormat.parse(text) else { return nil }
    return SocketKey(text: text, id: id, origin: request.headers[.origin], access: edge.access)
}
