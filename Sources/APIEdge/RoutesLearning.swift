import ChainCore
import Foundation
import Hummingbird
import NodeKit

/// The learning mode (regtest only): the node's mining pace, which the mempool owns and every miner
/// obeys. Anyone may read it (`GET /api/mining`); changing it takes the operator token
/// (`Authorization: Bearer`, as the other operator routes).
enum LearningRoutes {
    /// What the explorer and `cairn mining` show: `MiningView` (CairnContract/EdgeShapes.swift).
    typealias View = MiningView

    /// `POST /api/operator/mining`: either or both.
    struct Change: Codable, Sendable {
        /// "running" or "paused".
        var state: String?
        var minInterval: Double?
        /// The operator token, for a page on another origin (the explorer): the edge's CORS preflight
        /// allows only Content-Type, so a browser cannot send `Authorization` across origins.
        var token: String?
    }

    /// The operator's credentials (`OperatorAuth`, as every operator route) from the Authorization
    /// header, else the JSON body's `token` taken as a Bearer token (the cookie's secret, or the whole
    /// `__cookie__:<secret>` line as the file holds it).
    static func authorize(_ request: Request, bodyToken: String?, auth: OperatorAuth) async throws {
        guard request.headers[.authorization] == nil, let bodyToken else {
            return try await OperatorRoutes.authorize(request, auth: auth)
        }
        var given = bodyToken.trimmingCharacters(in: .whitespacesAndNewlines)
        if given.hasPrefix(OperatorAuth.cookieUser + ":") { given.removeFirst(OperatorAuth.cookieUser.count + 1) }
        switch auth.verdict("Bearer " + given) {
        case .valid: return
        case .none, .wrong:
            guard auth.isConfigured else { throw OperatorAuth.unauthorized("no operator cookie or token is configured on this edge") }
            try await Task.sleep(for: OperatorAuth.wrongCredentialsDelay)
            throw OperatorAuth.unauthorized("wrong operator credentials")
        }
    }

    /// A small JSON body (nil when there is none).
    static func body<T: Decodable>(_ request: Request, as: T.Type, hint: String) async throws -> T? {
        var request = request
        let buffer = try await request.collectBody(upTo: 4096)
        guard buffer.readableBytes > 0 else { return nil }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer: buffer))
        } catch {
            throw APIError.badRequest("bad-json", hint)
        }
    }

    static let viewSchema = Schema.object([
        "state": ["type": "string", "enum": ["running", "paused", "stepping"]], "minInterval": Schema.number,
        "stepHeight": Schema.nullable(Schema.height), "available": Schema.bool, "network": Schema.string,
        "revision": Schema.uint, "updatedAt": Schema.number,
    ])

    static func routes(_ edge: Edge) -> [Route] {
        let auth = edge.rpc.auth
        let backend = edge.backend, network = edge.config.params.network
        @Sendable func current() async throws -> Response {
            Reply.json(View(try await backend.mempool(.getpace, Empty(), as: MiningPace.self), network: network))
        }
        @Sendable func apply(_ changes: [PaceChange]) async throws -> Response {
            guard network == .regtest else {
                throw APIError(.conflict, "not-regtest", "the learning mode (pause, step, minimum interval) is for regtest only; this node runs \(network.rawValue)")
            }
            var pace: MiningPace?
            for c in changes {
                do {
                    pace = try await backend.mempool(.setpace, c, as: MiningPace.self)
                } catch let e as RPCError where e.code == "not-regtest" {
                    throw APIError(.conflict, e.code, e.message)
                }
            }
            guard let pace else { return try await current() }
            return Reply.json(View(pace, network: network))
        }
        return [
            Route(.get, "/api/mining",
                  RouteDoc(summary: "The mining pace (the learning mode): running, paused or stepping, and the minimum interval between blocks",
                           tag: "mining", response: .json(viewSchema), errors: [502, 503])) { _, _ in
                try await current()
            },
            Route(.get, "/api/operator/mining",
                  RouteDoc(summary: "Operator only (the operator cookie or token): the mining pace, as GET /api/mining",
                           tag: "mining", response: .json(viewSchema), errors: [401, 502, 503])) { request, _ in
                try await OperatorRoutes.authorize(request, auth: auth)
                return try await current()
            },
            Route(.post, "/api/operator/mining",
                  RouteDoc(summary: "Operator only (the operator cookie or token), regtest only: pause or resume every miner ({\"state\": \"paused\"|\"running\"}) and/or set the minimum seconds between blocks ({\"minInterval\": 0-3600})",
                           tag: "mining", response: .json(viewSchema), errors: [400, 401, 409, 413, 502, 503],
                           jsonBody: Schema.object(["state": ["type": "string", "enum": ["running", "paused"]],
                                                    "minInterval": Schema.number, "token": Schema.string]))) { request, _ in
                let hint = "expected {\"state\": \"paused\" or \"running\", \"minInterval\": seconds}"
                let given: Change?
                do {
                    given = try await body(request, as: Change.self, hint: hint)
                } catch {
                    // A client without credentials learns nothing about the body first.
                    try await OperatorRoutes.authorize(request, auth: auth)
                    throw error
                }
                try await authorize(request, bodyToken: given?.token, auth: auth)
                guard let change = given else { throw APIError.badRequest("bad-json", hint) }
                var changes = [PaceChange]()
                if let seconds = change.minInterval {
                    guard seconds.isFinite, seconds >= 0, seconds <= MiningPace.maxInterval else {
                        throw APIError.badRequest("bad-interval", "minInterval must be a number of seconds from 0 to \(Int(MiningPace.maxInterval))")
                    }
                    changes.append(PaceChange(action: "interval", minInterval: seconds))
                }
                switch change.state {
                case nil: break
                case "paused": changes.append(PaceChange(action: "pause"))
                case "running": changes.append(PaceChange(action: "resume"))
                case let other?: throw APIError.badRequest("bad-state", "state must be \"paused\" or \"running\", not '\(other.prefix(40))'")
                }
                guard !changes.isEmpty else {
                    throw APIError.badRequest("bad-json", "give \"state\" (\"paused\" or \"running\") and/or \"minInterval\" (seconds)")
                }
                return try await apply(changes)
            },
            Route(.post, "/api/operator/mining/step",
                  RouteDoc(summary: "Operator only (the operator cookie or token), regtest only: let exactly one block be mined, then stay paused",
                           tag: "mining", response: .json(viewSchema), errors: [401, 409, 502, 503])) { request, _ in
                struct TokenOnly: Codable { var token: String? }
                let given = try? await body(request, as: TokenOnly.self, hint: "expected no body, or {\"token\": \"…\"}")
                try await authorize(request, bodyToken: given?.token, auth: auth)
                return try await apply([PaceChange(action: "step")])
            },
        ]
    }
}
