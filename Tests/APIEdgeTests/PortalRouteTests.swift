@testable import APIEdge
import Bus
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import NodeKit
import Synchronization
import Testing

/// The developer portal's accounts methods, in memory, answering as the real service does (its
/// own behaviour is tested in AccountsTests): what the edge's routes must map to statuses.
final class FakePortal: Sendable {
    let server: RequestServer
    let publisher: Publisher
    var endpoints: AccountsEndpoints { AccountsEndpoints(rpc: server.endpoints[0], pub: publisher.endpoints[0]) }

    struct State {
        var signup = true
        var passwords: [String: String] = ["taken": "taken-password"]
        /// session token → account name
        var sessions: [String: String] = [:]
        /// key id → (account name, revoked)
        var keys: [String: (account: String, revoked: Bool)] = [:]
    }
    final class Shared: Sendable {
        let m = Mutex(State())
        func withLock<T: Sendable>(_ body: (inout State) throws -> T) rethrows -> T { try m.withLock { try body(&$0) } }
    }
    let state = Shared()
    static let maxKeys = 2

    static func token() -> String { "cs_" + (0..<43).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789-_".randomElement()! }.map(String.init).joined() }
    static func keyID() -> String { (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined() }

    init(context: ZMQContext) async throws {
        publisher = try await Publisher(context: context, bind: ["tcp://127.0.0.1:*"])
        let state = self.state
        @Sendable func account(_ session: String) throws(RPCError) -> String {
            guard let name = state.withLock({ $0.sessions[session] }) else { throw RPCError("unauthorized", "the session has ended or expired: log in again") }
            return name
        }
        @Sendable func info(_ id: String, _ account: String, revoked: Bool) -> KeyInfo {
            KeyInfo(id: id, account: account, name: "k", rps: 20, daily: 100, origins: [], methods: [], created: 1, revoked: revoked ? 2 : nil)
        }
        @Sendable func own(_ session: String, _ id: String) throws -> String {
            let name = try account(session)
            guard state.withLock({ $0.keys[id]?.account }) == name else { throw RPCError.notFound("no key \(id) in this account") }
            return name
        }
        let router = RPCRouter([
            "portalinfo": RPCRouter.method(Empty.self) { _ in
                PortalInfo(signup: state.withLock { $0.signup }, keyRPS: 20, keyDaily: 100, maxKeys: Self.maxKeys, sessionSeconds: 3600)
            },
            "signup": RPCRouter.method(PortalCredentials.self) { p in
                try state.withLock { s in
                    guard s.signup else { throw RPCError("signup-closed", "sign-up is closed on this node") }
                    guard s.passwords[p.name] == nil else { throw RPCError("account-exists", "an account named '\(p.name)' exists already") }
                    guard p.password.count >= 8 else { throw RPCError.badParams("a password has at least 8 characters") }
                    s.passwords[p.name] = p.password
                    let t = Self.token()
                    s.sessions[t] = p.name
                    return PortalSession(token: t, account: AccountInfo(id: p.name, name: p.name, created: 1), expires: 3601)
                }
            },
            "login": RPCRouter.method(PortalCredentials.self) { p in
                try state.withLock { s in
                    if p.name == "throttled" { throw RPCError("too-many-attempts", "too many failed logins for this name: try again in 300 s") }
                    guard s.passwords[p.name] == p.password else { throw RPCError("unauthorized", "wrong account name or password") }
                    let t = Self.token()
                    s.sessions[t] = p.name
                    return PortalSession(token: t, account: AccountInfo(id: p.name, name: p.name, created: 1), expires: 3601)
                }
            },
            "logout": RPCRouter.method(PortalAuth.self) { p in
                state.withLock { _ = $0.sessions.removeValue(forKey: p.session) }
                return Empty()
            },
            "mykeys": RPCRouter.method(PortalAuth.self) { p in
                let name = try account(p.session)
                return state.withLock { s in s.keys.filter { $0.value.account == name }.map { info($0.key, name, revoked: $0.value.revoked) } }
            },
            "mycreatekey": RPCRouter.method(PortalNewKey.self) { p in
                let name = try account(p.session)
                return try state.withLock { s in
                    guard !p.name.isEmpty else { throw RPCError.badParams("a key name is 1 to 100 characters") }
                    guard s.keys.values.filter({ $0.account == name && !$0.revoked }).count < Self.maxKeys else {
                        throw RPCError("too-many-keys", "an account holds at most \(Self.maxKeys) active keys")
                    }
                    let id = Self.keyID()
                    s.keys[id] = (name, false)
                    return CreatedKey(info: info(id, name, revoked: false), key: APIKeyFormat.format(id: id, secret: String(repeating: "s", count: 43)))
                }
            },
            "myrotatekey": RPCRouter.method(PortalKeyRef.self) { p in
                let name = try own(p.session, p.id)
                guard state.withLock({ $0.keys[p.id]?.revoked }) == false else { throw RPCError("key-revoked", "key \(p.id) is revoked") }
                return CreatedKey(info: info(p.id, name, revoked: false), key: APIKeyFormat.format(id: p.id, secret: String(repeating: "t", count: 43)))
            },
            "myrevokekey": RPCRouter.method(PortalKeyRef.self) { p in
                let name = try own(p.session, p.id)
                state.withLock { $0.keys[p.id]?.revoked = true }
                return info(p.id, name, revoked: true)
            },
            "myusage": RPCRouter.method(PortalUsageQuery.self) { p in
                let name = p.key == nil ? try account(p.session) : try own(p.session, p.key!)
                let ids = state.withLock { s in s.keys.filter { $0.value.account == name && (p.key == nil || $0.key == p.key) }.map(\.key) }
                return ids.map { UsageRow(key: $0, method: "getblockcount", hour: 1_795_560_000, requests: 4, errors: 1, refused: 0) }
            },
        ])
        server = try await RequestServer(context: context, bind: ["tcp://127.0.0.1:*"]) { await router.handle($0) }
    }

    func stop() async {
        await server.stop()
        await publisher.stop()
    }

    /// Runs `body` against an edge whose accounts service is this fake.
    static func with<T: Sendable>(configure: @escaping (inout EdgeConfig) -> Void = { _ in },
                                  _ body: @Sendable (Stack, FakePortal) async throws -> T) async throws -> T {
        let context = try ZMQContext()
        let portal = try await FakePortal(context: context)
        do {
            let result = try await Stack.with(configure: { c in c.accounts = portal.endpoints; configure(&c) }) { s in try await body(s, portal) }
            await portal.stop()
            await context.terminate()
            return result
        } catch {
            await portal.stop()
            await context.terminate()
            throw error
        }
    }
}

@Suite("Developer portal routes at the edge")
struct PortalRouteTests {
    static func json(_ value: [String: Any]) -> ByteBuffer { ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: value)) }
    static func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)", .contentType: "application/json"] }

    @Test func signUpCreateRotateRevokeAndUsage() async throws {
        try await FakePortal.with { s, _ in
            try await s.http { c in
                let info = try await c.execute(uri: "/api/portal", method: .get)
                #expect(info.status == .ok && info.object["signup"] as? Bool == true)
                let signup = try await c.execute(uri: "/api/portal/signup", method: .post, body: Self.json(["name": "alice", "password": "alice-password"]))
                #expect(signup.status == .created, "\(signup.text)")
                let token = try #require(signup.object["token"] as? String)
                let auth = Self.bearer(token)
                #expect(try await c.execute(uri: "/api/portal/keys", method: .get, headers: auth).array.isEmpty)
                let created = try await c.execute(uri: "/api/portal/keys", method: .post, headers: auth, body: Self.json(["name": "my app"]))
                #expect(created.status == .created)
                let id = try #require((created.object["info"] as? [String: Any])?["id"] as? String)
                #expect((created.object["key"] as? String)?.hasPrefix("ck_\(id)_") == true)
                #expect(try await c.execute(uri: "/api/portal/keys", method: .get, headers: auth).array.map { $0["id"] as? String } == [id])
                let rotated = try await c.execute(uri: "/api/portal/keys/\(id)/rotate", method: .post, headers: auth)
                #expect(rotated.status == .ok && rotated.object["key"] as? String != created.object["key"] as? String)
                let usage = try await c.execute(uri: "/api/portal/usage?key=\(id)", method: .get, headers: auth)
                #expect(usage.status == .ok)
                #expect((usage.object["hours"] as? [[String: Any]])?.first?["requests"] as? Int == 4)
                #expect((usage.object["days"] as? [[String: Any]])?.first?["errors"] as? Int == 1)
                let revoked = try await c.execute(uri: "/api/portal/keys/\(id)", method: .delete, headers: auth)
                #expect(revoked.status == .ok && revoked.object["revoked"] is Double)
                expectError(try await c.execute(uri: "/api/portal/keys/\(id)/rotate", method: .post, headers: auth), .conflict, "key-revoked")
                #expect(try await c.execute(uri: "/api/portal/logout", method: .post, headers: auth).status == .ok)
                expectError(try await c.execute(uri: "/api/portal/keys", method: .get, headers: auth), .unauthorized, "unauthorized")
                let login = try await c.execute(uri: "/api/portal/login", method: .post, body: Self.json(["name": "alice", "password": "alice-password"]))
                #expect(login.status == .ok && login.object["token"] is String)
            }
        }
    }

    @Test func everyPortalErrorHasItsStatus() async throws {
        try await FakePortal.with { s, portal in
            try await s.http { c in
                // No session, a malformed or an unknown one: 401 with a Bearer challenge.
                let none = try await c.execute(uri: "/api/portal/keys", method: .get)
                expectError(none, .unauthorized, "unauthorized")
                #expect(none.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                expectError(try await c.execute(uri: "/api/portal/keys", method: .get, headers: [.authorization: "Basic eDp5"]), .unauthorized, "unauthorized")
                expectError(try await c.execute(uri: "/api/portal/usage", method: .get, headers: Self.bearer(FakePortal.token())), .unauthorized, "unauthorized")
                // Wrong password: 401 (after the wait); throttled name: 429.
                expectError(try await c.execute(uri: "/api/portal/login", method: .post, body: Self.json(["name": "taken", "password": "not-it-at-all"])),
                            .unauthorized, "unauthorized")
                expectError(try await c.execute(uri: "/api/portal/login", method: .post, body: Self.json(["name": "throttled", "password": "whatever1"])),
                            .tooManyRequests, "too-many-attempts")
                // Bodies and parameters.
                expectError(try await c.execute(uri: "/api/portal/signup", method: .post, body: ByteBuffer(string: "name=x")), .badRequest, "bad-request")
                expectError(try await c.execute(uri: "/api/portal/login", method: .post, body: Self.json(["name": "x"])), .badRequest, "bad-request")
                expectError(try await c.execute(uri: "/api/portal/signup", method: .post, body: Self.json(["name": "bob", "password": "short"])),
                            .badRequest, "bad-request")
                expectError(try await c.execute(uri: "/api/portal/signup", method: .post, body: Self.json(["name": "taken", "password": "long-enough"])),
                            .conflict, "account-exists")
                let bob = try await c.execute(uri: "/api/portal/signup", method: .post, body: Self.json(["name": "bob", "password": "bob-password"]))
                let auth = Self.bearer(try #require(bob.object["token"] as? String))
                expectError(try await c.execute(uri: "/api/portal/keys", method: .post, headers: auth, body: Self.json(["name": ""])), .badRequest, "bad-request")
                expectError(try await c.execute(uri: "/api/portal/keys", method: .post, headers: auth, body: Self.json(["nom": "x"])), .badRequest, "bad-request")
                expectError(try await c.execute(uri: "/api/portal/keys/nothex/rotate", method: .post, headers: auth), .badRequest, "bad-key-id")
                expectError(try await c.execute(uri: "/api/portal/keys/NOTHEX", method: .delete, headers: auth), .badRequest, "bad-key-id")
                expectError(try await c.execute(uri: "/api/portal/usage?key=zz", method: .get, headers: auth), .badRequest, "bad-key-id")
                expectError(try await c.execute(uri: "/api/portal/usage?since=yesterday", method: .get, headers: auth), .badRequest, "bad-request")
                // Another account's key: 404, as a key that does not exist.
                let alice = try await c.execute(uri: "/api/portal/signup", method: .post, body: Self.json(["name": "alice", "password": "alice-password"]))
                let aliceAuth = Self.bearer(try #require(alice.object["token"] as? String))
                let key = try await c.execute(uri: "/api/portal/keys", method: .post, headers: aliceAuth, body: Self.json(["name": "a"]))
                let id = try #require((key.object["info"] as? [String: Any])?["id"] as? String)
                expectError(try await c.execute(uri: "/api/portal/keys/\(id)", method: .delete, headers: auth), .notFound, "not-found")
                expectError(try await c.execute(uri: "/api/portal/keys/\(id)/rotate", method: .post, headers: auth), .notFound, "not-found")
                expectError(try await c.execute(uri: "/api/portal/usage?key=\(id)", method: .get, headers: auth), .notFound, "not-found")
                // Too many keys: 409.
                _ = try await c.execute(uri: "/api/portal/keys", method: .post, headers: aliceAuth, body: Self.json(["name": "b"]))
                expectError(try await c.execute(uri: "/api/portal/keys", method: .post, headers: aliceAuth, body: Self.json(["name": "c"])),
                            .conflict, "too-many-keys")
                // Sign-up closed by the operator: 403.
                portal.state.withLock { $0.signup = false }
                expectError(try await c.execute(uri: "/api/portal/signup", method: .post, body: Self.json(["name": "carol", "password": "carol-password"])),
                            .forbidden, "signup-closed")
                #expect(try await c.execute(uri: "/api/portal", method: .get).object["signup"] as? Bool == false)
            }
        }
    }

    @Test func theAccountsServiceDownIs503() async throws {
        let nowhere = "ipc://" + FileManager.default.temporaryDirectory.appendingPathComponent("cairn-nobody-\(UUID().uuidString.prefix(8))").path
        try await Stack.with(configure: { $0.accounts = AccountsEndpoints(rpc: nowhere, pub: nowhere) }) { s in
            try await s.http { c in
                let r = try await c.execute(uri: "/api/portal/keys", method: .get, headers: Self.bearer(FakePortal.token()))
                expectError(r, .serviceUnavailable, "accounts-unavailable")
                #expect(r.headers[.retryAfter] == "1")
            }
        }
    }

    @Test func thePortalNeedsNoKeyWhereKeylessAccessIsOffAndAllowsDELETEFromThePage() async throws {
        try await FakePortal.with(configure: { $0.anonymous = AnonymousPolicy(rps: 0, limitLoopback: true) }) { s, _ in
            try await s.http { c in
                expectError(try await c.execute(uri: "/api/blocks/tip/height", method: .get), .unauthorized, "api-key-required")
                #expect(try await c.execute(uri: "/api/portal", method: .get).status == .ok)
                let signup = try await c.execute(uri: "/api/portal/signup", method: .post, body: Self.json(["name": "erin", "password": "erin-password"]))
                #expect(signup.status == .created)
                let preflight = try await c.execute(uri: "/api/portal/keys/0123456789abcdef", method: .options,
                                                    headers: [.origin: "http://127.0.0.1:8341", .accessControlRequestMethod: "DELETE",
                                                              .accessControlRequestHeaders: "authorization"])
                #expect(preflight.headers[.accessControlAllowMethods]?.contains("DELETE") == true)
                #expect(preflight.headers[.accessControlAllowOrigin] == "http://127.0.0.1:8341")
            }
        }
    }

    /// The portal's fetch snippet runs in a page: a refused key's 401 (answered before the router)
    /// must carry CORS for an allowed origin, or the page sees "Failed to fetch" instead of the status.
    @Test func aRefusedKeysAnswerCarriesCORSForAnAllowedOrigin() async throws {
        try await Stack.with { s in
            let key = s.accounts.add()
            let origin: HTTPFields = [.origin: "http://127.0.0.1:8341"]
            try await s.http { c in
                let unknown = APIKeyFormat.format(id: "0123456789abcdef", secret: String(repeating: "x", count: 43))
                let refused = try await c.execute(uri: "/v1/\(unknown)/rpc", method: .post, headers: origin,
                                                  body: ByteBuffer(string: #"{"jsonrpc":"2.0","id":1,"method":"getblockcount"}"#))
                expectError(refused, .unauthorized, "invalid-api-key")
                #expect(refused.headers[.accessControlAllowOrigin] == "http://127.0.0.1:8341")
                let other = try await c.execute(uri: "/v1/\(unknown)/api/blocks/tip/height", method: .get, headers: [.origin: "https://elsewhere.example"])
                expectError(other, .unauthorized, "invalid-api-key")
                #expect(other.headers[.accessControlAllowOrigin] == nil)
                let ok = try await c.execute(uri: "/v1/\(key)/api/blocks/tip/height", method: .get, headers: origin)
                #expect(ok.status == .ok && ok.headers[.accessControlAllowOrigin] == "http://127.0.0.1:8341")
            }
        }
    }
}
