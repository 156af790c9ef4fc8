import Crypto
import _CryptoExtras
import Dispatch
import Foundation
import GRDB
import Logging
import NodeKit

/// Portal passwords: PBKDF2-HMAC-SHA256 (swift-crypto, as the wallet's keystore) over a random
/// 16-byte salt, `iterations` rounds, 32 bytes, stored as
/// `pbkdf2-sha256$<iterations>$<salt base64>$<derived base64>`; never the password itself.
/// The count is in each stored value, so raising `iterations` later keeps old passwords working.
enum PasswordHash {
    static let name = "pbkdf2-sha256"
    /// OWASP's figure for PBKDF2-HMAC-SHA256 (the same as the wallet's keystore).
    static let iterations = 600_000
    /// swift-crypto refuses fewer (and so does `verify`, for a stored value).
    static let minIterations = 210_000
    static let saltSize = 16
    static let minLength = 8
    static let maxBytes = 1024
    /// Derivations run here, one at a time: a fraction of a second of CPU each, never on the
    /// cooperative pool, and a flood of logins can take at most one core.
    private static let queue = DispatchQueue(label: "cairn.accounts.pbkdf2")

    static func derive(_ password: String, salt: [UInt8], iterations: Int) throws -> [UInt8] {
        let key = try KDF.Insecure.PBKDF2.deriveKey(from: Array(password.utf8), salt: salt, using: .sha256,
                                                    outputByteCount: 32, rounds: iterations)
        return key.withUnsafeBytes { Array($0) }
    }

    private static func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { c in queue.async { c.resume(with: Result { try work() }) } }
    }

    static func check(_ password: String) throws {
        guard password.count >= minLength, password.utf8.count <= maxBytes else {
            throw RPCError.badParams("a password has at least \(minLength) characters (and at most \(maxBytes) bytes)")
        }
    }

    static func make(_ password: String, iterations: Int = iterations) async throws -> String {
        var rng = SystemRandomNumberGenerator()
        let salt = (0..<saltSize).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let derived = try await offPool { try derive(password, salt: salt, iterations: iterations) }
        return "\(name)$\(iterations)$\(Data(salt).base64EncodedString())$\(Data(derived).base64EncodedString())"
    }

    /// Whether `password` matches `stored`. Without a usable stored value (no such account, or one
    /// the operator made, without a password) it derives against a dummy all the same, so that the
    /// answer takes as long and does not tell which names exist.
    static func verify(_ password: String, stored: String?) async throws -> Bool {
        let parts = (stored ?? "").split(separator: "$").map(String.init)
        guard parts.count == 4, parts[0] == name, let n = Int(parts[1]), (minIterations...10_000_000).contains(n),
              let salt = Data(base64Encoded: parts[2]), let expected = Data(base64Encoded: parts[3]) else {
            _ = try await offPool { try derive(password, salt: [UInt8](repeating: 0, count: saltSize), iterations: iterations) }
            return false
        }
        let derived = try await offPool { try derive(password, salt: Array(salt), iterations: n) }
        guard derived.count == expected.count else { return false }
        var diff: UInt8 = 0
        for (a, b) in zip(derived, expected) { diff |= a ^ b }
        return diff == 0
    }
}

/// Failed logins per account name: after `maxFailures` within `window` seconds the name is refused
/// (even with the right password) until the oldest of them is `window` old. In memory: a restart
/// forgets it, which costs an attacker a restart of the service per 5 guesses.
actor LoginThrottle {
    static let maxFailures = 5
    static let window = 300.0
    private var failures: [String: [Double]] = [:]
    private let now: @Sendable () -> Double

    init(now: @escaping @Sendable () -> Double = { ServiceSupport.now() }) { self.now = now }

    /// Seconds until the name may try again; nil when it may now.
    func wait(_ name: String) -> Double? {
        let t = now()
        let recent = (failures[name.lowercased()] ?? []).filter { t - $0 < Self.window }
        failures[name.lowercased()] = recent.isEmpty ? nil : recent
        guard recent.count >= Self.maxFailures, let oldest = recent.first else { return nil }
        return max(1, Self.window - (t - oldest))
    }

    func failed(_ name: String) {
        if failures.count > 100_000 { failures.removeAll() }
        failures[name.lowercased(), default: []].append(now())
    }

    func succeeded(_ name: String) { failures[name.lowercased()] = nil }
}

/// What the operator allows on the portal (`cairn-accounts --portal-signup`, `--portal-key-rps`, `--portal-key-daily`).
struct PortalPolicy: Sendable {
    var signup: Bool
    var keyRPS = 20
    var keyDaily = 100_000
    var maxKeys = 20
    var sessionSeconds = 12 * 3600
    /// PBKDF2 rounds of new passwords (tests lower it; each stored value keeps its own count).
    var passwordIterations = PasswordHash.iterations

