import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import NIOCore
import NodeKit

extension HTTPField.Name {
    static let xAPIKey = HTTPField.Name("X-API-Key")!
    static let rateLimitPolicy = HTTPField.Name("RateLimit-Policy")!
    static let rateLimit = HTTPField.Name("RateLimit")!
}

/// The edge's request context: Hummingbird's, plus the client's address (the anonymous limit is per address).
struct EdgeRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// The WebSocket router's context: Hummingbird's, plus the client's address, so a keyless upgrade
/// meets the same anonymous policy as a keyless request.
struct EdgeWebSocketContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        remoteAddress = source.channel.remoteAddress
    }
}

/// In front of the router: takes the API key from the path (`/v1/<key>/api/…`, `/v1/<key>/rpc`,
/// `/v1/<key>/usage`) or the `X-API-Key` header, admits the request (401 unknown or revoked key, 403
/// origin or method not allowed, 429 over the rate or the daily quota), charges its route's credits
/// (`Credits.route`) and counts it; keyless requests pass at the anonymous rate. `/rpc` charges each
/// batch item its method's credits itself (`KeyGrant.current`).
struct KeyedResponder<Inner: HTTPResponder>: HTTPResponder where Inner.Context == EdgeContext {
    typealias Context = EdgeContext
    let inner: Inner
    let access: AccessControl
    let matcher: RouteMatcher
    /// The router's CORS, also on the refusals answered here (401, 403, 429, 503): a page of an
    /// allowed origin can read them (a fetch would otherwise fail without a status).
    let cors: OriginCORSMiddleware<EdgeContext>

    /// Paths that never need a key: health, metrics, the API document, the operator's routes and the
    /// developer portal's (their own credentials).
    static func isExempt(_ path: String) -> Bool {
        path == "/healthz" || path == "/metrics" || path == "/openapi.json" || path.hasPrefix("/api/operator/")
            || path == "/api/portal" || path.hasPrefix("/api/portal/")
    }

    @Sendable func respond(to request: Request, context: EdgeContext) async throws -> Response {
        var request = request
        var keyText: String?
        let original = request.uri.path
        if original.hasPrefix("/v1/") {
            let rest = original.dropFirst(4)
            let slash = rest.firstIndex(of: "/")
            keyText = String(rest[..<(slash ?? rest.endIndex)])
            var path = slash.map { String(rest[$0...]) } ?? "/"
            if path == "/usage" { path = "/api/usage" }
            var head = request.head
            head.path = path + (request.uri.query.map { "?\($0)" } ?? "")
            request = Request(head: head, body: request.body)
        } else if let header = request.headers[.xAPIKey] {
            keyText = header.trimmingCharacters(in: .whitespaces)
        }
        do {
            guard let keyText else { return try await keyless(request, context: context) }
            return try await keyed(request, key: keyText, context: context)
        } catch let e as APIError {
            let response = try e.response(from: request, context: context)
            return try await cors.handle(request, context: context) { _, _ in response }
        }
    }

    func keyless(_ request: Request, context: EdgeContext) async throws -> Response {
        let path = request.uri.path
        if Self.isExempt(path) || request.method == .options || path == "/api/ping" && access.anonymous.rps != 0 {
            return try await inner.respond(to: request, context: context)
        }
        if path == "/api/usage" { throw AccessControl.unauthorized("/api/usage needs an API key (/v1/<key>/usage or X-API-Key)") }
        try access.admitKeyless(address: context.remoteAddress)
        return try await inner.respond(to: request, context: context)
    }

    func keyed(_ request: Request, key: String, context: EdgeContext) async throws -> Response {
        let record = try await access.authenticate(key)
        let id = record.info.id
        let path = request.uri.path
        let label = path == "/rpc" ? "rpc" : matcher.template(method: request.method, path: path).map { "\(request.method.rawValue) \($0)" }
            ?? "\(EdgeMetrics.label(request.method)) (no route)"
        do {
            try AccessControl.checkOrigin(record, origin: request.headers[.origin])
            if path != "/rpc" && path != "/api/usage" { try AccessControl.checkMethod(record, restPath: path) }
        } catch {
            access.count(key: id, method: label, refused: 1)
            throw error
        }
        let grant = KeyGrant(record: record, accessControl: access)
        var response: Response
        if path == "/rpc" {
            response = try await KeyGrant.$current.withValue(grant) { try await inner.respond(to: request, context: context) }
        } else {
            let cost = Credits.route(label)
            let admission = await access.take(record, count: cost)
            guard admission == .admitted else {
                access.count(key: id, method: label, refused: 1)
                throw KeyLimits.refusal(admission, info: record.info, cost: cost)
            }
            response = try await KeyGrant.$current.withValue(grant) { try await inner.respond(to: request, context: context) }
            access.count(key: id, method: label, requests: 1, errors: response.status.code >= 400 ? 1 : 0, credits: cost)
        }
        if let policy = KeyLimits.policy(record.info) { response.headers[.rateLimitPolicy] = policy }
        return response
    }
}

