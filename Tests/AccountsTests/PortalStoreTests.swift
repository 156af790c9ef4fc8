@testable import Accounts
import Foundation
import GRDB
import Logging
import NodeKit
import Synchronization
import Testing

/// The developer portal's part of the accounts service (migration v2): passwords, sessions, and the
/// session-scoped key methods, in process on a temporary accounts.sqlite.
@Suite("Accounts service: developer portal")
struct PortalStoreTests {
    /// The fewest PBKDF2 rounds swift-crypto allows: the tests check the format and the comparisons, not the cost.
    static let rounds = 210_000

    static func service(_ store: Store, signup: Bool = true, throttle: LoginThrottle = LoginThrottle()) -> AccountsService {
        var policy = PortalPolicy(signup: signup)
        policy.passwordIterations = rounds
        return AccountsService(store: store, publisher: nil, portal: policy, throttle: throttle, logger: Logger(label: "test.accounts"))
    }

    static func code(_ body: () async throws -> some Any) async -> String? {
        do {
            _ = try await body()
            return nil
        } catch let e as RPCError {
            return e.code
        } catch {
            return "\(error)"
        }
    }

    @Test func thePasswordIsStoredAsAPBKDF2HashAndOnlyItOpensASession() async throws {
        try await AccountsTests.withStore { store in
            let session = try await store.signup(name: "alice", password: "correct horse", sessionSeconds: 3600, iterations: Self.rounds)
            #expect(session.token.hasPrefix("cs_") && session.token.count == 46)
            #expect(try await store.sessionAccount(session.token) == session.account)
            let stored = try await store.db.read { db in try String.fetchOne(db, sql: "SELECT password FROM account WHERE name = 'alice'") }
            let parts = try #require(stored).split(separator: "$")
            #expect(parts.count == 4 && parts[0] == "pbkdf2-sha256" && parts[1] == "\(Self.rounds)")
            #expect(Data(base64Encoded: String(parts[2]))?.count == 16 && Data(base64Encoded: String(parts[3]))?.count == 32)
            // Neither the password nor the session token is in the file.
            let dump = try await store.db.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM account").description + Row.fetchAll(db, sql: "SELECT * FROM session").description
            }
            #expect(!dump.contains("correct horse") && !dump.contains(session.token))

            let again = try await store.login(name: "alice", password: "correct horse", sessionSeconds: 3600)
            #expect(again.account == session.account && again.token != session.token)
            #expect(await Self.code { try await store.login(name: "alice", password: "correct horsE", sessionSeconds: 3600) } == "unauthorized")
            #expect(await Self.code { try await store.login(name: "nobody", password: "correct horse", sessionSeconds: 3600) } == "unauthorized")
            #expect(await Self.code { try await store.signup(name: "alice", password: "another one", sessionSeconds: 1, iterations: Self.rounds) }
                    == "account-exists")
            #expect(await Self.code { try await store.signup(name: "Operator", password: "another one", sessionSeconds: 1, iterations: Self.rounds) }
                    == "account-exists")
            #expect(await Self.code { try await store.signup(name: "bob", password: "short", sessionSeconds: 1, iterations: Self.rounds) } == "bad-params")
            // An account the operator made has no password: it cannot log in.
            _ = try await store.createAccount(name: "ops-made")
            #expect(await Self.code { try await store.login(name: "ops-made", password: "", sessionSeconds: 1) } == "unauthorized")
        }
    }

    @Test func aSessionEndsAtItsExpiryOrAtLogout() async throws {
        try await AccountsTests.withStore { store in
            let t = 2_000_000_000.0
            let s = try await store.signup(name: "carol", password: "password1", sessionSeconds: 60, iterations: Self.rounds, now: t)
            #expect(try await store.sessionAccount(s.token, now: t + 59).name == "carol")
            #expect(await Self.code { try await store.sessionAccount(s.token, now: t + 60) } == "unauthorized")
            let l = try await store.login(name: "carol", password: "password1", sessionSeconds: 60, now: t)
            try await store.logout(l.token)
            #expect(await Self.code { try await store.sessionAccount(l.token, now: t + 1) } == "unauthorized")
            #expect(await Self.code { try await store.sessionAccount("cs_nothing", now: t) } == "unauthorized")
        }
    }

    @Test func anAccountSeesAndChangesOnlyItsOwnKeys() async throws {
        try await AccountsTests.withStore { store in
            let service = Self.service(store)
            let alice = try await service.portalSignup(PortalCredentials(name: "alice", password: "alice-password"))
            let bob = try await service.portalSignup(PortalCredentials(name: "bob", password: "bob-password"))
            let key = try await service.myCreateKey(PortalNewKey(session: alice.token, name: "my app"))
            #expect(key.info.account == alice.account.id)
            #expect(key.info.rps == service.portal.keyRPS && key.info.daily == service.portal.keyDaily)
            let operatorKey = try await store.createKey(NewKey(name: "ops", rps: 0, daily: 0))
            try await store.apply(UsageReport(edge: "e", sequence: 1, counts: [
                UsageCount(key: key.info.id, method: "getblockcount", hour: Int(Date().timeIntervalSince1970) / 3600 * 3600, requests: 3, errors: 0, refused: 1),
                UsageCount(key: operatorKey.info.id, method: "getblockcount", hour: Int(Date().timeIntervalSince1970) / 3600 * 3600, requests: 9, errors: 0, refused: 0),
            ]))

            // Bob sees none of it and can change none of it.
            #expect(try await store.keys(account: try await store.sessionAccount(bob.token).id).isEmpty)
            for id in [key.info.id, operatorKey.info.id] {
                #expect(await Self.code { try await service.myRevokeKey(PortalKeyRef(session: bob.token, id: id)) } == "not-found")
                #expect(await Self.code { try await service.myRotateKey(PortalKeyRef(session: bob.token, id: id)) } == "not-found")
                #expect(await Self.code { try await service.myUsage(PortalUsageQuery(session: bob.token, key: id)) } == "not-found")
            }
            #expect(try await service.myUsage(PortalUsageQuery(session: bob.token)).isEmpty)
            #expect(try await store.record(id: key.info.id)?.info.revoked == nil)
            #expect(try await store.record(id: key.info.id)?.secretHash == Store.hash(APIKeyFormat.parse(key.key)!.secret))

            // Alice sees her key's usage only, rotates and revokes it.
            let usage = try await service.myUsage(PortalUsageQuery(session: alice.token))
            #expect(usage.map(\.key) == [key.info.id] && usage.first?.requests == 3 && usage.first?.refused == 1)
            let rotated = try await service.myRotateKey(PortalKeyRef(session: alice.token, id: key.info.id))
            #expect(rotated.info.id == key.info.id && rotated.key != key.key)
            #expect(try await service.myRevokeKey(PortalKeyRef(session: alice.token, id: key.info.id)).revoked != nil)
            // Without a live session, nothing.
            #expect(await Self.code { try await service.myCreateKey(PortalNewKey(session: "cs_" + String(repeating: "a", count: 43), name: "x")) }
                    == "unauthorized")
        }
    }

    @Test func repeatedFailedLoginsAreThrottledEvenWithTheRightPassword() async throws {
        try await AccountsTests.withStore { store in
            let clock = Clock(2_000_000_000)
            let service = Self.service(store, throttle: LoginThrottle(now: { clock.now }))
            _ = try await service.portalSignup(PortalCredentials(name: "dave", password: "dave-password"))
            for _ in 0..<LoginThrottle.maxFailures {
                #expect(await Self.code { try await service.portalLogin(PortalCredentials(name: "dave", password: "guess-guess")) } == "unauthorized")
            }
            #expect(await Self.code { try await service.portalLogin(PortalCredentials(name: "dave", password: "dave-password")) } == "too-many-attempts")
            #expect(await Self.code { try await service.portalLogin(PortalCredentials(name: "DAVE", password: "dave-password")) } == "too-many-attempts")
            clock.now += LoginThrottle.window
            #expect(try await service.portalLogin(PortalCredentials(name: "dave", password: "dave-password")).account.name == "dave")
        }
    }

    @Test func signUpOnlyWhereTheOperatorAllowsIt() async throws {
        try await AccountsTests.withStore { store in
            let closed = Self.service(store, signup: false)
            #expect(await Self.code { try await closed.portalSignup(PortalCredentials(name: "erin", password: "erin-password")) } == "signup-closed")
            #expect(!closed.portal.info.signup)
            #expect(PortalPolicy.defaultFor(regtest: true).signup && !PortalPolicy.defaultFor(regtest: false).signup)
        }
    }

    @Test func aVersion1FileKeepsItsKeysAfterTheMigration() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-accounts-v1-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("accounts.sqlite").path
        let created: CreatedKey
        do {
            let pool = try DatabasePool(path: path)
            try Store.migrator().migrate(pool, upTo: "v1")
            created = try await Store(db: pool).createKey(NewKey(name: "old", rps: 5, daily: 50, methods: ["getblockcount"]))
            #expect(try await pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM sqlite_master WHERE name = 'session'") } == nil)
            try pool.close()
        }
        let store = try Store.open(path: path)
        defer { try? store.db.close() }
        let record = try #require(try await store.record(id: created.info.id))
        #expect(record.info == created.info)
        #expect(record.secretHash == Store.hash(APIKeyFormat.parse(created.key)!.secret))
        #expect(try await store.accounts().map(\.name) == ["operator"])
        #expect(await Self.code { try await store.login(name: "operator", password: "whatever1", sessionSeconds: 60) } == "unauthorized")
        #expect(try await store.db.read { db in try Store.migrator().appliedIdentifiers(db) } == ["v1", "v2", "usage-credits"])
    }
}

/// A settable wall clock for the throttle.
final class Clock: Sendable {
    private let value: Mutex<Double>
    init(_ t: Double) { value = Mutex(t) }
    var now: Double {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}
