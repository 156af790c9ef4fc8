import Bus
import Foundation
import HTTPTypes
import Hummingbird
import NodeKit

/// The developer portal's routes (`/api/portal/…`): sign up, log in, and a logged-in account's own
/// keys and usage. The edge keeps nothing: each request is forwarded to the accounts service's
/// portal methods (`signup`, `login`, `logout`, `mykeys`, `mycreatekey`, `myrotatekey`,
/// `myrevokekey`, `myusage`, `portalinfo`) with the session token from `Authorization: Bearer cs_…`;
/// the service decides what the session's account may see or change. Not keyed (their own
/// credentials, as the operator's routes), so they work where keyless access is off.
enum PortalRoutes {
    struct CredentialsBody: Codable, Sendable {
        var name: String
        var password: String
    }

    struct KeyBody: Codable, Sendable {
        var name: String
    }

    static let session = Schema.object(["token": ["type": "string", "description": "cs_<43 base64url>, the session (Authorization: Bearer); shown once"],
                                        "account": Schema.object(["id": ["type": "string"], "name": ["type": "string"], "created": ["type": "number"]]),
                                        "expires": ["type": "number", "description": "Unix time"]])
    static let info = Schema.object(["signup": ["type": "boolean"], "keyRPS": ["type": "integer"], "keyDaily": ["type": "integer"],
                                     "maxKeys": ["type": "integer"], "sessionSeconds": ["type": "integer"]])
    static let credentials = Schema.object(["name": ["type": "string"], "password": ["type": "string", "minLength": 8]])
    static let keyID: [(name: String, schema: JSONValue, description: String)] = [("id", ["type": "string"], "key id (16 hex digits)")]

    /// The accounts service's answer (through the edge's accounts client), its errors mapped to the
    /// edge's: 401, 403 sign-up closed, 404, 409 name taken or too many keys, 429, 400, 503.
    static func call<P: Encodable & Sendable, R: Codable & Sendable>(_ access: AccessControl, _ method: AccountsMethod, _ params: P, as: R.Type) async throws -> R {
        do {
            return try await access.call(method, params, as: R.self)
        } catch let e as APIError {
            throw remap(e)
        }
    }

    static func remap(_ e: APIError) -> APIError {
        if e.code == "service-unavailable" {
            return APIError(.serviceUnavailable, "accounts-unavailable", "the accounts service does not answer; retry shortly",
                            headers: [.retryAfter: "1"])
        }
        switch PortalErrorCode(rawValue: e.code) {
        case .unauthorized?:
            return APIError(.unauthorized, e.code, e.message, headers: [.wwwAuthenticate: "Bearer realm=\"cairn-portal\""])
        case .signupClosed?: return APIError(.forbidden, e.code, e.message)
        case .accountExists?, .tooManyKeys?, .keyRevoked?: return APIError(.conflict, e.code, e.message)
        case .tooManyAttempts?: return APIError(.tooManyRequests, e.code, e.message)
        case nil: return e
        }
    }

    /// The session token of `Authorization: Bearer cs_…`; 401 without one.
    static func session(_ request: Request) throws -> String {
        let header = request.headers[.authorization]?.trimmingCharacters(in: .whitespaces) ?? ""
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else {
            throw APIError(.unauthorized, PortalErrorCode.unauthorized.rawValue, "log in first: send the session as Authorization: Bearer cs_…",
                           headers: [.wwwAuthenticate: "Bearer realm=\"cairn-portal\""])
        }
        return String(parts[1]).trimmingCharacters(in: .whitespaces)
    }

    static func body<T: Decodable>(_ request: Request, as: T.Type, shape: String) async throws -> T {
        var request = request
        let buffer = try await request.collectBody(upTo: 16 * 1024)
        do { return try JSONDecoder().decode(T.self, from: Data(buffer: buffer)) } catch {
            throw APIError.badRequest("bad-request", "the body must be JSON \(shape)")
        }
    }

    static func keyID(_ context: EdgeContext) throws -> String {
        let id = try Param.raw(context, "id")
        guard APIKeyFormat.isID(id) else { throw APIError.badRequest("bad-key-id", "'\(id.prefix(40))' is not a key id (16 hex digits)") }
        return id
    }

    /// Sign-up and login derive a password hash (PBKDF2, a fraction of a second): a client of their
    /// own with a longer wait than the key lookups' (closed after the call).
    static func slowCall<P: Encodable & Sendable>(_ edge: Edge, _ method: AccountsMethod, _ params: P) async throws -> PortalSession {
        let client = try await RPCClient(context: edge.context, endpoint: edge.config.accounts.rpc, timeout: .seconds(5), retries: 2,
                                         curve: edge.config.bus.client(of: .accounts))
        do {
            let session = try await client.call(method, params, as: PortalSession.self)
            await client.stop()
            return session
        } catch let e as RPCError {
            await client.stop()
            throw remap(APIError.fromRPC(e, service: .accounts))
        } catch let e as BusError {
            await client.stop()
            throw remap(APIError.fromBus(e, service: .accounts))
        } catch {
            await client.stop()
            throw error
        }
    }

