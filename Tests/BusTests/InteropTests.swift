import Foundation
import Synchronization
import Testing
import TestSupport
@testable import Bus

@Suite("pyzmq interop")
struct InteropTests {
    @Test("a plain pyzmq SUB reads topic, body and little-endian sequence from our Publisher")
    func pyzmqSubscriber() async throws {
        try await withHangGuard(seconds: 180) {
            let probe = try await ProcessRunner.run("/usr/bin/env", ["python3", "-c", "import zmq"])
            guard probe.status == 0 else {
                Issue.record("python3 with pyzmq is required for this test (apt-get install python3-zmq, or pip install pyzmq): \(probe.stderr)")
                return
            }
            let script = try #require(
                Bundle.module.url(forResource: "zmq_sub", withExtension: "py", subdirectory: "Fixtures"),
                "Fixtures/zmq_sub.py missing from the test bundle")
            let context = try ZMQContext()
            let publisher = try await Publisher(context: context, bind: ["tcp://127.0.0.1:*"])
            // A Bus subscriber on the same publisher, so sync messages flow beside the plain one.
            let busSubscriber = try await Subscriber(context: context, connect: publisher.endpoints, topics: ["hashtx"])
            try await busSubscriber.ready()

            let count = 5
            let python = try await ProcessRunner("/usr/bin/env", ["python3", script.path, publisher.endpoints[0], "hashblock", "\(count)"])
            // Its output lines after the one that says it is subscribed.
            let lines = { python.stdout.split(separator: "\n").map(String.init) }
            try await waitUntil("zmq_sub.py says it is ready", timeout: 80, every: 0.01) { lines().contains("ready") || !python.isRunning }
            // The slow joiner: keep publishing until the script has its messages and exits.
            while python.isRunning {
                let sequence = publisher.nextSequences()["hashblock", default: 0]
                publisher.publish(topic: "hashblock", body: Array("block-\(sequence)".utf8))
                publisher.publish(topic: "hashtx", body: [0xEE])
                await publisher.flush()
                await Task.yield()
            }
            let status = await python.wait()
            #expect(status == 0, "zmq_sub.py failed: \(python.stderr)")
            let records = try lines().filter { $0 != "ready" }.map { line in
                try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "bad line \(line)")
            }
            #expect(records.count == count)
            var previous: Int?
            for record in records {
                let sequence = try #require(record["seq"] as? Int)
                #expect(record["topic"] as? String == "hashblock")
                #expect(record["body_hex"] as? String == BusFraming.hex(Array("block-\(sequence)".utf8)))
                #expect(record["seq_hex"] as? String == BusFraming.hex(BusFraming.le32(UInt32(sequence))))
                if let previous { #expect(sequence == previous + 1) }
                previous = sequence
            }
            await busSubscriber.stop()
            await publisher.stop()
            await context.terminate()
        }
    }
}
