import ArgumentParser
import Bus
import Foundation
import Logging
import NodeKit

/// The methods of `accounts.rpc` (their messages are in CairnContract/AccountsMessages.swift).
final class AccountsService: Sendable {
    let store: Store
    let limiter: Limiter
    let publisher: Publisher?
    let logger: Logger
    let started = ServiceSupport.now()
    /// The developer portal: whether sign-up is open, what its keys get (Portal.swift).
    let portal: PortalPolicy
    let throttle: LoginThrottle
    /// Recent lease answers, so a resent lease is charged once.
    let leaseReplies = LeaseReplies()

    init(store: Store, publisher: Publisher?, portal: PortalPolicy = PortalPolicy(signup: false), throttle: LoginThrottle = LoginThrottle(),
         logger: Logger) {
        self.store = store
        self.publisher = publisher
        self.portal = portal
        self.throttle = throttle
        self.logger = logger
        limiter = Limiter(store: store)
    }

    func announce(_ change: String, _ id: String) {
        if let body = try? JSON.encode(KeyNotice(change: change, id: id)) { publisher?.publish(topic: Topic.keys, body: body) }
    }

    static func keyID(_ text: String) throws -> String {
        guard APIKeyFormat.isID(text) else { throw RPCError.badParams("'\(text.prefix(40))' is not a key id (16 hex digits)") }
        return text
    }

    /// Leases for each key wanted, after applying the edge's usage report (once).
    func lease(_ request: LeaseRequest) async throws -> LeaseReply {
        guard let id = request.id else { return try await leaseOnce(request) }
        return try await leaseReplies.reply(edge: request.edge, id: id) { try await self.leaseOnce(request) }
    }

    private func leaseOnce(_ request: LeaseRequest) async throws -> LeaseReply {
        var acknowledged: Int?
        if let report = request.report {
            guard report.edge == request.edge, report.sequence > 0 else { throw RPCError.badParams("a report names its edge and a sequence from 1") }
            try await store.apply(report)
            acknowledged = report.sequence
        }
        var grants: [LeaseGrant] = []
        for want in request.wants {
            let record = APIKeyFormat.isID(want.key) ? try await store.record(id: want.key) : nil
            grants.append(try await limiter.grant(want, record: record))
        }
        return LeaseReply(grants: grants, acknowledged: acknowledged)
    }

    func router() -> RPCRouter {
        RPCRouter(AccountsMethod.self, portalMethods().merging([
            .createaccount: RPCRouter.method(NewAccount.self) { p in try await self.store.createAccount(name: p.name) },
            .listaccounts: RPCRouter.method(Empty.self) { _ in try await self.store.accounts() },
            .createkey: RPCRouter.method(NewKey.self) { p in
                let created = try await self.store.createKey(p)
                self.announce("created", created.info.id)
                self.logger.info("key created", metadata: ["key": "\(created.info.id)", "account": "\(created.info.account)"])
                return created
            },
            .listkeys: RPCRouter.method(KeyFilter.self) { p in try await self.store.keys(account: p.account) },
            .lookupkey: RPCRouter.method(KeyRef.self) { p in
                guard let r = try await self.store.record(id: try Self.keyID(p.id)) else { throw RPCError.notFound("no key \(p.id)") }
                return r
            },
            .revokekey: RPCRouter.method(KeyRef.self) { p in
                let info = try await self.store.revoke(id: try Self.keyID(p.id))
                await self.limiter.forget(info.id)
                self.announce("revoked", info.id)
                self.logger.info("key revoked", metadata: ["key": "\(info.id)"])
                return info
            },
            .rotatekey: RPCRouter.method(KeyRef.self) { p in
                let created = try await self.store.rotate(id: try Self.keyID(p.id))
                self.announce("rotated", created.info.id)
                self.logger.info("key rotated", metadata: ["key": "\(created.info.id)"])
                return created
            },
            .lease: RPCRouter.method(LeaseRequest.self) { p in try await self.lease(p) },
            .getusage: RPCRouter.method(UsageQuery.self) { p in
                let since = p.since.map { $0 / 3600 * 3600 } ?? (Int(ServiceSupport.now()) / 3600 - 23) * 3600
                return try await self.store.usage(key: try p.key.map(Self.keyID), since: since)
            },
            .getstatus: RPCRouter.method(Empty.self) { _ in
                let keys = try await self.store.keys(account: nil)
                return ServiceStatus(service: .accounts, pid: getpid(), startedAt: self.started, tipHeight: -1, tipHash: "",
                                     details: ["keys": "\(keys.count)", "active": "\(keys.filter { $0.revoked == nil }.count)",
                                               "portal-signup": self.portal.signup ? "on" : "off"])
            },
        ]) { portal, _ in portal })
    }
}
