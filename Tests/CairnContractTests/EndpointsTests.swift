import CairnContract
import Testing

/// The small shared helpers of the contract: a host as written in a URL, a duration in seconds.
@Suite("Endpoints helpers")
struct EndpointsTests {
    @Test("an IPv6 host is bracketed in a URL, a name or an IPv4 address is not; hostPort reads both back")
    func urlHost() {
        #expect(Endpoints.urlHost("::1") == "[::1]")
        #expect(Endpoints.urlHost("fe80::1%eth0") == "[fe80::1%eth0]")
        #expect(Endpoints.urlHost("127.0.0.1") == "127.0.0.1")
        #expect(Endpoints.urlHost("node.example") == "node.example")
        for host in ["::1", "127.0.0.1", "node.example"] {
            let parsed = PeerEndpoints.hostPort("\(Endpoints.urlHost(host)):8342")
            #expect(parsed?.host == host && parsed?.port == 8342, "\(host)")
        }
    }

    @Test("a duration in seconds keeps its fraction")
    func durationInSeconds() {
        #expect(Duration.seconds(3).inSeconds == 3)
        #expect(Duration.milliseconds(1500).inSeconds == 1.5)
        #expect(Duration.zero.inSeconds == 0)
        #expect((Duration.seconds(-2)).inSeconds == -2)
    }
}
