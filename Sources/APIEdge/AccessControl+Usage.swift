import Bus
import Foundation
import NodeKit

// Usage: counters per key, method and hour, reported with the next lease (or every
// `flushInterval`) under an idempotent (edge, sequence) pair; the operator's usage queries.
extension AccessControl {
    /// The report to send: the one not yet acknowledged, else a new one with the counters since.
    static func nextReport(_ s: inout State, edge: String) -> UsageReport? {
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
            let reply = try await client.call(AccountsMethod.lease, LeaseRequest(edge: edgeID, wants: wants, report: report, id: nextLeaseID()), as: LeaseReply.self)
            state.withLock { s in if let ack = reply.acknowledged, s.pending?.sequence == ack { s.pending = nil } }
        } catch {
            state.withLock { s in for w in wants { s.leases[w.key]?.toReturn += w.returned } }
        }
    }

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
            return try await client.call(AccountsMethod.getusage, UsageQuery(key: key, since: since), as: [UsageRow].self)
        } catch let e as RPCError {
            throw APIError.fromRPC(e, service: .accounts)
        } catch let e as BusError {
            throw APIError.fromBus(e, service: .accounts)
        }
    }

    /// An operator call on the accounts service, its errors mapped to the edge's.
    func call<P: Encodable & Sendable, R: Codable & Sendable>(_ method: AccountsMethod, _ params: P, as: R.Type) async throws -> R {
        do {
            return try await client.call(method, params, as: R.self)
        } catch let e as RPCError {
            throw APIError.fromRPC(e, service: .accounts)
        } catch let e as BusError {
            throw APIError.fromBus(e, service: .accounts)
        }
    }
}
