import Bus
import ChainCore
import Foundation
import Hummingbird
import Logging
import NIOCore
import NodeKit
import Synchronization

/// The key a request carries, as admitted by `AccessControl` (read by /rpc to charge per batch item
/// and check the method allowlist, by a keyed WebSocket per message, and by /api/usage).
struct KeyGrant: Sendable {
    let record: KeyRecord
    let accessControl: AccessControl
    @TaskLocal static var current: KeyGrant?

    /// JSON-RPC calls (their method labels; each batch item counts) costing `costs` credits: the
    /// refusal as the HTTP path answers it (403 a method the key does not allow, 429 over the rate or
    /// the daily quota, 503 no lease), counted as refused; nil when admitted (the credits taken).
    func admit(_ calls: [String], costs: [Int]) async -> APIError? {
        do {
            try AccessControl.checkMethod(record, rpcMethods: calls)
        } catch {
            for m in calls { accessControl.count(key: record.info.id, method: m, refused: 1) }
            return APIError.from(error)
        }
        let cost = max(1, costs.reduce(0, +))
        let admission = await accessControl.take(record, count: cost)
        guard admission != .admitted else { return nil }
        for m in calls { accessControl.count(key: record.info.id, method: m, refused: 1) }
        return KeyLimits.refusal(admission, info: record.info, cost: cost)
    }

    /// `admit` for `POST /rpc`: 403 and 503 thrown, a 429 reply with error -32005 (the retry hint in its
    /// `data` and the headers), nil when admitted.
    func admitRPC(_ calls: [String], costs: [Int], id: RPCValue?, version: RPCCallRequest.Version) async throws -> Response? {
        guard let api = await admit(calls, costs: costs) else { return nil }
        guard api.status == .tooManyRequests else { throw api }
        var response = RPCRoutes.reply(RPCRoutes.errorReply(RPCFault.keyRefusal(api), id: id, version: version), status: .tooManyRequests)
        response.headers.append(contentsOf: api.headers)
        return response
    }

    /// Counts a JSON-RPC request's items, in the order of the calls: requests, errors and credits per method.
    func countRPC(_ calls: [String], costs: [Int], failed: [Bool]) {
        var byMethod: [String: (requests: Int, errors: Int, credits: Int)] = [:]
        for (i, m) in calls.enumerated() {
            var v = byMethod[m] ?? (0, 0, 0)
            v.requests += 1
            if i < failed.count && failed[i] { v.errors += 1 }
            v.credits += i < costs.count ? costs[i] : 1
            byMethod[m] = v
        }
        for (m, v) in byMethod { accessControl.count(key: record.info.id, method: m, requests: v.requests, errors: v.errors, credits: v.credits) }
    }
}

/// Who may call keyless, per client address at each edge (docs/ARCHITECTURE.md, "Hosted access").
struct AnonymousPolicy: Sendable, Equatable {
    /// Requests per second per client address; nil = no limit; 0 = keyless access off (401).
    var rps: Int?
    /// Whether loopback clients (the node's own wallet front, `cairn` commands, tests) are limited too.
    var limitLoopback = false

    /// regtest: 50 a second per address; other networks: off. Loopback is never limited by default.
    static func defaultFor(regtest: Bool) -> AnonymousPolicy { AnonymousPolicy(rps: regtest ? 50 : 0) }

    /// "off", "unlimited" or a positive number.
    static func parse(_ text: String, limitLoopback: Bool) -> AnonymousPolicy? {
        switch text.lowercased() {
        case "off", "0": return AnonymousPolicy(rps: 0, limitLoopback: limitLoopback)
        case "unlimited", "none": return AnonymousPolicy(rps: nil, limitLoopback: limitLoopback)
        default:
            guard let n = Int(text), n > 0 else { return nil }
            return AnonymousPolicy(rps: n, limitLoopback: limitLoopback)
        }
    }
}

