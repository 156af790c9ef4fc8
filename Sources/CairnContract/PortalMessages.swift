import Foundation

/// Messages of the developer portal's methods on `accounts.rpc` (docs/ARCHITECTURE.md, "Hosted access"):
///
///   portalinfo Empty → PortalInfo                 (whether sign-up is open, what a portal key gets)
///   signup PortalCredentials → PortalSession      login PortalCredentials → PortalSession
///   logout PortalAuth → Empty                     mykeys PortalAuth → [KeyInfo]
///   mycreatekey PortalNewKey → CreatedKey         myrotatekey PortalKeyRef → CreatedKey
///   myrevokekey PortalKeyRef → KeyInfo            myusage PortalUsageQuery → [UsageRow]
///
/// The `my…` methods act on the session's own account only: a key of another account is "not-found".
/// Error codes: "unauthorized" (wrong name or password, unknown or expired session), "signup-closed",
/// "account-exists", "too-many-attempts" (failed logins of a name, throttled), "too-many-keys",
/// "key-revoked", "not-found", "bad-params".
public enum PortalErrorCode: String, Sendable, CaseIterable {
    case unauthorized
    case signupClosed = "signup-closed"
    case accountExists = "account-exists"
    case tooManyAttempts = "too-many-attempts"
    case tooManyKeys = "too-many-keys"
    case keyRevoked = "key-revoked"
}

extension RPCError {
    public init(_ code: PortalErrorCode, _ message: String) { self.init(code.rawValue, message) }
    /// The portal code of this error, if it is one.
    public var portalCode: PortalErrorCode? { PortalErrorCode(rawValue: code) }
}

public struct PortalInfo: Codable, Sendable, Equatable {
    /// Whether anyone may create an account (`cairn-accounts --portal-signup`; on by default on regtest).
    public var signup: Bool
    /// The limits a key created on the portal gets.
    public var keyRPS: Int
    public var keyDaily: Int
    /// Active keys an account may hold.
    public var maxKeys: Int
    /// Seconds a session lasts after its login.
    public var sessionSeconds: Int
    public init(signup: Bool, keyRPS: Int, keyDaily: Int, maxKeys: Int, sessionSeconds: Int) {
        self.signup = signup; self.keyRPS = keyRPS; self.keyDaily = keyDaily; self.maxKeys = maxKeys; self.sessionSeconds = sessionSeconds
    }
}

public struct PortalCredentials: Codable, Sendable {
    public var name: String
    public var password: String
    public init(name: String, password: String) { self.name = name; self.password = password }
}

/// A session: `token` (`cs_<43 base64url>`) is shown in this answer only; the service keeps its SHA-256.
public struct PortalSession: Codable, Sendable, Equatable {
    public var token: String
    public var account: AccountInfo
    /// Unix time the session ends.
    public var expires: Double
    public init(token: String, account: AccountInfo, expires: Double) { self.token = token; self.account = account; self.expires = expires }
}

public struct PortalAuth: Codable, Sendable {
    public var session: String
    public init(session: String) { self.session = session }
}

public struct PortalNewKey: Codable, Sendable {
    public var session: String
    public var name: String
    public init(session: String, name: String) { self.session = session; self.name = name }
}

public struct PortalKeyRef: Codable, Sendable {
    public var session: String
    public var id: String
    public init(session: String, id: String) { self.session = session; self.id = id }
}

public struct PortalUsageQuery: Codable, Sendable {
    public var session: String
    /// One of the account's keys; nil = all of them.
    public var key: String?
    /// Unix time; rows from this hour on (default: the last 24 hours).
    public var since: Int?
    public init(session: String, key: String? = nil, since: Int? = nil) { self.session = session; self.key = key; self.since = since }
}
