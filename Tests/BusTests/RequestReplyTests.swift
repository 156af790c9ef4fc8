import Testing
import TestSupport
@testable import Bus

struct Boom: Error, CustomStringConvertible {
    var description: String { "boom" }
}

@Suite("Request / reply (Lazy Pirate)")
struct RequestReplyTests {
    @Test("round trips over every transport, concurrently from many tasks", arguments: Transport.allCases)
    func roundTrip(transport: Transport) async throws {
        try await withHangGuard(seconds: 180) {
            let context = try ZMQContext()
            let server = try await RequestServer(context: context, bind: transport.endpoint()) { body in
                body.reversed()
            }
            let client = try await RequestClient(context: context, endpoint: server.endpoints[0])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<200 {
                    group.addTask {
                        let body = BusFraming.le32(UInt32(i)) + [UInt8](repeating: UInt8(i % 256), count: i)
                        let reply = try await client.request(body)
                        #expect(reply == body.reversed())
                    }
                }
                try await group.waitForAll()
            }
            #expect(server.stats.executed == 200)
            await client.stop()
            await server.stop()
            await context.terminate()
        }
    }

    @Test("a handler error is thrown by the client as BusError.remote")
    func remoteError() async throws {
        try await withHangGuard(seconds: 180) {
            let context = try ZMQContext()
            let server = try await RequestServer(context: context, bind: Transport.inproc.endpoint()) { body in
                if body.isEmpty { throw Boom() }
                return body
            }
            let client = try await RequestClient(context: context, endpoint: server.endpoints[0])
            await #expect(throws: BusError.remote("boom")) { try await client.request([]) }
            #expect(try await client.request([1]) == [1])
            await client.stop()
            await server.stop()
            await context.terminate()
        }
    }

    @Test("no server: every request fails with .unreachable after the retry budget, no hang")
    func unreachable() async throws {
        try await withHangGuard(seconds: 180) {
            let context = try ZMQContext()
            let endpoint = ipcEndpoint()
            let client = try await RequestClient(context: context, endpoint: endpoint, timeout: .milliseconds(150), retries: 3)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<5 {
                    group.addTask {
                        await #expect(throws: BusError.unreachable(endpoint: endpoint, attempts: 3)) {
                            try await client.request([1])
                        }
                    }
                }
                try await group.waitForAll()
            }
            // Lazy Pirate reopened the socket after each timeout but the last (it may not have counted that one yet).
            #expect(client.reconnectCount >= 2)
            await client.stop()
            await context.terminate()
        }
    }

    @Test("recovery: a server that starts after the client's first attempts answers")
    func lateServer() async throws {
        try await withHangGuard(seconds: 180) {
            let context = try ZMQContext()
            let endpoint = ipcEndpoint()
            let client = try await RequestClient(context: context, endpoint: endpoint, timeout: .milliseconds(150), retries: 50)
            let pending = Task { try await client.request(Array("hello".utf8)) }
            try await waitUntil("client retried", timeout: 20, every: 0.005) { client.reconnectCount >= 2 }
            let server = try await RequestServer(context: context, bind: endpoint) { $0 + [33] }
            #expect(try await pending.value == Array("hello!".utf8))
            await client.stop()
            await server.stop()
            await context.terminate()
        }
    }

    @Test("recovery: a server killed and restarted on the same endpoint answers the next request")
    func restartedServer() async throws {
        try await withHangGuard(seconds: 180) {
            let clientContext = try ZMQContext()
            let firstContext = try ZMQContext()
            let first = try await RequestServer(context: firstContext, bind: "tcp://127.0.0.1:*") { _ in [1] }
            let endpoint = first.endpoints[0]
            let client = try await RequestClient(
                context: clientContext, endpoint: endpoint, timeout: .milliseconds(500), retries: 20)
            #expect(try await client.request([]) == [1])
            await first.stop()
            await firstContext.terminate()
            // A request while the server is down is retried until the new server answers it.
            let pending = Task { try await client.request([]) }
            let secondContext = try ZMQContext()
            let second = try await RequestServer(context: secondContext, bind: endpoint) { _ in [2] }
            #expect(try await pending.value == [2])
            #expect(try await client.request([]) == [2])
            await client.stop()
            await second.stop()
            await secondContext.terminate()
            await clientContext.terminate()
        }
    }

    @Test("a request retried while its handler runs is executed once and answered")
    func retryInFlightNotExecutedTwice() async throws {
        try await withHangGuard(seconds: 180) {
            let context = try ZMQContext()
            let executions = Counter()
            let gate = OneShot<Void>()
            let server = try await RequestServer(context: context, bind: Transport.tcp.endpoint()) { body in
                executions.increment()
                await gate.value()
                return body
            }
            let client = try await RequestClient(
                context: context, endpoint: server.endpoints[0], timeout: .milliseconds(100), retries: 1000)
            let pending = Task { try await client.request([7, 7]) }
            try await waitUntil("server saw the retry", timeout: 20, every: 0.005) { server.stats.duplicates >= 2 }
            gate.set(())
            #expect(try await pending.value == [7, 7])
            #expect(executions.value == 1)
            #expect(server.stats.executed == 1)
            await client.stop()
            await server.stop()
            await context.terminate()
        }
    }

    @Test("a retried request that was already answered is served from the cache; malformed frames are dropped")
    func cacheAndMalformed() async throws {
        try await withHangGuard(seconds: 180) {
            let context = try ZMQContext()
            let executions = Counter()
            let server = try await RequestServer(context: context, bind: Transport.tcp.endpoint()) { body in
                [UInt8(truncatingIfNeeded: executions.increment())] + body
            }
            let endpoint = server.endpoints[0]
            let replies = try await onOwnThread { () throws -> [[[UInt8]]] in
                let dealer = try ZMQSocket(context: context, type: .dealer)
                try dealer.setReceiveTimeout(milliseconds: 20_000)
                try dealer.connect(endpoint)
                try dealer.send([Array("no id".utf8)])                 // one frame
                try dealer.send([[1, 2, 3], [9]])                       // id of the wrong size
                try dealer.send([[UInt8](repeating: 1, count: 16), [], []])  // three frames
                let id = [UInt8](repeating: 0xAA, count: 16)
                try dealer.send([id, [5]])
                let first = try #require(try dealer.receive())
                try dealer.send([id, [5]])
                let second = try #require(try dealer.receive())
                return [first, second]
            }
            let id = [UInt8](repeating: 0xAA, count: 16)
            #expect(replies[0] == [id, [0], [1, 5]])
            #expect(replies[1] == replies[0])
            #expect(executions.value == 1)
            #expect(server.stats == RequestServer.Stats(executed: 1, duplicates: 1, malformed: 3))
            // The server still works for a normal client.
            let client = try await RequestClient(context: context, endpoint: endpoint)
            #expect(try await client.request([6]) == [2, 6])
            await client.stop()
            await server.stop()
            await context.terminate()
        }
    }

    @Test("the reply cache keeps at most its byte bound: the oldest replies go first, one larger than the bound is not kept")
    func replyCacheIsBoundedInBytes() async throws {
        try await withHangGuard(seconds: 180) {
            let context = try ZMQContext()
            // A reply of body[0] × 100 bytes.
            let server = try await RequestServer(context: context, bind: Transport.inproc.endpoint(), cacheBytes: 1_000) { body in
                [UInt8](repeating: 7, count: Int(body[0]) * 100)
            }
            let client = try await RequestClient(context: context, endpoint: server.endpoints[0])
            var kept = 0
            for _ in 0..<5 {
                #expect(try await client.request([4]).count == 400)
                kept = min(kept + 400, 800)
                // (the reply is remembered on the socket thread as it is sent: wait for it)
                try await waitUntil("the reply is cached", timeout: 10, every: 0.005) { server.cachedBytes == kept }
            }
            #expect(try await client.request([20]).count == 2_000)
            #expect(try await client.request([1]).count == 100)
            try await waitUntil("the small reply is cached, the large one is not", timeout: 10, every: 0.005) { server.cachedBytes == 900 }
            #expect(server.cachedBytes <= 1_000)
            await client.stop()
            await server.stop()
            await context.terminate()
        }
    }

    @Test("a cancelled request throws CancellationError and the client keeps working")
    func cancellation() async throws {
        try await withHangGuard(seconds: 180) {
            let context = try ZMQContext()
            let gate = OneShot<Void>()
            let server = try await RequestServer(context: context, bind: Transport.inproc.endpoint()) { body in
                if body == [0] { await gate.value() }
                return body
            }
            let client = try await RequestClient(context: context, endpoint: server.endpoints[0])
            let slow = Task { try await client.request([0]) }
            try await waitUntil("request reached the server", timeout: 20, every: 0.005) { server.stats.executed == 1 }
            slow.cancel()
            await #expect(throws: CancellationError.self) { try await slow.value }
            #expect(try await client.request([1]) == [1])
            gate.set(())
            await client.stop()
            await server.stop()
            await context.terminate()
        }
    }

    @Test("CURVE: the right server key gets replies, a wrong one is unreachable")
    func curve() async throws {
        try await withHangGuard(seconds: 180) {
            let context = try ZMQContext()
            let serverKeys = try CurveKeyPair.generate()
            let clientKeys = try CurveKeyPair.generate()
            let server = try await RequestServer(context: context, bind: "tcp://127.0.0.1:*", curve: serverKeys) { $0 }
            let endpoint = server.endpoints[0]
            let good = try await RequestClient(
                context: context, endpoint: endpoint, curve: .client(clientKeys, serverPublicKey: serverKeys.publicKey))
            #expect(try await good.request([3]) == [3])
            let wrong = try await RequestClient(
                context: context, endpoint: endpoint, timeout: .milliseconds(200), retries: 2,
                curve: .client(clientKeys, serverPublicKey: try CurveKeyPair.generate().publicKey))
            await #expect(throws: BusError.unreachable(endpoint: endpoint, attempts: 2)) { try await wrong.request([4]) }
            #expect(server.stats.executed == 1)
            await good.stop()
            await wrong.stop()
            await server.stop()
            await context.terminate()
        }
    }
}

