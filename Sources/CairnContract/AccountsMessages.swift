import Foundation

/// The accounts service's endpoints (`cairn-accounts`): its request socket `accounts.rpc` and its
/// PUB `accounts.pub`, which announces every change of a key (topic `keys`) so that every edge
/// replica drops its cached copy at once. Each shifts with `--port-offset` like the others.
public struct AccountsEndpoints: Sendable, Codable, Equatable {
    public var rpc: String
    public var pub: String

    /// Inside the bus block 28330-28339 (nodes shifted by --port-offset in tens never collide).
    public static let defaultPorts = (rpc: 28338, pub: 28330)

    public init(rpc: String, pub: String) {
        self.rpc = rpc
        self.pub = pub
    }

    public static func loopback(portOffset: Int = 0, host: String = Endpoints.defaultHost) -> AccountsEndpoints {
        AccountsEndpoints(rpc: "tcp://\(host):\(defaultPorts.rpc + portOffset)", pub: "tcp://\(host):\(defaultPorts.pub + portOffset)")
    }

    public enum Env {
        public static let rpc = "CAIRN_ACCOUNTS_RPC"
        public static let pub = "CAIRN_ACCOUNTS_PUB"
    }

    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> AccountsEndpoints {
        var e = loopback()
        if let v = env[Env.rpc], !v.isEmpty { e.rpc = v }
        if let v = env[Env.pub], !v.isEmpty { e.pub = v }
        return e
    }
}

extension Topic {
    /// accounts.pub: JSON `KeyNotice` whenever a key is created, changed, rotated or revoked.
    public static let keys = "keys"
}

/// API keys: `ck_<id>_<secret>`.
///
/// - `id`: 16 lower-case hex digits (8 random bytes). Safe to log, to put in metrics labels and URLs of
///   dashboards; it names the key in `cairn keys list`, usage and `RateLimit` headers.
/// - `secret`: 43 characters of base64url (32 random bytes). Shown once, at creation or rotation; the
///   accounts service keeps only its SHA-256 (a high-entropy secret needs no slow hash).
public enum APIKeyFormat {
    public static let prefix = "ck_"
    public static let idLength = 16
    public static let secretLength = 43

    /// Splits a key into its id and secret; nil when it does not have the shape.
    public static func parse(_ key: some StringProtocol) -> (id: String, secret: String)? {
        let utf8 = key.utf8
        guard utf8.count == prefix.utf8.count + idLength + 1 + secretLength, key.hasPrefix(prefix) else { return nil }
        let body = key.dropFirst(prefix.count)
        let id = body.prefix(idLength)
        let rest = body.dropFirst(idLength)
        guard rest.first == "_" else { return nil }
        let secret = rest.dropFirst()
        guard id.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }),
              secret.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95 })
        else { return nil }
        return (String(id), String(secret))
    }

    public static func format(id: String, secret: String) -> String { "\(prefix)\(id)_\(secret)" }

    /// Whether a text has the shape of a key id.
    public static func isID(_ text: String) -> Bool {
        text.utf8.count == idLength && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }
}

/// Messages of `accounts.rpc`:
///
///   createaccount NewAccount → AccountInfo        listaccounts Empty → [AccountInfo]
///   createkey NewKey → CreatedKey                  listkeys KeyFilter → [KeyInfo]
///   revokekey KeyRef → KeyInfo                     rotatekey KeyRef → CreatedKey
///   lookupkey KeyRef → KeyRecord                   (what an edge caches: limits, allowlists, the secret's SHA-256)
///   lease LeaseRequest → LeaseReply                (tokens for the next requests, and the edge's usage report)
///   getusage UsageQuery → [UsageRow]               getstatus Empty → ServiceStatus
public struct AccountInfo: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var created: Double
    public init(id: String, name: String, created: Double) { self.id = id; self.name = name; self.created = created }
}

public struct NewAccount: Codable, Sendable {
    public var name: String
    public init(name: String) { self.name = name }
}

/// A key to create. `account` is an account id; without it the key goes to the account named
/// `accountName` (created when missing; default "operator").
public struct NewKey: Codable, Sendable {
    public var name: String
    public var account: String?
    public var accountName: String?
    /// Requests (batch items) per second; 0 = no per-second limit.
    public var rps: Int
    /// Requests per UTC day; 0 = no daily quota.
    public var daily: Int
    public var origins: [String]
    public var methods: [String]
    public init(name: String, account: String? = nil, accountName: String? = nil, rps: Int, daily: Int, origins: [String] = [], methods: [String] = []) {
        self.name = name; self.account = account; self.accountName = accountName
        self.rps = rps; self.daily = daily; self.origins = origins; self.methods = methods
    }
}

public struct KeyInfo: Codable, Sendable, Equatable {
    public var id: String
    public var account: String
    public var name: String
    public var rps: Int
    public var daily: Int
    public var origins: [String]
    public var methods: [String]
    public var created: Double
    /// nil while the key is active.
    public var revoked: Double?
    public init(id: String, account: String, name: String, rps: Int, daily: Int, origins: [String], methods: [String], created: Double, revoked: Double?) {
        self.id = id; self.account = account; self.name = name; self.rps = rps; self.daily = daily
        self.origins = origins; self.methods = methods; self.created = created; self.revoked = revoked
    }
}

/// A key just created or rotated: `key` is the whole `ck_<id>_<secret>`, shown this once.
public struct CreatedKey: Codable, Sendable, Equatable {
    public var info: KeyInfo
    public var key: String
    public init(info: KeyInfo, key: String) { self.info = info; self.key = key }
}

