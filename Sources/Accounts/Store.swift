import Crypto
import Foundation
import GRDB
import NodeKit

/// accounts.sqlite, owned by `cairn-accounts` alone (WAL, synchronous=NORMAL: a commit survives a
/// kill -9 of the process the moment it returns).
///
/// | table   | one row per | notes |
/// |---------|-------------|-------|
/// | account | account     | id (16 hex), unique name |
/// | apikey  | API key     | id (16 hex, safe to log), SHA-256 of the secret, limits, allowlists (JSON arrays), revoked time |
/// | usage   | (key, method, hour) | requests, errors, refused, credits (the weights charged) |
/// | report  | edge process | the last usage report applied from it (idempotency of resent reports) |
/// | session | portal login | SHA-256 of the session token, its account, expiry (v2, with `account.password`) |
struct Store: Sendable {
    let db: DatabasePool

    static func migrator() -> DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE account (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL UNIQUE, created REAL NOT NULL) WITHOUT ROWID;
                CREATE TABLE apikey (
                    id TEXT PRIMARY KEY NOT NULL, account TEXT NOT NULL REFERENCES account(id),
                    name TEXT NOT NULL, secret_hash TEXT NOT NULL,
                    rps INTEGER NOT NULL, daily INTEGER NOT NULL,
                    origins TEXT NOT NULL, methods TEXT NOT NULL,
                    created REAL NOT NULL, revoked REAL
                ) WITHOUT ROWID;
                CREATE INDEX apikey_account ON apikey(account);
                CREATE TABLE usage (
                    key TEXT NOT NULL, method TEXT NOT NULL, hour INTEGER NOT NULL,
                    requests INTEGER NOT NULL, errors INTEGER NOT NULL, refused INTEGER NOT NULL,
                    PRIMARY KEY (key, hour, method)
                ) WITHOUT ROWID;
                CREATE TABLE report (edge TEXT PRIMARY KEY NOT NULL, sequence INTEGER NOT NULL, time REAL NOT NULL) WITHOUT ROWID;
                """)
        }
        // The developer portal: a password per account (`PasswordHash`; NULL for the accounts the
        // operator made, which cannot log in) and login sessions (Portal.swift).
        m.registerMigration("v2") { db in
            try db.execute(sql: """
                ALTER TABLE account ADD COLUMN password TEXT;
                CREATE TABLE session (
                    token_hash TEXT PRIMARY KEY NOT NULL, account TEXT NOT NULL REFERENCES account(id),
                    created REAL NOT NULL, expires REAL NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX session_expires ON session(expires);
                """)
        }
        m.registerMigration("usage-credits") { db in
            // Credits (per-method weights) charged against the limits; rows before them charged one a request.
            try db.execute(sql: "ALTER TABLE usage ADD COLUMN credits INTEGER NOT NULL DEFAULT 0; UPDATE usage SET credits = requests")
        }
        return m
    }

    static func open(path: String) throws -> Store {
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        let db = try DatabasePool(path: path, configuration: config)
        try migrator().migrate(db)
        return Store(db: db)
    }

    static func randomHex(_ bytes: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
    }

    static func randomSecret() -> String {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func hash(_ secret: String) -> String {
        SHA256.hash(data: Array(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    // MARK: accounts

    func createAccount(name: String) async throws -> AccountInfo {
        let name = try Self.checkName(name, what: "account name")
        return try await db.write { db in
            if try Row.fetchOne(db, sql: "SELECT 1 FROM account WHERE name = ?", arguments: [name]) != nil {
                throw RPCError(.accountExists, "an account named '\(name)' exists already")
            }
            let a = AccountInfo(id: Self.randomHex(8), name: name, created: ServiceSupport.now())
            try db.execute(sql: "INSERT INTO account (id, name, created) VALUES (?, ?, ?)", arguments: [a.id, a.name, a.created])
            return a
        }
    }

    func accounts() async throws -> [AccountInfo] {
        try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT id, name, created FROM account ORDER BY created").map {
                AccountInfo(id: $0["id"], name: $0["name"], created: $0["created"])
            }
        }
    }

    static func checkName(_ name: String, what: String) throws -> String {
        let n = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !n.isEmpty, n.count <= 100, !n.contains(where: { $0.isNewline || $0 == "\0" }) else {
            throw RPCError.badParams("the \(what) must be 1 to 100 characters on one line")
        }
        return n
    }

    // MARK: keys

    static func keyInfo(_ row: Row) -> KeyInfo {
        let decode = { (text: String) in (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? [] }
        return KeyInfo(id: row["id"], account: row["account"], name: row["name"], rps: row["rps"], daily: row["daily"],
                       origins: decode(row["origins"]), methods: decode(row["methods"]), created: row["created"], revoked: row["revoked"])
    }

    func createKey(_ k: NewKey) async throws -> CreatedKey {
        let name = try Self.checkName(k.name, what: "key name")
        guard k.rps >= 0, k.daily >= 0 else { throw RPCError.badParams("rps and daily must not be negative") }
        guard k.origins.count <= 100, k.methods.count <= 200 else { throw RPCError.badParams("at most 100 origins and 200 methods") }
        for o in k.origins {
            guard let u = URL(string: o), let scheme = u.scheme, ["http", "https"].contains(scheme), u.host != nil,
                  u.path.isEmpty || u.path == "/" else {
                throw RPCError.badParams("origin '\(o)' is not scheme://host[:port], such as https://app.example")
            }
        }
        let origins = k.origins.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        for m in k.methods where m.isEmpty || m.count > 100 || m.contains(where: \.isWhitespace) {
            throw RPCError.badParams("method '\(m)' must be a JSON-RPC method name or a REST path prefix such as /api/blocks")
        }
        let accountName = try k.accountName.map { try Self.checkName($0, what: "account name") } ?? "operator"
        let secret = Self.randomSecret()
        let encode: @Sendable ([String]) -> String = { list in String(decoding: (try? JSONEncoder().encode(list)) ?? Data("[]".utf8), as: UTF8.self) }
        return try await db.write { db in
            let account: String
            if let id = k.account {
                guard try Row.fetchOne(db, sql: "SELECT 1 FROM account WHERE id = ?", arguments: [id]) != nil else {
                    throw RPCError.notFound("no account \(id)")
                }
                account = id
            } else if let id = try String.fetchOne(db, sql: "SELECT id FROM account WHERE name = ?", arguments: [accountName]) {
                account = id
            } else {
                account = Self.randomHex(8)
                try db.execute(sql: "INSERT INTO account (id, name, created) VALUES (?, ?, ?)",
                               arguments: [account, accountName, ServiceSupport.now()])
            }
            let info = KeyInfo(id: Self.randomHex(8), account: account, name: name, rps: k.rps, daily: k.daily,
                               origins: origins, methods: k.methods, created: ServiceSupport.now(), revoked: nil)
            try db.execute(sql: """
                INSERT INTO apikey (id, account, name, secret_hash, rps, daily, origins, methods, created, revoked)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
                """, arguments: [info.id, info.account, info.name, Self.hash(secret), info.rps, info.daily,
                                 encode(info.origins), encode(info.methods), info.created])
            return CreatedKey(info: info, key: APIKeyFormat.format(id: info.id, secret: secret))
        }
    }

    func keys(account: String?) async throws -> [KeyInfo] {
        try await db.read { db in
            let rows = if let account {
                try Row.fetchAll(db, sql: "SELECT * FROM apikey WHERE account = ? ORDER BY created", arguments: [account])
            } else {
                try Row.fetchAll(db, sql: "SELECT * FROM apikey ORDER BY created")
            }
            return rows.map(Self.keyInfo)
        }
    }

    func record(id: String) async throws -> KeyRecord? {
        try await db.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM apikey WHERE id = ?", arguments: [id]).map {
                KeyRecord(info: Self.keyInfo($0), secretHash: $0["secret_hash"])
            }
        }
    }

    func revoke(id: String) async throws -> KeyInfo {
        try await db.write { db in
            guard try Row.fetchOne(db, sql: "SELECT 1 FROM apikey WHERE id = ?", arguments: [id]) != nil else {
                throw RPCError.notFound("no key \(id)")
            }
            try db.execute(sql: "UPDATE apikey SET revoked = ? WHERE id = ? AND revoked IS NULL", arguments: [ServiceSupport.now(), id])
            return Self.keyInfo(try Row.fetchOne(db, sql: "SELECT * FROM apikey WHERE id = ?", arguments: [id])!)
        }
    }

    /// A new secret for the key (same id, limits and usage); the old secret stops working.
    func rotate(id: String) async throws -> CreatedKey {
        let secret = Self.randomSecret()
        return try await db.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM apikey WHERE id = ?", arguments: [id]) else {
                throw RPCError.notFound("no key \(id)")
            }
            let info = Self.keyInfo(row)
            guard info.revoked == nil else { throw RPCError(.keyRevoked, "key \(id) is revoked; create a new one") }
            try db.execute(sql: "UPDATE apikey SET secret_hash = ? WHERE id = ?", arguments: [Self.hash(secret), id])
            return CreatedKey(info: info, key: APIKeyFormat.format(id: id, secret: secret))
        }
    }

    // MARK: usage

    /// Applies an edge's report once: a report whose sequence is not above the last one applied from
    /// that edge was applied already (its acknowledgement was lost) and changes nothing.
    /// Returns whether it was applied now.
    @discardableResult
    func apply(_ report: UsageReport) async throws -> Bool {
        try await db.write { db in
            let last = try Int.fetchOne(db, sql: "SELECT sequence FROM report WHERE edge = ?", arguments: [report.edge]) ?? 0
            guard report.sequence > last else { return false }
            for c in report.counts {
                try db.execute(sql: """
                    INSERT INTO usage (key, method, hour, requests, errors, refused, credits) VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (key, hour, method) DO UPDATE SET requests = requests + excluded.requests,
                        errors = errors + excluded.errors, refused = refused + excluded.refused, credits = credits + excluded.credits
                    """, arguments: [c.key, c.method, c.hour, c.requests, c.errors, c.refused, c.credits])
            }
            try db.execute(sql: """
                INSERT INTO report (edge, sequence, time) VALUES (?, ?, ?)
                ON CONFLICT (edge) DO UPDATE SET sequence = excluded.sequence, time = excluded.time
                """, arguments: [report.edge, report.sequence, ServiceSupport.now()])
            return true
        }
    }

    func usage(key: String?, since: Int) async throws -> [UsageRow] {
        try await db.read { db in
            let rows = if let key {
                try Row.fetchAll(db, sql: "SELECT * FROM usage WHERE key = ? AND hour >= ? ORDER BY hour, method", arguments: [key, since])
            } else {
                try Row.fetchAll(db, sql: "SELECT * FROM usage WHERE hour >= ? ORDER BY key, hour, method", arguments: [since])
            }
            return rows.map { UsageRow(key: $0["key"], method: $0["method"], hour: $0["hour"], requests: $0["requests"],
                                       errors: $0["errors"], refused: $0["refused"], credits: $0["credits"]) }
        }
    }

    /// Credits charged to a key since `since` (the start of the UTC day): the daily quota's start after a restart.
    func requests(key: String, since: Int) async throws -> Int {
        try await db.read { db in
            try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(credits), 0) FROM usage WHERE key = ? AND hour >= ?", arguments: [key, since]) ?? 0
        }
    }

    /// Forgets edges that have not reported for a week (their sequence numbers can no longer come back).
    func pruneReports(olderThan age: Double = 7 * 86400) async throws {
        try await db.write { db in try db.execute(sql: "DELETE FROM report WHERE time < ?", arguments: [ServiceSupport.now() - age]) }
    }
}
