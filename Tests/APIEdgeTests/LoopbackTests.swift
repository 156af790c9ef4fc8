@testable import APIEdge
import NIOCore
import Testing

@Suite("Keyless clients: loopback")
struct LoopbackTests {
    @Test(arguments: [("127.0.0.1", true), ("127.255.3.4", true), ("10.0.0.1", false), ("128.0.0.1", false), ("1.127.0.1", false),
                      ("::1", true), ("::ffff:127.0.0.1", true), ("2001:db8::1", false), ("::2", false)])
    func loopback(_ ip: String, _ expected: Bool) throws {
        let address = try SocketAddress(ipAddress: ip, port: 443)
        #expect(AccessControl.isLoopback(address) == expected)
    }

    @Test func noAddressOrUnixSocket() throws {
        #expect(AccessControl.isLoopback(nil))
        #expect(AccessControl.isLoopback(try SocketAddress(unixDomainSocketPath: "/tmp/x.sock")))
    }
}
