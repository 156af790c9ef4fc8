import NodeKit

/// Bans and the offence counters (btcd's ban score in `connmgr`). A peer's score lives on its
/// `PeerState`; reaching `Offence.banThreshold` bans every identity `keys` gives it for `duration` seconds.
struct BanList {
    let duration: Double
    private var bans: [String: BanInfo] = [:]
    /// Offences seen, by raw value (a report: `getpeers`' `offences`).
    private(set) var offences: [String: Int] = [:]

    init(duration: Double) { self.duration = duration }

    /// Identities a ban applies to. Loopback peers share an address, so there the ban is on each of
    /// address:port (`port` is given for an outbound connection only: the port dialled; an inbound
    /// connection's source port is an ephemeral one the kernel hands to any later local process),
    /// address:listen-port, the URL dialled and the node's nonce: coming back under any one of them is
    /// refused (changing all of them at once is not caught; see §9).
    static func keys(host: String, port: Int?, dialURL: String?, listenPort: UInt16?, nonce claimed: UInt64? = nil) -> [String] {
        let loopback = host.hasPrefix("127.") || host == "::1" || host == "localhost"
        guard loopback else { return [host] }
        var keys: [String] = []
        if let port { keys.append("\(host):\(port)") }
        if let listenPort, listenPort > 0 { keys.append("\(host):\(listenPort)") }
        if let dialURL { keys.append(dialURL) }
        if let claimed { keys.append("nonce:\(String(claimed, radix: 16))") }
        return keys
    }

    /// The ban in force on any of `keys` at `now` (seconds since 1970), if any.
    func active(for keys: [String], now: Double = ServiceSupport.now()) -> BanInfo? {
        for k in keys { if let b = bans[k], b.until > now { return b } }
        return nil
    }

    mutating func record(_ offence: Offence) { offences[offence.rawValue, default: 0] += 1 }

    /// Bans each key for `duration` from `now`. Bans expired by then are dropped first, so the list
    /// holds only what is in force (many addresses, or on loopback many ports and nonces, banned
    /// once each would otherwise stay in it for good).
    mutating func ban(_ keys: [String], reason: String, now: Double = ServiceSupport.now()) {
        bans = bans.filter { $0.value.until > now }
        let until = now + duration
        for key in keys { bans[key] = BanInfo(address: key, reason: reason, until: until) }
    }

    /// How many bans are kept (in force or not yet dropped).
    var count: Int { bans.count }

    /// The bans in force at `now`, by key.
    func current(now: Double = ServiceSupport.now()) -> [BanInfo] {
        bans.values.filter { $0.until > now }.sorted { $0.address < $1.address }
    }
}