    static func routes(_ edge: Edge) -> [Route] {
        let access = edge.access
        return [
            Route(.get, "/api/portal",
                  RouteDoc(summary: "The developer portal: whether sign-up is open on this node, and the limits of a key made on the portal",
                           tag: "portal", response: .json(info), errors: [503])) { _, _ in
                Reply.json(try await call(access, .portalinfo, Empty(), as: PortalInfo.self))
            },
            Route(.post, "/api/portal/signup",
                  RouteDoc(summary: "Create an account with a name and a password (where the operator allows it) and log in: the session is in this answer only",
                           tag: "portal", response: .json(session), errors: [400, 403, 409, 503], jsonBody: credentials)) { request, _ in
                let b = try await body(request, as: CredentialsBody.self, shape: "{name, password}")
                return Reply.json(try await slowCall(edge, .signup, PortalCredentials(name: b.name, password: b.password)), status: .created)
            },
            Route(.post, "/api/portal/login",
                  RouteDoc(summary: "Log in: a session (Authorization: Bearer) for the portal's other routes; a wrong name or password waits, then 401; repeated failures of a name: 429",
                           tag: "portal", response: .json(session), errors: [400, 401, 429, 503], jsonBody: credentials)) { request, _ in
                let b = try await body(request, as: CredentialsBody.self, shape: "{name, password}")
                do {
                    return Reply.json(try await slowCall(edge, .login, PortalCredentials(name: b.name, password: b.password)))
                } catch let e as APIError where e.status == .unauthorized {
                    try await Task.sleep(for: OperatorAuth.wrongCredentialsDelay)
                    throw e
                }
            },
            Route(.post, "/api/portal/logout",
                  RouteDoc(summary: "End the session", tag: "portal", response: .json(Schema.object([:])), errors: [401, 503])) { request, _ in
                _ = try await call(access, .logout, PortalAuth(session: try session(request)), as: Empty.self)
                return Reply.json(Empty())
            },
            Route(.get, "/api/portal/keys",
                  RouteDoc(summary: "The session's account's keys (never the secrets), revoked ones too", tag: "portal",
                           response: .json(Schema.array(KeyRoutes.keyInfo)), errors: [401, 503])) { request, _ in
                Reply.json(try await call(access, .mykeys, PortalAuth(session: try session(request)), as: [KeyInfo].self))
            },
            Route(.post, "/api/portal/keys",
                  RouteDoc(summary: "A new key of the session's account, with the portal's limits (the secret is in this answer only)", tag: "portal",
                           response: .json(KeyRoutes.created), errors: [400, 401, 409, 503],
                           jsonBody: Schema.object(["name": ["type": "string"]]))) { request, _ in
                let token = try session(request)
                let b = try await body(request, as: KeyBody.self, shape: "{name}")
                return Reply.json(try await call(access, .mycreatekey, PortalNewKey(session: token, name: b.name), as: CreatedKey.self),
                                  status: .created)
            },
            Route(.post, "/api/portal/keys/:id/rotate",
                  RouteDoc(summary: "A new secret for one of the account's keys (same id, limits and usage; the old secret stops at once)", tag: "portal",
                           params: keyID, response: .json(KeyRoutes.created), errors: [400, 401, 404, 409, 503])) { request, context in
                let ref = PortalKeyRef(session: try session(request), id: try keyID(context))
                return Reply.json(try await call(access, .myrotatekey, ref, as: CreatedKey.self))
            },
            Route(.delete, "/api/portal/keys/:id",
                  RouteDoc(summary: "Revoke one of the account's keys (every edge refuses it at once)", tag: "portal",
                           params: keyID, response: .json(KeyRoutes.keyInfo), errors: [400, 401, 404, 503])) { request, context in
                let ref = PortalKeyRef(session: try session(request), id: try keyID(context))
                return Reply.json(try await call(access, .myrevokekey, ref, as: KeyInfo.self))
            },
            Route(.get, "/api/portal/usage",
                  RouteDoc(summary: "Usage of the account's keys (or of `key`): per key, method and hour, and per UTC day; `since` a Unix time (default the last 24 hours)",
                           tag: "portal", response: .json(KeyRoutes.usage), errors: [400, 401, 404, 503])) { request, _ in
                let token = try session(request)
                let key = request.uri.queryParameters["key"].map(String.init)
                if let key, !APIKeyFormat.isID(key) { throw APIError.badRequest("bad-key-id", "'\(key.prefix(40))' is not a key id (16 hex digits)") }
                let rows = try await call(access, .myusage, PortalUsageQuery(session: token, key: key, since: try KeyRoutes.since(request)),
                                          as: [UsageRow].self)
                return Reply.json(KeyRoutes.summarize(rows))
            },
        ]
    }
}