    /// Sign-up is on by default on regtest only.
    static func defaultFor(regtest: Bool) -> PortalPolicy { PortalPolicy(signup: regtest) }

    var info: PortalInfo {
        PortalInfo(signup: signup, keyRPS: keyRPS, keyDaily: keyDaily, maxKeys: maxKeys, sessionSeconds: sessionSeconds)
    }
}

extension Store {
    static let sessionPrefix = "cs_"
    /// Names an account made on the portal may not take (`operator` holds the operator's keys).
    static let reservedNames: Set<String> = ["operator"]

    static func unauthorized(_ message: String) -> RPCError { RPCError(.unauthorized, message) }

    /// A new account with a password, and its first session.
    func signup(name: String, password: String, sessionSeconds: Int, iterations: Int = PasswordHash.iterations,
                now: Double = ServiceSupport.now()) async throws -> PortalSession {
        let name = try Self.checkName(name, what: "account name")
        guard !Self.reservedNames.contains(name.lowercased()) else { throw RPCError(.accountExists, "the name '\(name)' is reserved") }
        try PasswordHash.check(password)
        let taken = try await db.read { db in try Row.fetchOne(db, sql: "SELECT 1 FROM account WHERE name = ?", arguments: [name]) != nil }
        guard !taken else { throw RPCError(.accountExists, "an account named '\(name)' exists already") }
        let stored = try await PasswordHash.make(password, iterations: iterations)
        let token = Self.sessionPrefix + Self.randomSecret()
        return try await db.write { db in
            if try Row.fetchOne(db, sql: "SELECT 1 FROM account WHERE name = ?", arguments: [name]) != nil {
                throw RPCError(.accountExists, "an account named '\(name)' exists already")
            }
            let a = AccountInfo(id: Self.randomHex(8), name: name, created: now)
            try db.execute(sql: "INSERT INTO account (id, name, created, password) VALUES (?, ?, ?, ?)",
                           arguments: [a.id, a.name, a.created, stored])
            return try Self.insertSession(db, token: token, account: a, seconds: sessionSeconds, now: now)
        }
    }

    /// A session for the account when the password is its own; "unauthorized" otherwise (the same
    /// answer for an unknown name, a wrong password and an account without a password).
    func login(name: String, password: String, sessionSeconds: Int, now: Double = ServiceSupport.now()) async throws -> PortalSession {
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        let row = try await db.read { db in
            try Row.fetchOne(db, sql: "SELECT id, name, created, password FROM account WHERE name = ?", arguments: [name])
        }
        guard password.utf8.count <= PasswordHash.maxBytes,
              try await PasswordHash.verify(password, stored: row?["password"]), let row else {
            throw Self.unauthorized("wrong account name or password")
        }
        let account = AccountInfo(id: row["id"], name: row["name"], created: row["created"])
        let token = Self.sessionPrefix + Self.randomSecret()
        return try await db.write { db in
            try db.execute(sql: "DELETE FROM session WHERE expires <= ?", arguments: [now])
            return try Self.insertSession(db, token: token, account: account, seconds: sessionSeconds, now: now)
        }
    }

    private static func insertSession(_ db: Database, token: String, account: AccountInfo, seconds: Int, now: Double) throws -> PortalSession {
        let expires = now + Double(seconds)
        try db.execute(sql: "INSERT INTO session (token_hash, account, created, expires) VALUES (?, ?, ?, ?)",
                       arguments: [hash(token), account.id, now, expires])
        return PortalSession(token: token, account: account, expires: expires)
    }

    /// The account of a live session; "unauthorized" for an unknown, ended or expired one.
    func sessionAccount(_ token: String, now: Double = ServiceSupport.now()) async throws -> AccountInfo {
        guard token.hasPrefix(Self.sessionPrefix), token.utf8.count == Self.sessionPrefix.utf8.count + APIKeyFormat.secretLength else {
            throw Self.unauthorized("not a portal session: log in")
        }
        let row = try await db.read { db in
            try Row.fetchOne(db, sql: """
                SELECT a.id, a.name, a.created FROM session s JOIN account a ON a.id = s.account
                WHERE s.token_hash = ? AND s.expires > ?
                """, arguments: [Self.hash(token), now])
        }
        guard let row else { throw Self.unauthorized("the session has ended or expired: log in again") }
        return AccountInfo(id: row["id"], name: row["name"], created: row["created"])
    }

    func logout(_ token: String) async throws {
        try await db.write { db in try db.execute(sql: "DELETE FROM session WHERE token_hash = ?", arguments: [Self.hash(token)]) }
    }

