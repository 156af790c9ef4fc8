import Foundation
import Synchronization
import Testing
import TestSupport
@testable import Bus

/// A child process whose stdout is read line by line on its own thread.
final class ChildProcess: Sendable {
    private let lines = Mutex<[String]>([])
    private let readyLine = OneShot<Void>()
    private let exited = OneShot<Int32>()
    private let stderrText = Mutex<String>("")

    init(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let readerDone = OneShot<Void>()
        let exited = self.exited, readyLine = self.readyLine
        process.terminationHandler = { process in
            let status = process.terminationStatus
            Task {
                await readerDone.value()
                exited.set(status)
            }
        }
        try process.run()
        Thread {
            var buffer = Data()
            let handle = out.fileHandleForReading
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                while let newline = buffer.firstIndex(of: 10) {
                    let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                    buffer.removeSubrange(buffer.startIndex...newline)
                    if line == "ready" { readyLine.set(()) } else { self.lines.withLock { $0.append(line) } }
                }
            }
            let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            self.stderrText.withLock { $0 = errors }
            readerDone.set(())
        }.start()
    }

    func ready() async { await readyLine.value() }
    var hasExited: Bool { exited.current != nil }
    func exitStatus() async -> Int32 { await exited.value() }
    var output: [String] { lines.withLock { $0 } }
    var errors: String { stderrText.withLock { $0 } }
}

@Suite("pyzmq interop")
struct InteropTests {
    @Test("a plain pyzmq SUB reads topic, body and little-endian sequence from our Publisher")
    func pyzmqSubscriber() async throws {
        try await withHangGuard(seconds: 90) {
            let probe = try ChildProcess(["python3", "-c", "import zmq"])
            guard await probe.exitStatus() == 0 else {
                Issue.record("python3 with pyzmq is required for this test (apt-get install python3-zmq, or pip install pyzmq): \(probe.errors)")
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
            let python = try ChildProcess(["python3", script.path, publisher.endpoints[0], "hashblock", "\(count)"])
            await python.ready()
            // The slow joiner: keep publishing until the script has its messages and exits.
            while !python.hasExited {
                let sequence = publisher.nextSequences()["hashblock", default: 0]
                publisher.publish(topic: "hashblock", body: Array("block-\(sequence)".utf8))
                publisher.publish(topic: "hashtx", body: [0xEE])
                await publisher.flush()
                await Task.yield()
            }
            let status = await python.exitStatus()
            #expect(status == 0, "zmq_sub.py failed: \(python.errors)")
            let records = try python.output.map { line in
                try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "bad line \(line)")
            }
            #expect(records.count == count)
            var previous: Int?
            for record in records {
                let sequence = try #require(record["seq"] as? Int)
                #expect(record["topic"] as? String == "hashblock")
                #expect(record["body_hex"] as? String == Wire.hex(Array("block-\(sequence)".utf8)))
                #expect(record["seq_hex"] as? String == Wire.hex(Wire.le32(UInt32(sequence))))
                if let previous { #expect(sequence == previous + 1) }
                previous = sequence
            }
            await busSubscriber.stop()
            await publisher.stop()
            await context.terminate()
        }
    }
}
