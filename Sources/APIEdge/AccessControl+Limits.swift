import NodeKit

// Limits: leases of tokens from the accounts service's per-key buckets, shared by every request
// waiting for the same key.
extension AccessControl {
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
                    let left = (until - now).inSeconds
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
                let reply = try await client.call(AccountsMethod.lease, LeaseRequest(edge: edgeID, wants: [LeaseWant(key: info.id, want: want, returned: returned)],
                                                                        report: report, id: nextLeaseID()), as: LeaseReply.self)
                let now = clock.now
                state.withLock { s in
                    if let ack = reply.acknowledged, s.pending?.sequence == ack { s.pending = nil }
                    var l = s.leases[info.id] ?? Lease()
                    l.refill = nil
                    if let g = reply.grants.first(where: { $0.key == info.id }) {
                        if l.tokens > 0 && now >= l.expires { l.toReturn += l.tokens; l.tokens = 0 }
                        // A grant of no tokens leaves the expiry of the tokens still held alone (it
                        // carries a short ttl: those would be given back after it, unspent).
                        if g.tokens > 0 {
                            l.tokens += g.tokens
                            l.expires = now + .milliseconds(Int(g.ttl * 1000))
                        }
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
}
