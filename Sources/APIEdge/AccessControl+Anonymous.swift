import NIOCore

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

// Keyless callers: a local bucket per client address at this edge.
extension AccessControl {
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
            let elapsed = (now - b.last).inSeconds
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
        case .v4(let v4):
            // 127.0.0.0/8, read from the address itself (its text form was made per keyless request).
            return UInt32(bigEndian: v4.address.sin_addr.s_addr) >> 24 == 127
        default:
            guard let ip = address.ipAddress else { return false }
            return ip.hasPrefix("127.") || ip == "::1" || ip.hasPrefix("::ffff:127.")
        }
    }
}
