import Foundation

/// Whether a TCP port can be listened on, checked by binding it (SO_REUSEADDR, as the services bind).
enum PortCheck {
    struct Listen: Sendable, Equatable {
        var host: String
        var port: Int
        var what: String

        init(host: String, port: Int, what: String) {
            self.host = host == "*" ? "0.0.0.0" : host
            self.port = port
            self.what = what
        }

        /// A ZeroMQ `tcp://host:port` endpoint (others, such as ipc://, have no port to check).
        init?(endpoint: String, what: String) {
            guard endpoint.hasPrefix("tcp://") else { return nil }
            let rest = endpoint.dropFirst(6)
            guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]) else { return nil }
            var host = String(rest[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            self.init(host: host, port: port, what: what)
        }
    }

    static func firstInUse(_ list: [Listen]) -> Listen? {
        list.first { inUse(host: $0.host, port: $0.port) }
    }

    /// True when binding `host:port` fails with EADDRINUSE and something accepts connections there: a
    /// listener (another node), not just an outgoing connection that happens to use the port for a
    /// moment (the services retry those). Any other failure is left to the service to report.
    static func inUse(host: String, port: Int) -> Bool {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else { return false }
        defer { freeaddrinfo(first) }
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let ai = cursor {
            cursor = ai.pointee.ai_next
            let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, ai.pointee.ai_protocol)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            if bind(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) != 0 && errno == EADDRINUSE
                && accepts(family: ai.pointee.ai_family, address: ai.pointee.ai_addr, length: ai.pointee.ai_addrlen) {
                return true
            }
        }
        return false
    }

    /// Whether a TCP connection to the address opens (the wildcard address is tried on loopback).
    /// Local addresses only: the answer (accept or refuse) is immediate.
    private static func accepts(family: Int32, address: UnsafeMutablePointer<sockaddr>, length: socklen_t) -> Bool {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: address, count: Int(length)))
        }
        withUnsafeMutablePointer(to: &storage) { p in
            if family == AF_INET {
                p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { a in
                    if a.pointee.sin_addr.s_addr == 0 { a.pointee.sin_addr.s_addr = inet_addr("127.0.0.1") }
                }
            } else if family == AF_INET6 {
                p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { a in
                    let any = withUnsafeBytes(of: a.pointee.sin6_addr) { $0.allSatisfy { $0 == 0 } }
                    if any { a.pointee.sin6_addr = in6addr_loopback }
                }
            }
        }
        return withUnsafePointer(to: &storage) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, length) == 0 }
        }
    }
}
