import ChainCore
import Foundation
import Hummingbird
import NodeKit

/// Operator-only routes: the operator credentials of `OperatorAuth` (the cookie `DATA/.cookie` or
/// the token `--rpc-token`, alias `--operator-token`), as HTTP Basic or Bearer. Anything else: 401.
enum OperatorRoutes {

    // VerifyReply: CairnContract/EdgeShapes.swift (`cairn verify` reads it too).

    static func routes(_ edge: Edge) -> [Route] {
        let auth = edge.rpc.auth
        let context = edge.context, endpoints = edge.config.endpoints, backend = edge.backend, bus = edge.config.bus
        return [
            Route(.get, "/api/operator/verify",
                  RouteDoc(summary: "Operator only (Bearer token): the chain store's UTXO recomputation and the mempool's consistency check",
                           tag: "node", response: .json(Schema.ref("Verify")), errors: [401])) { request, _ in
                try await authorize(request, auth: auth)
                // Their own clients: the recomputation reads every block, far longer than the API's request timeout.
                let chainRPC = try await RPCClient(context: context, endpoint: endpoints.chainRPC, timeout: .seconds(300), retries: 1,
                                                   curve: bus.client(of: .chainstore))
                let mempoolRPC = try await RPCClient(context: context, endpoint: endpoints.mempoolRPC, timeout: .seconds(60), retries: 1,
                                                     curve: bus.client(of: .mempool))
                // A service that is down is reported at once (the API's usual retries), not after the long timeout.
                async let chain = part {
                    _ = try await backend.chain(.getchaintip, Empty(), as: ChainTip.self)
                    return try await chainRPC.call(ChainMethod.verifyutxo, Empty(), as: UTXOCheck.self)
                } ok: { $0.ok }
                async let pool = part {
                    _ = try await backend.mempool(.getmempoolinfo, Empty(), as: MempoolInfo.self)
                    return try await mempoolRPC.call(MempoolMethod.checkmempool, Empty(), as: MempoolCheck.self)
                } ok: { $0.ok }
                let (c, m) = await (chain, pool)
                await chainRPC.stop()
                await mempoolRPC.stop()
                return Reply.json(VerifyReply(ok: c.ok && m.ok, chain: c, mempool: m))
            },
        ] + LearningRoutes.routes(edge)   // the learning mode: GET /api/mining, /api/operator/mining(/step)
    }

    static func part<T: Codable & Sendable & Equatable>(_ run: () async throws -> T, ok: (T) -> Bool) async -> VerifyReply.Part<T> {
        do {
            let r = try await run()
            return .init(ok: ok(r), result: r, error: nil)
        } catch {
            return .init(ok: false, result: nil, error: APIError.from(error).message)
        }
    }

    /// The operator's credentials, the same as the JSON-RPC operator methods' (`OperatorAuth`): the
    /// cookie `DATA/.cookie` or the token, as HTTP Basic or Bearer. A wrong one waits, then 401.
    static func authorize(_ request: Request, auth: OperatorAuth) async throws {
        switch auth.verdict(request.headers[.authorization]) {
        case .valid: return
        case .none:
            guard auth.isConfigured else { throw OperatorAuth.unauthorized("no operator cookie or token is configured on this edge") }
            throw OperatorAuth.unauthorized("operator only: send the cookie DATA/\(OperatorAuth.cookieName) (HTTP Basic, or Bearer with its secret) or the operator token")
        case .wrong:
            try await Task.sleep(for: OperatorAuth.wrongCredentialsDelay)
            throw OperatorAuth.unauthorized("wrong operator credentials")
        }
    }
}