    /// The key when it belongs to the account; "not-found" for another account's key as for a key
    /// that does not exist (an account cannot even learn that another's key id exists).
    func ownKey(account: String, id: String) async throws -> KeyInfo {
        guard APIKeyFormat.isID(id) else { throw RPCError.badParams("'\(id.prefix(40))' is not a key id (16 hex digits)") }
        guard let record = try await record(id: id), record.info.account == account else { throw RPCError.notFound("no key \(id) in this account") }
        return record.info
    }
}

/// The portal's methods (the `my…` ones act on the session's account only).
extension AccountsService {
    func portalSignup(_ p: PortalCredentials) async throws -> PortalSession {
        guard portal.signup else {
            throw RPCError(.signupClosed, "sign-up is closed on this node: ask its operator for an account or a key")
        }
        let session = try await store.signup(name: p.name, password: p.password, sessionSeconds: portal.sessionSeconds,
                                             iterations: portal.passwordIterations)
        logger.info("portal account created", metadata: ["account": "\(session.account.id)"])
        return session
    }

    func portalLogin(_ p: PortalCredentials) async throws -> PortalSession {
        if let wait = await throttle.wait(p.name) {
            throw RPCError(.tooManyAttempts, "too many failed logins for this name: try again in \(Int(wait.rounded(.up))) s")
        }
        do {
            let session = try await store.login(name: p.name, password: p.password, sessionSeconds: portal.sessionSeconds)
            await throttle.succeeded(p.name)
            return session
        } catch let e as RPCError where e.portalCode == .unauthorized {
            await throttle.failed(p.name)
            throw e
        }
    }

    func myCreateKey(_ p: PortalNewKey) async throws -> CreatedKey {
        let account = try await store.sessionAccount(p.session)
        let active = try await store.keys(account: account.id).filter { $0.revoked == nil }.count
        guard active < portal.maxKeys else {
            throw RPCError(.tooManyKeys, "an account holds at most \(portal.maxKeys) active keys: revoke one first")
        }
        let created = try await store.createKey(NewKey(name: p.name, account: account.id, rps: portal.keyRPS, daily: portal.keyDaily))
        announce("created", created.info.id)
        logger.info("key created on the portal", metadata: ["key": "\(created.info.id)", "account": "\(account.id)"])
        return created
    }

    func myRotateKey(_ p: PortalKeyRef) async throws -> CreatedKey {
        let account = try await store.sessionAccount(p.session)
        let info = try await store.ownKey(account: account.id, id: p.id)
        let created = try await store.rotate(id: info.id)
        announce("rotated", info.id)
        logger.info("key rotated on the portal", metadata: ["key": "\(info.id)"])
        return created
    }

    func myRevokeKey(_ p: PortalKeyRef) async throws -> KeyInfo {
        let account = try await store.sessionAccount(p.session)
        let info = try await store.revoke(id: try await store.ownKey(account: account.id, id: p.id).id)
        await limiter.forget(info.id)
        announce("revoked", info.id)
        logger.info("key revoked on the portal", metadata: ["key": "\(info.id)"])
        return info
    }

    func myUsage(_ p: PortalUsageQuery) async throws -> [UsageRow] {
        let account = try await store.sessionAccount(p.session)
        let since = p.since.map { $0 / 3600 * 3600 } ?? (Int(ServiceSupport.now()) / 3600 - 23) * 3600
        let ids = if let key = p.key {
            [try await store.ownKey(account: account.id, id: key).id]
        } else {
            try await store.keys(account: account.id).map(\.id)
        }
        var rows: [UsageRow] = []
        for id in ids { rows += try await store.usage(key: id, since: since) }
        return rows
    }

    func portalMethods() -> [AccountsMethod: RPCRouter.Raw] {
        [
            .portalinfo: RPCRouter.method(Empty.self) { _ in self.portal.info },
            .signup: RPCRouter.method(PortalCredentials.self) { p in try await self.portalSignup(p) },
            .login: RPCRouter.method(PortalCredentials.self) { p in try await self.portalLogin(p) },
            .logout: RPCRouter.method(PortalAuth.self) { p in try await self.store.logout(p.session); return Empty() },
            .mykeys: RPCRouter.method(PortalAuth.self) { p in
                try await self.store.keys(account: try await self.store.sessionAccount(p.session).id)
            },
            .mycreatekey: RPCRouter.method(PortalNewKey.self) { p in try await self.myCreateKey(p) },
            .myrotatekey: RPCRouter.method(PortalKeyRef.self) { p in try await self.myRotateKey(p) },
            .myrevokekey: RPCRouter.method(PortalKeyRef.self) { p in try await self.myRevokeKey(p) },
            .myusage: RPCRouter.method(PortalUsageQuery.self) { p in try await self.myUsage(p) },
        ]
    }
}