public struct KeyRef: Codable, Sendable {
    public var id: String
    public init(id: String) { self.id = id }
}

public struct KeyFilter: Codable, Sendable {
    /// An account id; nil = every key.
    public var account: String?
    public init(account: String? = nil) { self.account = account }
}

/// What an edge needs to admit a key's requests.
public struct KeyRecord: Codable, Sendable, Equatable {
    public var info: KeyInfo
    /// SHA-256 of the secret, hex.
    public var secretHash: String
    public init(info: KeyInfo, secretHash: String) { self.info = info; self.secretHash = secretHash }
}

/// Published on `keys`: the edges drop their cached copy of `id`.
public struct KeyNotice: Codable, Sendable, Equatable {
    /// "created", "revoked", "rotated".
    public var change: String
    public var id: String
    public init(change: String, id: String) { self.change = change; self.id = id }
}

/// Counts of one key, method and hour, as an edge reports them.
public struct UsageCount: Codable, Sendable, Equatable {
    public var key: String
    public var method: String
    /// Unix time of the start of the hour.
    public var hour: Int
    public var requests: Int
    public var errors: Int
    public var refused: Int
    /// Credits charged against the key's limits (each call's weight; pushed notifications are counted
    /// in `requests` and charge none). Absent in a message from an older process: `requests`.
    public var credits: Int
    public init(key: String, method: String, hour: Int, requests: Int, errors: Int, refused: Int, credits: Int? = nil) {
        self.key = key; self.method = method; self.hour = hour; self.requests = requests; self.errors = errors; self.refused = refused
        self.credits = credits ?? requests
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        key = try c.decode(String.self, forKey: .key)
        method = try c.decode(String.self, forKey: .method)
        hour = try c.decode(Int.self, forKey: .hour)
        requests = try c.decode(Int.self, forKey: .requests)
        errors = try c.decode(Int.self, forKey: .errors)
        refused = try c.decode(Int.self, forKey: .refused)
        credits = try c.decodeIfPresent(Int.self, forKey: .credits) ?? requests
    }
}

/// An edge's usage since its previous report. `(edge, sequence)` makes it idempotent: the service
/// applies a report once, in the same transaction as it records the pair, so a report resent after a
/// lost reply (or after the service was killed) is acknowledged without being counted twice.
public struct UsageReport: Codable, Sendable, Equatable {
    /// A random id of the edge process (new at every start).
    public var edge: String
    /// 1, 2, 3… within `edge`; a report is resent with the same number until acknowledged.
    public var sequence: Int
    public var counts: [UsageCount]
    public init(edge: String, sequence: Int, counts: [UsageCount]) { self.edge = edge; self.sequence = sequence; self.counts = counts }
}

/// One key's part of a lease request: `want` tokens (requests) for the next moments; `returned`:
/// tokens of an earlier lease not used and given back.
public struct LeaseWant: Codable, Sendable, Equatable {
    public var key: String
    public var want: Int
    public var returned: Int
    public init(key: String, want: Int, returned: Int) { self.key = key; self.want = want; self.returned = returned }
}

public struct LeaseRequest: Codable, Sendable, Equatable {
    public var edge: String
    public var wants: [LeaseWant]
    public var report: UsageReport?
    /// The edge's number for this request (new per request, the same when its RPC client sends it
    /// again after a timeout): the accounts service answers a repeat with its first answer, so a
    /// key's limits are charged once per request. Absent: no such protection.
    public var id: UInt64?
    public init(edge: String, wants: [LeaseWant], report: UsageReport?, id: UInt64? = nil) {
        self.edge = edge; self.wants = wants; self.report = report; self.id = id
    }
}

public struct LeaseGrant: Codable, Sendable, Equatable {
    public var key: String
    /// Tokens granted (may be 0); spend them before `expires`, give back what is left.
    public var tokens: Int
    /// Seconds the grant is valid.
    public var ttl: Double
    /// Seconds until a token is free again when none was granted (for `Retry-After`).
    public var retryAfter: Double
    /// Tokens left in the key's per-second bucket after this grant.
    public var remaining: Int
    /// Requests left today after this grant (nil: no daily quota).
    public var dailyRemaining: Int?
    /// When nothing was granted: "rate", "daily", "revoked" or "unknown".
    public var refusal: String?
    public init(key: String, tokens: Int, ttl: Double, retryAfter: Double, remaining: Int, dailyRemaining: Int?, refusal: String?) {
        self.key = key; self.tokens = tokens; self.ttl = ttl; self.retryAfter = retryAfter; self.remaining = remaining
        self.dailyRemaining = dailyRemaining; self.refusal = refusal
    }
}

public struct LeaseReply: Codable, Sendable, Equatable {
    public var grants: [LeaseGrant]
    /// The sequence number of the report now applied (the edge drops it), nil if none came.
    public var acknowledged: Int?
    public init(grants: [LeaseGrant], acknowledged: Int?) { self.grants = grants; self.acknowledged = acknowledged }
}

public struct UsageQuery: Codable, Sendable {
    /// A key id; nil = every key.
    public var key: String?
    /// Unix time; rows from this hour on (default: the last 24 hours).
    public var since: Int?
    public init(key: String? = nil, since: Int? = nil) { self.key = key; self.since = since }
}

/// A stored usage row (`getusage`): the same fields as an edge's reported counts.
public typealias UsageRow = UsageCount