/// What a key's limits look like in headers and errors (IETF draft-ietf-httpapi-ratelimit-headers:
/// `RateLimit-Policy: "burst";q=20;w=1, "daily";q=10000;w=86400` and, on a refusal,
/// `RateLimit: "burst";r=0;t=1` with `Retry-After`).
enum KeyLimits {
    static func seconds(_ s: Double) -> Int { max(1, Int(s.rounded(.up))) }

    static func policy(_ info: KeyInfo) -> String? {
        var parts: [String] = []
        if info.rps > 0 { parts.append("\"burst\";q=\(info.rps);w=1") }
        if info.daily > 0 { parts.append("\"daily\";q=\(info.daily);w=86400") }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }

    static func tooMany(code: String, message: String, policy: String?, limit: String, retryAfter: Double) -> APIError {
        var headers: HTTPFields = [.retryAfter: String(seconds(retryAfter)), .rateLimit: limit]
        if let policy { headers[.rateLimitPolicy] = policy }
        return APIError(.tooManyRequests, code, message, headers: headers)
    }

    /// The error for a refused admission of `cost` credits: 429 (rate or daily quota, or more credits
    /// than the key's per-second limit) or 503 (no lease: the accounts service is down).
    static func refusal(_ admission: AccessControl.Admission, info: KeyInfo, cost: Int = 1) -> APIError {
        guard case .refused(let kind, let retryAfter, _, _) = admission else {
            return APIError(.internalServerError, "internal", "refusal of an admitted request")
        }
        switch kind {
        case "daily":
            return tooMany(code: "daily-quota-exceeded",
                           message: "API key \(info.id) used its daily quota of \(info.daily) credits (policy \"daily\"); it renews at 00:00 UTC",
                           policy: policy(info), limit: "\"daily\";r=0;t=\(seconds(retryAfter))", retryAfter: retryAfter)
        case "cost":
            return tooMany(code: "rate-limited",
                           message: "this request costs \(cost) credits, more than API key \(info.id)'s limit of \(info.rps) a second (policy \"burst\"): split it, or ask for a higher limit",
                           policy: policy(info), limit: "\"burst\";r=0;t=1", retryAfter: 1)
        case "unavailable":
            return APIError(.serviceUnavailable, "accounts-unavailable", "the accounts service does not answer; retry shortly",
                            headers: [.retryAfter: "1"])
        default:
            return tooMany(code: "rate-limited",
                           message: "API key \(info.id) is over its limit of \(info.rps) credits a second (policy \"burst\")",
                           policy: policy(info), limit: "\"burst\";r=0;t=\(seconds(retryAfter))", retryAfter: retryAfter)
        }
    }
}


/// The operator's key administration and usage (operator credentials), and a key's own usage.
enum KeyRoutes {
    struct CreateBody: Codable, Sendable {
        var name: String
        var account: String?
        var accountName: String?
        var rps: Int?
        var daily: Int?
        var origins: [String]?
        var methods: [String]?
    }

    /// A key's usage: rows per method and hour, and totals per UTC day.
    struct UsageReply: Codable, Sendable {
        struct Day: Codable, Sendable { var day: String; var key: String; var requests: Int; var errors: Int; var refused: Int; var credits = 0 }
        var hours: [UsageRow]
        var days: [Day]
    }

    static func summarize(_ rows: [UsageRow]) -> UsageReply {
        var days: [String: UsageReply.Day] = [:]
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd"
        f.timeZone = TimeZone(identifier: "UTC")
        f.locale = Locale(identifier: "en_US_POSIX")
        for r in rows {
            let day = f.string(from: Date(timeIntervalSince1970: Double(r.hour)))
            var d = days["\(r.key) \(day)"] ?? .init(day: day, key: r.key, requests: 0, errors: 0, refused: 0)
            d.requests += r.requests
            d.errors += r.errors
            d.refused += r.refused
            d.credits += r.credits
            days["\(r.key) \(day)"] = d
        }
        return UsageReply(hours: rows, days: days.values.sorted { ($0.key, $0.day) < ($1.key, $1.day) })
    }

    static let keyInfo = Schema.object(["id": ["type": "string"], "account": ["type": "string"], "name": ["type": "string"],
                                        "rps": ["type": "integer"], "daily": ["type": "integer"],
                                        "origins": Schema.array(["type": "string"]), "methods": Schema.array(["type": "string"]),
                                        "created": ["type": "number"], "revoked": ["type": "number", "nullable": true]],
                                       required: ["id", "account", "name", "rps", "daily", "origins", "methods", "created"])
    static let created = Schema.object(["info": keyInfo, "key": ["type": "string", "description": "ck_<id>_<secret>, shown once"]])
    static let usage = Schema.object(["hours": Schema.array(["type": "object"]), "days": Schema.array(["type": "object"])])

    static func since(_ request: Request) throws -> Int? {
        guard let text = request.uri.queryParameters["since"].map(String.init) else { return nil }
        guard let n = Int(text), n >= 0 else { throw APIError.badRequest("bad-request", "since must be a Unix time") }
        return n
    }

