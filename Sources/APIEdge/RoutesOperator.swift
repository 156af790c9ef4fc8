import ChainCore
import Foundation
import Hummingbird
import NodeKit

/// Operator-only routes: `Authorization: Bearer <token>`, the token from `--operator-token`
/// (env CAIRN_OPERATOR_TOKEN) or else the cookie the edge writes at start in its data folder
/// (`operator.cookie`, mode 0600, as bitcoind's `.cookie`). Anything else: 401.
enum OperatorRoutes {
    static let cookieName = "operator.cookie"

    struct VerifyReply: Codable, Sendable {
        struct Part<T: Codable & Sendable>: Codable, Sendable {
            var ok: Bool
            var result: T?
            var error: String?
        }
        var ok: Bool
        var chain: Part<UTXOCheck>
        var mempool: Part<MempoolCheck>
    }

    static func routes(_ edge: Edge) -> [Route] {
        let token = edge.config.operatorToken
        let context = edge.context, endpoints = edge.config.endpoints, backend = edge.backend, bus = edge.config.bus
        return [
            Route(.get, "/api/operator/verify",
                  RouteDoc(summary: "Operator only (Bearer token): the chain store's UTXO recomputation and the mempool's consistency check",
                           tag: "node", response: .json(Schema.ref("Verify")), errors: [401])) { request, _ in
                try authorize(request, token: token)
                // Their own clients: the recomputation reads every block, far longer than the API's request timeout.
                let chainRPC = try await RPCClient(context: context, endpoint: endpoints.chainRPC, timeout: .seconds(300), retries: 1,
                                                   curve: bus.client(of: .chainstore))
                let mempoolRPC = try await RPCClient(context: context, endpoint: endpoints.mempoolRPC, timeout: .seconds(60), retries: 1,
                                                     curve: bus.client(of: .mempool))
                // A service that is down is reported at once (the API's usual retries), not after the long timeout.
                async let chain = part {
                    _ = try await backend.chain("getchaintip", Empty(), as: ChainTip.self)
                    return try await chainRPC.call("verifyutxo", Empty(), as: UTXOCheck.self)
                } ok: { $0.ok }
                async let pool = part {
                    _ = try await backend.mempool("getmempoolinfo", Empty(), as: MempoolInfo.self)
                    return try await mempoolRPC.call("checkmempool", Empty(), as: MempoolCheck.self)
                } ok: { $0.ok }
                let (c, m) = await (chain, pool)
                await chainRPC.stop()
                await mempoolRPC.stop()
                return Reply.json(VerifyReply(ok: c.ok && m.ok, chain: c, mempool: m))
            },
        ] + LearningRoutes.routes(edge)   // the learning mode: GET /api/mining, /api/operator/mining(/step)
    }

    static func part<T: Codable & Sendable>(_ run: () async throws -> T, ok: (T) -> Bool) async -> VerifyReply.Part<T> {
        do {
            let r = try await run()
            return .init(ok: ok(r), result: r, error: nil)
        } catch {
            return .init(ok: false, result: nil, error: APIError.from(error).message)
        }
    }

    static func authorize(_ request: Request, token: String?) throws {
        let unauthorized = { (message: String) in
            APIError(.unauthorized, "unauthorized", message, headers: [.wwwAuthenticate: "Bearer realm=\"cairn-operator\""])
        }
        guard let token, !token.isEmpty else { throw unauthorized("no operator token is configured on this edge") }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw unauthorized("send Authorization: Bearer <token> (the edge's --operator-token, or DATA/\(cookieName))")
        }
        let given = Hash256.sha256d(Array(header.dropFirst(7).trimmingCharacters(in: .whitespaces).utf8))
        let expected = Hash256.sha256d(Array(token.utf8))
        // Compared as digests: the time taken does not depend on how much of the token matched.
        guard given == expected else { throw unauthorized("wrong operator token") }
    }

    /// Writes a fresh random token to `DATA/operator.cookie` (0600) and returns it.
    static func writeCookie(directory: URL) throws -> String {
        let token = Hex.encode((0..<32).map { _ in UInt8.random(in: 0...255) })
        let path = directory.appendingPathComponent(cookieName).path
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        try Data((token + "\n").utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        return token
    }
}