/// API keys at the edge: a brief cache of key records (dropped at once on the accounts service's
/// `keys` notices), leases of tokens from the accounts service's per-key buckets, and usage
/// counters reported with the next lease under an idempotent (edge, sequence) pair. Nothing here is
/// the only copy of anything: a lost edge loses at most its unreported counters (one report
/// interval) and the tokens it held (given back by expiry).
final class AccessControl: Sendable {
    /// How long a key record is trusted without a notice (a notice drops it at once).
    static let cacheTTL: Duration = .seconds(30)
    /// How long an unknown key id is remembered as unknown.
    static let negativeTTL: Duration = .seconds(5)
    /// How often usage is reported and expired tokens given back when no lease is asked for.
    static let flushInterval: Duration = .seconds(1)

    let edgeID = (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    let anonymous: AnonymousPolicy
    let endpoints: AccountsEndpoints
    private let client: RPCClient
    private let subscriber: Subscriber
    private let metrics: EdgeMetrics
    private let logger: Logger
    private let state = Mutex(State())
    private let clock = ContinuousClock()
    private let tasks: Mutex<[Task<Void, Never>]> = Mutex([])

    struct Cached {
        var record: KeyRecord?
        var until: ContinuousClock.Instant
    }

    struct Lease {
        var tokens = 0
        var expires = ContinuousClock.now
        /// Refused (rate, daily, unavailable) until then, without asking again.
        var closedUntil: ContinuousClock.Instant?
        var refusal = "rate"
        var retryAfter = 0.0
        var remaining = 0
        var dailyRemaining: Int?
        var toReturn = 0
        var refill: Task<Void, Never>?
    }

    struct UsageKey: Hashable {
        var key: String
        var method: String
        var hour: Int
    }

    struct State {
        /// Open keyed WebSockets by key id: told when a notice drops their key (they check it again).
        var watchers: [String: [Int: AsyncStream<Void>.Continuation]] = [:]
        var nextWatcher = 0
        var cache: [String: Cached] = [:]
        /// Whole keys whose secret was checked against a cached record, by key text → id: the hot
        /// path skips parsing and hashing them again. Emptied by every notice (with the cache's entry).
        var verified: [String: String] = [:]
        /// Bumped by every notice: a lookup that started before one does not store its (maybe stale) answer.
        var epoch = 0
        var leases: [String: Lease] = [:]
        var usage: [UsageKey: (requests: Int, errors: Int, refused: Int, credits: Int)] = [:]
        var pending: UsageReport?
        var sequence = 0
        var anonymous: [String: (tokens: Double, last: ContinuousClock.Instant)] = [:]
    }

    init(context: ZMQContext, endpoints: AccountsEndpoints, bus: BusSecurity, anonymous: AnonymousPolicy,
         metrics: EdgeMetrics, logger: Logger) async throws {
        self.endpoints = endpoints
        self.anonymous = anonymous
        self.metrics = metrics
        self.logger = logger
        client = try await RPCClient(context: context, endpoint: endpoints.rpc, timeout: .milliseconds(800), retries: 2,
                                     curve: bus.client(of: .accounts))
        subscriber = try await Subscriber(context: context, connect: [endpoints.pub], topics: [Topic.keys], hwm: 10_000,
                                          curve: bus.client(of: .accounts), logger: logger)
    }

    func start() {
        let events = subscriber.events
        let follow = Task { [self] in
            for await event in events {
                switch event {
                case .message(_, let body, _):
                    if let notice = try? JSON.decode(KeyNotice.self, body) { drop(notice.id) } else { dropAll() }
                case .gap, .reset:
                    // A notice may be lost: forget every key.
                    dropAll()
                }
            }
        }
        let flush = Task { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.flushInterval)
                await flushNow()
            }
        }
        tasks.withLock { $0 = [follow, flush] }
    }

    func stop() async {
        for t in tasks.withLock({ $0 }) { t.cancel() }
        await flushNow()
        await subscriber.stop()
        await client.stop()
    }

    /// Waits for the notice subscription (tests).
    func ready(timeout: Duration) async throws { try await subscriber.ready(timeout: timeout) }

    func drop(_ id: String) {
        let watchers = state.withLock { s in
            s.epoch += 1
            s.cache[id] = nil
            s.verified.removeAll()
            s.leases[id]?.closedUntil = nil
            return Array((s.watchers[id] ?? [:]).values)
        }
        for w in watchers { w.yield() }
    }

    func dropAll() {
        let watchers = state.withLock { s in
            s.epoch += 1
            s.cache.removeAll()
            s.verified.removeAll()
            return s.watchers.values.flatMap(\.values)
        }
        for w in watchers { w.yield() }
    }

    /// For an open keyed WebSocket: a signal each time a notice (revoked, rotated; or a gap) drops its
    /// key, so it checks the key again at once rather than at its next message. `unwatch` when it closes.
    func watch(_ id: String) -> (token: Int, changes: AsyncStream<Void>) {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let token = state.withLock { s in
            s.nextWatcher += 1
            s.watchers[id, default: [:]][s.nextWatcher] = continuation
            return s.nextWatcher
        }
        return (token, stream)
    }

    func unwatch(_ id: String, token: Int) {
        let c = state.withLock { s -> AsyncStream<Void>.Continuation? in
            let c = s.watchers[id]?.removeValue(forKey: token)
            if s.watchers[id]?.isEmpty == true { s.watchers[id] = nil }
            return c
        }
        c?.finish()
    }

    // MARK: keys

    /// The key's record, from the cache or the accounts service; 401 for an unknown, revoked or wrong key.
    func authenticate(_ text: String) async throws -> KeyRecord {
        let start = clock.now
        // The hot path: this exact key was checked against the cached record, which is still fresh.
        let hit = state.withLock { s -> KeyRecord? in
            guard let id = s.verified[text], let c = s.cache[id], c.until > start, let r = c.record, r.info.revoked == nil else { return nil }
            return r
        }
        if let hit { return hit }
        guard let (id, secret) = APIKeyFormat.parse(text) else {
            throw Self.unauthorized("'\(text.prefix(24))…' is not an API key (ck_<16 hex>_<43 base64url>)")
        }
        let now = clock.now
        let (cached, epoch) = state.withLock { s in (s.cache[id].flatMap { $0.until > now ? $0 : nil }, s.epoch) }
        let record: KeyRecord?
        if let cached {
            record = cached.record
        } else {
            do {
                record = try await client.call("lookupkey", KeyRef(id: id), as: KeyRecord.self)
            } catch let e as RPCError where e.code == "not-found" {
                record = nil
            } catch {
                throw APIError(.serviceUnavailable, "accounts-unavailable", "the accounts service does not answer; retry shortly")
            }
            state.withLock { s in
                if s.epoch == epoch {
                    s.cache[id] = Cached(record: record, until: now + (record == nil ? Self.negativeTTL : Self.cacheTTL))
                }
            }
        }
        guard let record else { throw Self.unauthorized("unknown API key \(id)") }
        guard record.info.revoked == nil else { throw Self.unauthorized("API key \(id) is revoked") }
        // SHA-256 of a high-entropy secret, compared as digests (time independent of where they differ).
        let given = Hex.encode(Hash256.sha256(Array(secret.utf8)).bytes)
        guard OperatorAuth.matches(Array(given.utf8), Array(record.secretHash.utf8)) else {
            throw Self.unauthorized("wrong secret for API key \(id)")
        }
        state.withLock { s in
            // Only while the cache holds this same record (a notice since then emptied both).
            guard s.cache[id]?.record?.secretHash == record.secretHash else { return }
            if s.verified.count > 10_000 { s.verified.removeAll() }
            s.verified[text] = id
        }
        return record
    }

    static func unauthorized(_ message: String) -> APIError {
        APIError(.unauthorized, "invalid-api-key", message, headers: [.wwwAuthenticate: "ApiKey realm=\"cairn\""])
    }

    /// 403 unless the key allows the Origin (keys without an origin allowlist allow any).
    static func checkOrigin(_ record: KeyRecord, origin: String?) throws {
        let allowed = record.info.origins
        guard !allowed.isEmpty else { return }
        guard let origin, allowed.contains(origin) else {
            throw APIError(.forbidden, "origin-not-allowed",
                           "API key \(record.info.id) allows only the origins \(allowed.joined(separator: ", ")); this request's is \(origin ?? "absent")")
        }
    }

    /// 403 unless the key allows the method: a JSON-RPC method name, or a REST path under one of the
    /// allowlist's `/…` prefixes (keys without a method allowlist allow everything).
    static func checkMethod(_ record: KeyRecord, rpcMethods: [String] = [], restPath: String? = nil) throws {
        let allowed = record.info.methods
        guard !allowed.isEmpty else { return }
        if let restPath {
            guard allowed.contains(where: { $0.hasPrefix("/") && (restPath == $0 || restPath.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/")) }) else {
                throw APIError(.forbidden, "method-not-allowed-for-key", "API key \(record.info.id) does not allow \(restPath)")
            }
        }
        if let m = rpcMethods.first(where: { !allowed.contains($0) }) {
            throw APIError(.forbidden, "method-not-allowed-for-key", "API key \(record.info.id) does not allow the method \(m)")
        }
    }

    // MARK: limits

    enum Admission: Sendable, Equatable {
        case admitted
        /// "rate", "daily" or "unavailable"; seconds to wait.
        case refused(kind: String, retryAfter: Double, remaining: Int, dailyRemaining: Int?)
    }

    static func leaseSize(_ info: KeyInfo) -> Int { info.rps > 0 ? max(1, info.rps / 10) : 100 }

    /// Takes `count` tokens for the key: from the local lease when it has them (no bus call), else
    /// from a new lease (one call shared by every request waiting for this key).
    func take(_ record: KeyRecord, count: Int) async -> Admission {
        let info = record.info
        if info.rps == 0 && info.daily == 0 { return .admitted }
        if info.rps > 0 && count > info.rps {
            // More credits than a second's bucket holds: never admitted, whatever the wait.
            return .refused(kind: "cost", retryAfter: 1, remaining: 0, dailyRemaining: nil)
        }
        for _ in 0..<3 {
            enum Step { case done(Admission), wait(Task<Void, Never>) }
            let now = clock.now
            let step: Step = state.withLock { s in
                var l = s.leases[info.id] ?? Lease()
                defer { s.leases[info.id] = l }
                if l.tokens > 0 && now >= l.expires {
                    l.toReturn += l.tokens
                    l.tokens = 0
                }
                if l.tokens >= count {
                    l.tokens -= count
                    if l.tokens < max(1, Self.leaseSize(info) / 2) && l.refill == nil { l.refill = refill(info, atLeast: count) }
                    return .done(.admitted)
                }
                if let until = l.closedUntil, now < until {
                    let left = Double((until - now).components.seconds) + Double((until - now).components.attoseconds) / 1e18
                    return .done(.refused(kind: l.refusal, retryAfter: max(left, 0.001), remaining: 0, dailyRemaining: l.dailyRemaining))
                }
                if l.refill == nil { l.refill = refill(info, atLeast: count) }
                return .wait(l.refill!)
            }
            switch step {
            case .done(let a): return a
            case .wait(let t): await t.value
            }
        }
        return .refused(kind: "rate", retryAfter: info.rps > 0 ? 1 / Double(info.rps) : 1, remaining: 0, dailyRemaining: nil)
    }

    /// Starts one lease call for the key (called with the state locked; the task runs after).
    private func refill(_ info: KeyInfo, atLeast count: Int) -> Task<Void, Never> {
        Task { [self] in
            let want = max(Self.leaseSize(info), count)
            let (returned, report) = state.withLock { s -> (Int, UsageReport?) in
                let r = s.leases[info.id]?.toReturn ?? 0
                s.leases[info.id]?.toReturn = 0
                return (r, Self.nextReport(&s, edge: edgeID))
            }
            do {
                let reply = try await client.call("lease", LeaseRequest(edge: edgeID, wants: [LeaseWant(key: info.id, want: want, returned: returned)],
                                                                        report: report), as: LeaseReply.self)
                let now = clock.now
                state.withLock { s in
                    if let ack = reply.acknowledged, s.pending?.sequence == ack { s.pending = nil }
                    var l = s.leases[info.id] ?? Lease()
                    l.refill = nil
                    if let g = reply.grants.first(where: { $0.key == info.id }) {
                        if l.tokens > 0 && now >= l.expires { l.toReturn += l.tokens; l.tokens = 0 }
                        l.tokens += g.tokens
                        l.expires = now + .milliseconds(Int(g.ttl * 1000))
                        l.remaining = g.remaining
                        l.dailyRemaining = g.dailyRemaining
                        if g.tokens == 0 {
                            switch g.refusal {
                            case "revoked", "unknown":
                                // The notice may still be on its way: forget the key now.
                                s.cache[info.id] = nil
                                s.epoch += 1
                                l.closedUntil = nil
                            default:
                                l.refusal = g.refusal ?? "rate"
                                l.retryAfter = g.retryAfter
                                l.closedUntil = now + .milliseconds(max(1, Int(g.retryAfter * 1000)))
                            }
                        } else {
                            l.closedUntil = nil
                        }
                    }
                    s.leases[info.id] = l
                }
            } catch {
                logger.warning("no lease from the accounts service", metadata: ["key": "\(info.id)", "error": "\(error)"])
                state.withLock { s in
                    s.leases[info.id]?.toReturn += returned
                    s.leases[info.id]?.refill = nil
                    s.leases[info.id]?.refusal = "unavailable"
                    s.leases[info.id]?.retryAfter = 1
                    s.leases[info.id]?.closedUntil = clock.now + .milliseconds(500)
                }
            }
        }
    }

    /// The report to send: the one not yet acknowledged, else a new one with the counters since.
    private static func nextReport(_ s: inout State, edge: String) -> UsageReport? {
        if let p = s.pending { return p }
        guard !s.usage.isEmpty else { return nil }
        s.sequence += 1
        let counts = s.usage.map { k, v in
            UsageCount(key: k.key, method: k.method, hour: k.hour, requests: v.requests, errors: v.errors, refused: v.refused, credits: v.credits)
        }
            .sorted { ($0.key, $0.hour, $0.method) < ($1.key, $1.hour, $1.method) }
        s.usage.removeAll()
        s.pending = UsageReport(edge: edge, sequence: s.sequence, counts: counts)
        return s.pending
    }

    /// Reports usage and gives back expired tokens (every `flushInterval`, and at a clean stop).
    func flushNow() async {
        let now = clock.now
        let (wants, report) = state.withLock { s -> ([LeaseWant], UsageReport?) in
            var wants: [LeaseWant] = []
            for (id, var l) in s.leases where l.refill == nil {
                if l.tokens > 0 && now >= l.expires { l.toReturn += l.tokens; l.tokens = 0 }
                if l.toReturn > 0 { wants.append(LeaseWant(key: id, want: 0, returned: l.toReturn)); l.toReturn = 0 }
                s.leases[id] = l
            }
            return (wants, Self.nextReport(&s, edge: edgeID))
        }
        guard !wants.isEmpty || report != nil else { return }
        do {
            let reply = try await client.call("lease", LeaseRequest(edge: edgeID, wants: wants, report: report), as: LeaseReply.self)
            state.withLock { s in if let ack = reply.acknowledged, s.pending?.sequence == ack { s.pending = nil } }
        } catch {
            state.withLock { s in for w in wants { s.leases[w.key]?.toReturn += w.returned } }
        }
    }

    // MARK: usage

    /// Counts usage: `credits` are what was charged against the key's limits (0 for what is counted
    /// without a charge: pushed notifications, which are not requests in the Prometheus metric: `pushed`).
    func count(key: String, method: String, requests: Int = 0, errors: Int = 0, refused: Int = 0, credits: Int = 0, pushed: Bool = false) {
        let hour = Int(Date().timeIntervalSince1970) / 3600 * 3600
        state.withLock { s in
            let k = UsageKey(key: key, method: method, hour: hour)
            var v = s.usage[k] ?? (0, 0, 0, 0)
            v.requests += requests
            v.errors += errors
            v.refused += refused
            v.credits += credits
            s.usage[k] = v
        }
        if pushed { return }
        if requests > 0 { metrics.keyRequests(key: key, outcome: "admitted", by: requests) }
        if errors > 0 { metrics.keyRequests(key: key, outcome: "error", by: errors) }
        if refused > 0 { metrics.keyRequests(key: key, outcome: "refused", by: refused) }
    }

    /// Counters not yet acknowledged by the accounts service (tests).
    var unreported: Int {
        state.withLock { s in s.usage.values.reduce(0) { $0 + $1.requests + $1.refused } + (s.pending?.counts.reduce(0) { $0 + $1.requests + $1.refused } ?? 0) }
    }

    func usage(key: String?, since: Int?) async throws -> [UsageRow] {
        do {
            return try await client.call("getusage", UsageQuery(key: key, since: since), as: [UsageRow].self)
        } catch let e as RPCError {
            throw APIError.fromRPC(e, service: "the accounts service")
        } catch let e as BusError {
            throw APIError.fromBus(e, service: "the accounts service")
        }
    }

    /// An operator call on the accounts service, its errors mapped to the edge's.
    func call<P: Encodable & Sendable, R: Codable & Sendable>(_ method: String, _ params: P, as: R.Type) async throws -> R {
        do {
            return try await client.call(method, params, as: R.self)
        } catch let e as RPCError {
            throw APIError.fromRPC(e, service: "the accounts service")
        } catch let e as BusError {
            throw APIError.fromBus(e, service: "the accounts service")
        }
    }

    // MARK: anonymous

    /// Whether a keyless request from `address` may pass (a local bucket per address, per edge).
    func admitAnonymous(address: SocketAddress?) -> Admission {
        let loopback = Self.isLoopback(address)
        if loopback && !anonymous.limitLoopback { return .admitted }
        guard let rps = anonymous.rps else { return .admitted }
        guard rps > 0 else { return .refused(kind: "off", retryAfter: 0, remaining: 0, dailyRemaining: nil) }
        let ip = address?.ipAddress ?? "unknown"
        let now = clock.now
        return state.withLock { s in
            if s.anonymous.count > 100_000 { s.anonymous.removeAll() }
            var b = s.anonymous[ip] ?? (Double(rps), now)
            let elapsed = Double((now - b.last).components.seconds) + Double((now - b.last).components.attoseconds) / 1e18
            b.tokens = min(Double(rps), b.tokens + elapsed * Double(rps))
            b.last = now
            defer { s.anonymous[ip] = b }
            if b.tokens >= 1 {
                b.tokens -= 1
                return .admitted
            }
            return .refused(kind: "anonymous", retryAfter: (1 - b.tokens) / Double(rps), remaining: 0, dailyRemaining: nil)
        }
    }

    static func isLoopback(_ address: SocketAddress?) -> Bool {
        guard let address else { return true }  // in-process (tests' router mode)
        switch address {
        case .unixDomainSocket: return true
        default:
            guard let ip = address.ipAddress else { return false }
            return ip.hasPrefix("127.") || ip == "::1" || ip.hasPrefix("::ffff:127.")
        }
    }
}
