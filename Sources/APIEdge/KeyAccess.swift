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
    let client: RPCClient
    private let subscriber: Subscriber
    let metrics: EdgeMetrics
    let logger: Logger
    let state = Mutex(State())
    /// The next lease request's id (`LeaseRequest.id`).
    let leaseIDs = Atomic<UInt64>(0)
    func nextLeaseID() -> UInt64 { leaseIDs.wrappingAdd(1, ordering: .relaxed).newValue }
    let clock = ContinuousClock()
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

    init(context: ZMQContext, endpoints: AccountsEndpoints, timeout: Duration, retries: Int, bus: BusSecurity, anonymous: AnonymousPolicy,
         metrics: EdgeMetrics, logger: Logger) async throws {
        self.endpoints = endpoints
        self.anonymous = anonymous
        self.metrics = metrics
        self.logger = logger
        client = try await RPCClient(context: context, endpoint: endpoints.rpc, timeout: timeout, retries: retries,
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
}
