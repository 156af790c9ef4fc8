import Testing
import TestSupport
@testable import Bus

@Suite("Shutdown")
struct ShutdownTests {
    /// Publisher, subscriber, client and server with traffic flowing.
    struct Load {
        let context: ZMQContext
        let publisher: Publisher
        let subscriber: Subscriber
        let server: RequestServer
        let client: RequestClient
        let stop = Flag()
        let consumed = Counter()
        let answered = Counter()
        var tasks: [Task<Void, Never>] = []

        init() async throws {
            context = try ZMQContext()
            publisher = try await Publisher(context: context, bind: ["tcp://127.0.0.1:*"])
            subscriber = try await Subscriber(context: context, connect: publisher.endpoints, topics: ["load"], capacity: 100)
            server = try await RequestServer(context: context, bind: Transport.ipc.endpoint()) { body in
                await Task.yield()
                return body
            }
            // A long timeout: on a starved machine (the whole suite starting at once) a request must
            // not fail for want of CPU; this test is about stopping, not about timing.
            client = try await RequestClient(context: context, endpoint: server.endpoints[0], timeout: .seconds(20))
            try await subscriber.ready()
            let (publisher, subscriber, client, stop, consumed, answered) =
                (publisher, subscriber, client, stop, consumed, answered)
            tasks.append(Task {
                while !stop.isSet {
                    for _ in 0..<100 { publisher.publish(topic: "load", body: [1, 2, 3]) }
                    // Pacing; a stopped publisher flushes at once, so end rather than spin.
                    guard await publisher.flush() else { return }
                    await Task.yield()
                }
            })
            tasks.append(Task {
                for await _ in subscriber.events { consumed.increment() }
            })
            for _ in 0..<4 {
                tasks.append(Task {
                    while !stop.isSet {
                        do {
                            _ = try await client.request([9])
                            answered.increment()
                        } catch {
                            #expect(error as? BusError == .stopped)
                            return
                        }
                    }
                })
            }
        }

        /// Throws when the traffic does not flow, after stopping everything: a failed test leaves no
        /// publisher task spinning in the test process (one did, and starved every later test).
        func flowing() async throws {
            do {
                try await waitUntil("traffic flows", timeout: 60, every: 0.005) { consumed.value > 1000 && answered.value > 100 }
            } catch {
                stop.set()
                await publisher.stop()
                await subscriber.stop()
                await client.stop()
                await server.stop()
                for task in tasks { await task.value }
                await context.terminate()
                throw error
            }
        }

        func finish() async {
            stop.set()
            for task in tasks { await task.value }
        }
    }

    @Test("stopping every service while messages flow, then terminating the context, finishes")
    func stopUnderLoad() async throws {
        try await withHangGuard(seconds: 180) {
            let load = try await Load()
            try await load.flowing()
            async let a: Void = load.publisher.stop()
            async let b: Void = load.subscriber.stop()
            async let c: Void = load.client.stop()
            async let d: Void = load.server.stop()
            _ = await (a, b, c, d)
            await load.finish()
            await load.context.terminate()
            // Stopping again is harmless.
            await load.publisher.stop()
            await load.client.stop()
            await #expect(throws: BusError.stopped) { try await load.client.request([1]) }
        }
    }

    @Test("terminating the context under load ends every socket thread")
    func terminateUnderLoad() async throws {
        try await withHangGuard(seconds: 180) {
            let load = try await Load()
            try await load.flowing()
            await load.context.terminate()
            await load.finish()
            await load.publisher.stop()
            await load.subscriber.stop()
            await load.client.stop()
            await load.server.stop()
            await #expect(throws: BusError.self) { try await load.subscriber.ready(timeout: .seconds(1)) }
        }
    }

    @Test("services dropped without stop() release their threads and the context")
    func dropWithoutStop() async throws {
        try await withHangGuard(seconds: 180) {
            let context = try ZMQContext()
            do {
                let publisher = try await Publisher(context: context, bind: [Transport.inproc.endpoint()])
                let subscriber = try await Subscriber(context: context, connect: publisher.endpoints, topics: [""])
                try await subscriber.ready()
                publisher.publish(topic: "x", body: [])
                #expect(context.openSockets >= 2, "the publisher's and the subscriber's sockets are open")
            }
            // Dropped: each service's thread closes its sockets and ends (bounded wait on the condition).
            try? await waitUntil("every socket of the dropped services is closed", timeout: 20, every: 0.01) { context.openSockets == 0 }
            #expect(context.openSockets == 0, "every socket of the dropped services is closed")
            await context.terminate()
        }
    }
}
