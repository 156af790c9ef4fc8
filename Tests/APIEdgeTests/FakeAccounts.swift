@testable import APIEdge
import Bus
import Crypto
import Foundation
import NodeKit
import Synchronization

/// An accounts service on loopback TCP with a fixed budget per key (no refill): deterministic
/// answers for the route tests. The real limiter is tested in AccountsTests and across processes.
final class FakeAccounts: Sendable {
    let server: RequestServer
    let publisher: Publisher
    var rpcEndpoint: String { server.endpoints[0] }
    var pubEndpoint: String { publisher.endpoints[0] }
    var endpoints: AccountsEndpoints { AccountsEndpoints(rpc: rpcEndpoint, pub: pubEndpoint) }

    struct State {
        var records: [String: KeyRecord] = [:]
        /// Tokens left per key (rate), and requests left today.
        var budget: [String: Int] = [:]
        var dailyLeft: [String: Int] = [:]
        var reports: [UsageReport] = []
        var applied: [String: Int] = [:]
        var leaseCalls = 0
        var replies: [String: LeaseReply] = [:]
        var lookups = 0
    }
    final class Shared: Sendable {
        let m = Mutex(State())
        func withLock<T: Sendable>(_ body: (inout State) throws -> T) rethrows -> T { try m.withLock { try body(&$0) } }
    }
    let state = Shared()

    init(context: ZMQContext) async throws {
        publisher = try await Publisher(context: context, bind: ["tcp://127.0.0.1:*"])
        let state = self.state
        let router = RPCRouter([
            "lookupkey": RPCRouter.method(KeyRef.self) { p in
                try state.withLock { s in
                    s.lookups += 1
                    guard let r = s.records[p.id] else { throw RPCError.notFound("no key \(p.id)") }
                    return r
                }
            },
            "lease": RPCRouter.method(LeaseRequest.self) { p in
                state.withLock { s in
                    // A request sent again (the edge's client resends a late one) gets its first answer, as the real service's.
                    if let id = p.id, let first = s.replies["\(p.edge)#\(id)"] { return first }
                    s.leaseCalls += 1
                    var ack: Int?
                    if let r = p.report {
                        if r.sequence > s.applied[r.edge, default: 0] { s.reports.append(r); s.applied[r.edge] = r.sequence }
                        ack = r.sequence
                    }
                    let grants = p.wants.map { w -> LeaseGrant in
                        guard let rec = s.records[w.key] else {
                            return LeaseGrant(key: w.key, tokens: 0, ttl: 0, retryAfter: 0, remaining: 0, dailyRemaining: nil, refusal: "unknown")
                        }
                        if rec.info.revoked != nil {
                            return LeaseGrant(key: w.key, tokens: 0, ttl: 0, retryAfter: 0, remaining: 0, dailyRemaining: nil, refusal: "revoked")
                        }
                        if rec.info.daily > 0, s.dailyLeft[w.key, default: rec.info.daily] == 0 {
                            return LeaseGrant(key: w.key, tokens: 0, ttl: 1, retryAfter: 3600, remaining: 0, dailyRemaining: 0, refusal: "daily")
                        }
                        if rec.info.rps > 0 { s.budget[w.key, default: rec.info.rps] += w.returned }
                        // rps 0: no rate limit.
                        let budget = rec.info.rps > 0 ? s.budget[w.key, default: rec.info.rps] : w.want
                        var n = min(w.want, budget)
                        if rec.info.daily > 0 { n = min(n, s.dailyLeft[w.key, default: rec.info.daily]) }
                        s.budget[w.key] = budget - n
                        if rec.info.daily > 0 { s.dailyLeft[w.key] = s.dailyLeft[w.key, default: rec.info.daily] - n }
                        return LeaseGrant(key: w.key, tokens: n, ttl: 60, retryAfter: n == 0 ? 2.5 : 0, remaining: budget - n,
                                          dailyRemaining: rec.info.daily > 0 ? s.dailyLeft[w.key] : nil, refusal: n == 0 && w.want > 0 ? "rate" : nil)
                    }
                    let reply = LeaseReply(grants: grants, acknowledged: ack)
                    if let id = p.id { s.replies["\(p.edge)#\(id)"] = reply }
                    return reply
                }
            },
            "getusage": RPCRouter.method(UsageQuery.self) { q in
                state.withLock { s in
                    var rows: [String: UsageRow] = [:]
                    for c in s.reports.flatMap(\.counts) where q.key == nil || c.key == q.key {
                        let k = "\(c.key) \(c.hour) \(c.method)"
                        var r = rows[k] ?? UsageRow(key: c.key, method: c.method, hour: c.hour, requests: 0, errors: 0, refused: 0)
                        r.requests += c.requests; r.errors += c.errors; r.refused += c.refused
                        rows[k] = r
                    }
                    return rows.values.sorted { ($0.key, $0.hour, $0.method) < ($1.key, $1.hour, $1.method) }
                }
            },
            "listkeys": RPCRouter.method(KeyFilter.self) { _ in state.withLock { $0.records.values.map(\.info).sorted { $0.id < $1.id } } },
            "revokekey": RPCRouter.method(KeyRef.self) { p in
                try state.withLock { s in
                    guard var r = s.records[p.id] else { throw RPCError.notFound("no key \(p.id)") }
                    r.info.revoked = 1
                    s.records[p.id] = r
                    return r.info
                }
            },
        ])
        server = try await RequestServer(context: context, bind: ["tcp://127.0.0.1:*"]) { await router.handle($0) }
    }

    /// Adds a key; returns the whole key text.
    @discardableResult
    func add(rps: Int = 0, daily: Int = 0, origins: [String] = [], methods: [String] = []) -> String {
        let id = (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        let secret = String(repeating: "s", count: 40) + "abc"
        let hash = SHA256.hash(data: Array(secret.utf8)).map { String(format: "%02x", $0) }.joined()
        let info = KeyInfo(id: id, account: "acct", name: "test", rps: rps, daily: daily, origins: origins, methods: methods, created: 1, revoked: nil)
        state.withLock { $0.records[id] = KeyRecord(info: info, secretHash: hash) }
        return APIKeyFormat.format(id: id, secret: secret)
    }

    /// Revokes without telling anyone (the edge's cache keeps the key until a notice).
    func revokeSilently(_ id: String) { state.withLock { $0.records[id]?.info.revoked = 2 } }

    func notice(_ change: String, _ id: String) {
        publisher.publish(topic: Topic.keys, body: try! JSON.encode(KeyNotice(change: change, id: id)))
    }

    /// Requests counted per key over every report received.
    func counted(_ id: String) -> (requests: Int, errors: Int, refused: Int) {
        state.withLock { s in
            s.reports.flatMap(\.counts).filter { $0.key == id }.reduce((0, 0, 0)) { ($0.0 + $1.requests, $0.1 + $1.errors, $0.2 + $1.refused) }
        }
    }

    func stop() async {
        await server.stop()
        await publisher.stop()
    }
}