extension RequestReplyTests {
    @Test("inline answers come from the socket thread, no handler run, while a handler is stuck; what inline declines goes to the handler")
    func inlineWhileBusy() async throws {
        try await withHangGuard(seconds: 180) {
            let context = try ZMQContext()
            let (released, release) = AsyncStream.makeStream(of: Void.self)
            let handled = AtomicCounter()
            let server = try await RequestServer(context: context, bind: Transport.inproc.endpoint(), maxConcurrent: 2,
                                                 inline: { body in body.first == 0x69 ? Array(body.reversed()) : nil }) { body in
                handled.increment()
                if body == [1] { for await _ in released { break } }
                return body
            }
            let client = try await RequestClient(context: context, endpoint: server.endpoints[0], timeout: .seconds(20), retries: 1)
            let stuck = Task { try await client.request([1]) }
            try await waitUntil("the async handler runs", timeout: 10) { handled.value == 1 }
            // Answered inline, all of them, while the handler above waits: none takes a handler slot.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<100 {
                    group.addTask {
                        let reply = try await client.request([0x69, UInt8(i)])
                        #expect(reply == [UInt8(i), 0x69])
                    }
                }
                try await group.waitForAll()
            }
            #expect(handled.value == 1, "no inline request ran the handler")
            #expect(try await client.request([2]) == [2], "declined inline: the handler answers")
            #expect(handled.value == 2)
            release.yield()
            #expect(try await stuck.value == [1])
            #expect(server.stats.executed == 102)
            await client.stop()
            await server.stop()
            await context.terminate()
        }
    }
}
