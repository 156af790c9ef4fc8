import Foundation
import NodeKit
import Testing
import TestSupport

/// Tests/ports.json: one range per suite, no port shared, every port in the ephemeral range inside
/// the band scripts/test.sh reserves.
@Suite struct PortTableTests {
    let table = Ports.table

    @Test func noTwoRangesShareAPort() {
        let names = table.ranges.keys.sorted()
        for (i, a) in names.enumerated() {
            for b in names[(i + 1)...] {
                let shared = table.ports(of: a).intersection(table.ports(of: b))
                #expect(shared.count == 0, "\(a) and \(b) share \(shared.count) ports, e.g. \(Array(shared.sorted().prefix(5)))")
            }
        }
    }

    @Test func everyEphemeralPortIsReserved() {
        let ephemeral = table.ephemeral[0]...table.ephemeral[1]
        let reserved = table.reserved[0]...table.reserved[1]
        for (name, _) in table.ranges {
            let outside = table.ports(of: name).filter { ephemeral.contains($0) && !reserved.contains($0) }
            #expect(outside.count == 0, "\(name): \(outside.count) ports (e.g. \(Array(outside.sorted().prefix(5)))) lie in the ephemeral range outside \(reserved)")
        }
    }

    /// The reserved band in the table is the one scripts/test.sh writes.
    @Test func theBandIsTheOneTestShReserves() throws {
        let script = try String(contentsOf: Ports.file.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/test.sh"), encoding: .utf8)
        #expect(script.contains("\(table.reserved[0])-\(table.reserved[1])"))
    }

    @Test func rangesAreWholeStepsAndTheServicePortsAreTheNodes() {
        for (name, r) in table.ranges {
            #expect(r.first % table.step == 0 && r.last % table.step == 0 && r.first <= r.last, "\(name)")
        }
        let p = Endpoints.defaultPorts, peer = PeerEndpoints.defaultPorts, accounts = AccountsEndpoints.defaultPorts
        let used = [Endpoints.defaultHTTPPort, Endpoints.defaultWalletPort, peer.ws, p.chainRPC, p.chainPub, p.mempoolRPC,
                    p.mempoolPub, peer.rpc, peer.pub, accounts.rpc, accounts.pub]
        for port in used { #expect(table.servicePorts.contains(port), "\(port) missing from servicePorts") }
        // Every port a node listens on shifts by less than one step between two offsets.
        let bus = table.servicePorts.filter { $0 >= 28330 }
        #expect((bus.max() ?? 0) - (bus.min() ?? 0) < table.step)
    }

    @Test func offsetsComeFromTheirRangeOneAfterTheOther() {
        let r = table.ranges["NetworkTests"]!
        let three = Ports.offsets("NetworkTests", count: 3)
        #expect(three.allSatisfy { (r.first...r.last).contains($0) })
        #expect(three[1] == three[0] + table.step && three[2] == three[1] + table.step)
        #expect(Ports.offset("NetworkTests") != three[0])
    }
}
