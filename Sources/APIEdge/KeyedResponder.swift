import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NodeKit

extension HTTPField.Name {
    static let xAPIKey = HTTPField.Name("X-API-Key")!
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
