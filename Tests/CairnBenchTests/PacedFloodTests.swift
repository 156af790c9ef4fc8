@testable import CairnBench
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing

/// The paced generator against a local HTTP server that holds each answer: every request sent once
/// and answered, latency counted from the scheduled time (a request waiting for a free connection
/// waits on the clock), refusals, closed connections and unanswered requests counted.
@Suite struct PacedFloodTests {
    /// Bodies the server saw, in arrival order.
    final class Log: Sendable {
        let bodies = Mutex<[String]>([])
    }

    /// Answers each request `hold` after reading it: 200 "ok", 400 for the body "bad"; closes the
    /// connection unanswered for "drop", never answers "hang".
    final class HoldingServer: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let hold: TimeAmount
        let log: Log
        var body = ""

        init(hold: TimeAmount, log: Log) { self.hold = hold; self.log = log }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head: body = ""
            case .body(let b): body += String(buffer: b)
            case .end:
                let body = self.body
                log.bodies.withLock { $0.append(body) }
                switch body {
                case "drop": context.close(promise: nil)
                case "hang": break
                default:
                    var head = HTTPResponseHead(version: .http1_1, status: body == "bad" ? .badRequest : .ok)
                    head.headers.add(name: "Content-Length", value: "2")
                    let parts: [HTTPServerResponsePart] = [.head(head), .body(.byteBuffer(ByteBuffer(string: "ok"))), .end(nil)]
                    let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
                    context.eventLoop.scheduleTask(in: hold) {
                        for part in parts { bound.value.write(NIOAny(part), promise: nil) }
                        bound.value.flush()
                    }
                }
            }
        }
    }

    static func withServer(hold: TimeAmount, _ body: (Int, Log) async throws -> Void) async throws {
        let log = Log()
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(HoldingServer(hold: hold, log: log))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        do {
            try await body(server.localAddress!.port!, log)
        } catch {
            try? await server.close()
            throw error
        }
        try await server.close()
    }

    static var lanes: Int { Array(MultiThreadedEventLoopGroup.singleton.makeIterator()).count }

    @Test func everyRequestIsSentOnceAndAcknowledged() async throws {
        try await Self.withServer(hold: .zero) { port, log in
            let bodies = (0..<60).map { "tx\($0)" }
            let flood = PacedFlood(bodies: bodies.map { ByteBuffer(string: $0) }, rate: 600)
            let r = try await flood.run(host: "127.0.0.1", port: port, connections: 8)
            #expect(r.latencies.count == 60)
            #expect(r.refused == 0 && r.unanswered == 0 && r.connectionsLost == 0)
            #expect(r.sent == 60)
            #expect(r.sendLags.allSatisfy { $0 >= 0 })
            #expect(r.latencies.allSatisfy { $0 > 0 })
            #expect(log.bodies.withLock { $0 }.sorted() == bodies.sorted())
        }
    }

    /// One connection a lane, each answer held 200 ms, every request due within 10 ms: a lane's
    /// requests go one after the other, so its last is answered at least 5 holds after the first
    /// was sent, and its latency, counted from its scheduled time, shows the whole wait (counted from
    /// its sending it would be one hold).
    @Test func latencyCountsFromTheScheduledTimeWhileWaitingForAConnection() async throws {
        let hold = 0.2
        try await Self.withServer(hold: .milliseconds(200)) { port, log in
            let total = 5 * Self.lanes
            let rate = 1_000.0
            let flood = PacedFlood(bodies: (0..<total).map { ByteBuffer(string: "tx\($0)") }, rate: rate)
            let r = try await flood.run(host: "127.0.0.1", port: port, connections: 1)
            #expect(r.latencies.count == total)
            let span = Double(total - 1) / rate
            #expect((r.latencies.max() ?? 0) >= 5 * hold - span)
            #expect(r.latencies.allSatisfy { $0 >= hold })
            // Each lane's first request found its connection free; every other one waited.
            #expect(r.waited >= 1)
            #expect(log.bodies.withLock { $0.count } == total)
        }
    }

    @Test func refusalsClosedConnectionsAndSilenceAreCounted() async throws {
        try await Self.withServer(hold: .milliseconds(5)) { port, _ in
            let bodies = ["ok", "bad", "drop", "ok", "hang", "ok", "ok", "ok"]
            let flood = PacedFlood(bodies: bodies.map { ByteBuffer(string: $0) }, rate: 100)
            let r = try await flood.run(host: "127.0.0.1", port: port, connections: 4 * Self.lanes, giveUp: 1)
            #expect(r.latencies.count == 5)
            #expect(r.refused == 1)
            #expect(r.unanswered == 2)   // "drop" (its connection closed) and "hang" (given up)
            #expect(r.connectionsLost == 1)
        }
    }
}

/// The CPU table's readings of /proc.
@Suite struct NodeCPUTests {
    /// This test process found among its parent's children by its executable's name (no child started
    /// here: Foundation's Process.run() is not safe in a test process with many descriptors open).
    @Test func readsThisProcessAndFindsItAmongItsParentsChildren() throws {
        let me = try #require(ProcessStat(pid: getpid()))
        #expect(me.parent == getppid())
        #expect(me.cpuSeconds > 0)
        let name = URL(fileURLWithPath: CommandLine.arguments[0]).lastPathComponent
        let found = CPUSample.children(of: getppid())
        #expect(found.contains { $0.0 == getpid() && $0.1 == name })
        #expect((CPUSample.machineBusySeconds() ?? 0) > 0)
    }
}
