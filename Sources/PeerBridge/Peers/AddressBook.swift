import NodeKit

/// Addresses to dial (btcd's `addrmgr`, small): configured URLs, kept forever, and URLs learned from
/// peers' `addr`, bounded with random eviction; and which node (nonce) our own dials found at a URL,
/// so a node already connected, or ourselves, is not dialled again.
struct AddressBook {
    /// Learned addresses kept at most; over that a random learned one makes room.
    static let maxLearned = 1000

    /// URL → whether it is configured (false: learned).
    private var entries: [String: Bool] = [:]
    /// ws URL → the nonce of the node found there (learned only from our own dials).
    private var nodeAt: [String: UInt64] = [:]

    /// Every URL, configured and learned, sorted.
    var urls: [String] { entries.keys.sorted() }
    var learned: [String] { entries.filter { !$0.value }.map(\.key) }
    var configuredCount: Int { entries.values.filter { $0 }.count }
    func contains(_ url: String) -> Bool { entries[url] != nil }
    func isConfigured(_ url: String) -> Bool { entries[url] == true }

    /// A URL worth learning: `ws://host:port` (optionally a trailing `/`), at most 200 bytes, a host of
    /// letters, digits, `.` and `-` (or a bracketed IPv6 address), a port 1–65535; nothing else.
    static func isDiallable(_ url: String) -> Bool {
        guard url.utf8.count <= Wire.maxAddressLength, url.hasPrefix("ws://") else { return false }
        var rest = url.dropFirst(5)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard let (host, port) = PeerEndpoints.hostPort(String(rest)), (1...65535).contains(port),
              !rest.hasSuffix(":"), String(rest).hasSuffix(":\(port)") else { return false }
        if rest.hasPrefix("[") {
            return host.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." } && host.contains(":")
        }
        return host.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "." || $0 == "-" }
            && !host.hasPrefix("-") && !host.hasPrefix(".")
    }

    /// Learns the diallable URLs of `list` not known yet; `ownNonce` keeps our own address remembered
    /// when a learned one is evicted.
    mutating func learn(_ list: [String], ownNonce: UInt64) {
        for url in list where entries[url] == nil && Self.isDiallable(url) {
            let learned = self.learned
            if learned.count >= Self.maxLearned, let victim = learned.randomElement() { forgetLearned(victim, ownNonce: ownNonce) }
            entries[url] = false
        }
    }

    mutating func addConfigured(_ url: String) { entries[url] = true }

    /// Forgets a learned URL (a configured one stays), and the node found there unless that is us.
    mutating func forgetLearned(_ url: String, ownNonce: UInt64) {
        guard entries[url] == false else { return }
        entries[url] = nil
        if nodeAt[url] != ownNonce { nodeAt[url] = nil }   // ourselves stays remembered
    }

    /// The node at `url` is the one with `nonce` (one of our dials got there).
    mutating func found(_ nonce: UInt64, at url: String) { nodeAt[url] = nonce }

    /// The nonce of the node our dials found at `url`.
    func node(at url: String) -> UInt64? { nodeAt[url] }
}
