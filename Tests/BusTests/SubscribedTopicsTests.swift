import Testing
import TestSupport
@testable import Bus

/// The publisher's account of who listens (`Publisher.hasSubscriber`, `publish(topic:ifSubscribed:)`).
@Suite("Publisher / subscribed topics")
struct SubscribedTopicsTests {
    @Test("a topic nobody subscribes to is not made and takes no sequence number; subscribers see no gap", arguments: Transport.allCases)
    func skipsWithoutGaps(transport: Transport) async throws {
        try await withHangGuard(seconds: 180) {
            let context = try ZMQContext()
            let publisher = try await Publisher(context: context, bind: [transport.endpoint()])
            #expect(!publisher.hasSubscriber("trace"))
            var made = 0
            #expect(publisher.publish(topic: "trace", ifSubscribed: { made += 1; return [0] }) == nil)
            #expect(made == 0)
            #expect(publisher.nextSequences()["trace"] == nil)

            // A subscriber to a prefix: its handshake is answered after its topics are seen.
            let subscriber = try await Subscriber(context: context, connect: publisher.endpoints, topics: ["tra"])
            try await subscriber.ready()
            #expect(publisher.hasSubscriber("trace"))
            #expect(!publisher.hasSubscriber("tip"))
            #expect(publisher.publish(topic: "trace", ifSubscribed: { made += 1; return [1] }) == 0)
            #expect(publisher.publish(topic: "trace", ifSubscribed: { made += 1; return [2] }) == 1)
            #expect(made == 2)
            var iterator = subscriber.events.makeAsyncIterator()
            #expect(await next(2, from: &iterator) == [.message(topic: "trace", body: [1], sequence: 0),
                                                        .message(topic: "trace", body: [2], sequence: 1)])

            // The last subscriber gone (disconnected): skipped again, and a new one sees no gap.
            await subscriber.stop()
            try await waitUntil("the publisher sees the subscriber leave", timeout: 20, every: 0.02) { !publisher.hasSubscriber("trace") }
            #expect(publisher.publish(topic: "trace", ifSubscribed: { made += 1; return [3] }) == nil)
            #expect(made == 2)
            let late = try await Subscriber(context: context, connect: publisher.endpoints, topics: ["trace"])
            try await late.ready()
            publisher.publish(topic: "trace", ifSubscribed: { [4] })
            var lateIterator = late.events.makeAsyncIterator()
            #expect(await lateIterator.next() == .message(topic: "trace", body: [4], sequence: 2))
            await late.stop()
            await publisher.stop()
            await context.terminate()
        }
    }

    @Test("two subscribers to a topic: it stays subscribed until both are gone")
    func lastOneOut() async throws {
        try await withHangGuard(seconds: 180) {
            let context = try ZMQContext()
            let publisher = try await Publisher(context: context, bind: [Transport.tcp.endpoint()])
            let a = try await Subscriber(context: context, connect: publisher.endpoints, topics: ["trace"])
            let b = try await Subscriber(context: context, connect: publisher.endpoints, topics: ["trace", "tip"])
            try await a.ready()
            try await b.ready()
            #expect(publisher.hasSubscriber("trace") && publisher.hasSubscriber("tip"))
            await b.stop()
            try await waitUntil("the publisher sees `tip` left", timeout: 20, every: 0.02) { !publisher.hasSubscriber("tip") }
            #expect(publisher.hasSubscriber("trace"))
            await a.stop()
            try await waitUntil("the publisher sees `trace` left", timeout: 20, every: 0.02) { !publisher.hasSubscriber("trace") }
            await publisher.stop()
            await context.terminate()
        }
    }

    @Test("several publications queued at once go out in order, numbered per topic")
    func batch() async throws {
        try await withHangGuard(seconds: 180) {
            let context = try ZMQContext()
            let publisher = try await Publisher(context: context, bind: [Transport.inproc.endpoint()])
            let subscriber = try await Subscriber(context: context, connect: publisher.endpoints, topics: ["a", "b"])
            try await subscriber.ready()
            publisher.publish(topic: "a", body: [0])
            #expect(publisher.publish([("a", [1]), ("b", [2]), ("a", [3])]) == [1, 0, 2])
            #expect(publisher.publish([]) == [])
            var iterator = subscriber.events.makeAsyncIterator()
            #expect(await next(4, from: &iterator) == [.message(topic: "a", body: [0], sequence: 0), .message(topic: "a", body: [1], sequence: 1),
                                                        .message(topic: "b", body: [2], sequence: 0), .message(topic: "a", body: [3], sequence: 2)])
            await subscriber.stop()
            await publisher.stop()
            await context.terminate()
        }
    }
}