    static func keyID(_ context: EdgeContext) throws -> String {
        let id = try Param.raw(context, "id")
        guard APIKeyFormat.isID(id) else { throw APIError.badRequest("bad-key-id", "'\(id.prefix(40))' is not a key id (16 hex digits)") }
        return id
    }

    static func routes(_ edge: Edge) -> [Route] {
        let access = edge.access, auth = edge.rpc.auth
        return [
            Route(.get, "/api/usage",
                  RouteDoc(summary: "The calling key's usage (also /v1/{key}/usage): per method and hour, and per UTC day; `since` a Unix time (default the last 24 hours)",
                           tag: "keys", response: .json(usage), errors: [400, 401, 403, 429, 503])) { request, _ in
                guard let grant = KeyGrant.current else { throw AccessControl.unauthorized("/api/usage needs an API key") }
                return Reply.json(summarize(try await access.usage(key: grant.record.info.id, since: try since(request))))
            },
            Route(.get, "/api/operator/keys",
                  RouteDoc(summary: "Operator only: every API key (never the secrets)", tag: "keys",
                           response: .json(Schema.array(keyInfo)), errors: [401, 503])) { request, _ in
                try await OperatorRoutes.authorize(request, auth: auth)
                return Reply.json(try await access.call("listkeys", KeyFilter(), as: [KeyInfo].self))
            },
            Route(.post, "/api/operator/keys",
                  RouteDoc(summary: "Operator only: create an API key (the secret is in this answer only)", tag: "keys",
                           response: .json(created), errors: [400, 401, 503],
                           jsonBody: Schema.object(["name": ["type": "string"], "rps": ["type": "integer"], "daily": ["type": "integer"],
                                                    "origins": Schema.array(["type": "string"]), "methods": Schema.array(["type": "string"]),
                                                    "account": ["type": "string"], "accountName": ["type": "string"]], required: ["name"]))) { request, _ in
                try await OperatorRoutes.authorize(request, auth: auth)
                var request = request
                let buffer = try await request.collectBody(upTo: 64 * 1024)
                let body: CreateBody
                do { body = try JSONDecoder().decode(CreateBody.self, from: Data(buffer: buffer)) } catch {
                    throw APIError.badRequest("bad-request", "the body must be JSON {name, rps?, daily?, origins?, methods?, account?}")
                }
                let key = NewKey(name: body.name, account: body.account, accountName: body.accountName, rps: body.rps ?? 0,
                                 daily: body.daily ?? 0, origins: body.origins ?? [], methods: body.methods ?? [])
                return Reply.json(try await access.call("createkey", key, as: CreatedKey.self), status: .created)
            },
            Route(.post, "/api/operator/keys/:id/revoke",
                  RouteDoc(summary: "Operator only: revoke a key (every edge refuses it at once)", tag: "keys",
                           params: [("id", ["type": "string"], "key id")], response: .json(keyInfo), errors: [400, 401, 404, 503])) { request, context in
                try await OperatorRoutes.authorize(request, auth: auth)
                return Reply.json(try await access.call("revokekey", KeyRef(id: try keyID(context)), as: KeyInfo.self))
            },
            Route(.post, "/api/operator/keys/:id/rotate",
                  RouteDoc(summary: "Operator only: a new secret for a key (same id, limits and usage; the old secret stops at once)", tag: "keys",
                           params: [("id", ["type": "string"], "key id")], response: .json(created), errors: [400, 401, 404, 503])) { request, context in
                try await OperatorRoutes.authorize(request, auth: auth)
                return Reply.json(try await access.call("rotatekey", KeyRef(id: try keyID(context)), as: CreatedKey.self))
            },
            Route(.get, "/api/operator/usage",
                  RouteDoc(summary: "Operator only: every key's usage per method and hour, and per UTC day; `since` a Unix time", tag: "keys",
                           response: .json(usage), errors: [400, 401, 503])) { request, _ in
                try await OperatorRoutes.authorize(request, auth: auth)
                return Reply.json(summarize(try await access.usage(key: nil, since: try since(request))))
            },
        ]
    }
}

extension AccessControl {
    /// The operator's anonymous policy for a keyless request or WebSocket upgrade: admitted, 401
    /// when keyless access is off, 429 over the per-address rate.
    func admitKeyless(address: SocketAddress?) throws {
        switch admitAnonymous(address: address) {
        case .admitted:
            return
        case .refused("off", _, _, _):
            throw APIError(.unauthorized, "api-key-required",
                           "this node serves keyed requests only: /v1/<key>/… or an X-API-Key header (ask its operator for a key)",
                           headers: [.wwwAuthenticate: "ApiKey realm=\"cairn\""])
        case .refused(_, let retryAfter, _, _):
            let rps = anonymous.rps ?? 0
            throw KeyLimits.tooMany(code: "rate-limited", message: "keyless requests are limited to \(rps) a second per client address; use an API key for more",
                                 policy: "\"anonymous\";q=\(rps);w=1", limit: "\"anonymous\";r=0;t=\(KeyLimits.seconds(retryAfter))",
                                 retryAfter: retryAfter)
        }
    }
}
