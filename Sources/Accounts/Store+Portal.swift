import Foundation
import GRDB
import NodeKit

/// The developer portal's SQL: accounts with a password, their sessions, an account's own keys
/// (the policy and the RPC handlers are in Portal.swift, the password hashing in PasswordHash.swift).
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
