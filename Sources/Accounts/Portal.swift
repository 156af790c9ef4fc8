import Foundation
import Logging
import NodeKit

// The developer portal ("Hosted access" in docs/ARCHITECTURE.md): what the operator allows, the
// login throttle, and the `accounts.rpc` methods the edge's portal routes call. Its SQL is in
// Store+Portal.swift, its password hashing in PasswordHash.swift.

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
