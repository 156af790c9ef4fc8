import Testing
import TestSupport
@testable import Bus

@Suite("Publisher / Subscriber")
struct PubSubTests {
    @Test("publications arrive with Bitcoin Core framing over every transport", arguments: Transport.allCases)
    func delivery(transport: Transport) async throws {
        try await withHangGuard(seconds: 180) {
            let context = try ZMQContext()
            let publisher = try await Publisher(context: context, bind: [transport.endpoint()])
            let subscriber = try await Subscriber(context: context, connect: publisher.endpoints, topics: ["hashblock", "rawtx"])
            try await subscriber.ready()
            publisher.publish(topic: "hashblock", body: [1, 2, 3])
            publisher.publish(topic: "other", body: [9])
            publisher.publish(topic: "rawtx", body: [])
            publisher.publish(topic: "hashblock", body: [4])
            var iterator = subscriber.events.makeAsyncIterator()
            let events = await next(3, from: &iterator)
            #expect(events == [
                .message(topic: "hashblock", body: [1, 2, 3], sequence: 0),
                .message(topic: "rawtx", body: [], sequence: 0),
                .message(topic: "hashblock", body: [4], sequence: 1),
            ])
            #expect(publisher.nextSequences() == ["hashblock": 2, "other": 1, "rawtx": 1])
            await subscriber.stop()
            await publisher.stop()
            await context.terminate()
        }
    }

    @Test("slow joiner: after ready() every publication arrives in sequence, no sleeps", arguments: Transport.allCases)
    func slowJoiner(transport: Transport) async throws {
        try await withHangGuard(seconds: 180) {
            let context = try ZMQContext()
            let publisher = try await Publisher(context: context, bind: [transport.endpoint()], hwm: 1_000_000)
            // Publishing is under way before the subscriber exists.
            for i in 0..<100 { publisher.publish(topic: "tick", body: BusFraming.le32(UInt32(i))) }
            await publisher.flush()
            let stop = Flag()
            defer { stop.set() }  // a failure below must not leave the producer spinning in the test process
            let producer = Task {
                var sequence: UInt32 = 100
                while !stop.isSet {
                    publisher.publish(topic: "tick", body: BusFraming.le32(sequence))
                    sequence += 1
                    if sequence % 64 == 0 {  // pacing, not synchronisation
                        await publisher.flush()
                        await Task.yield()
                    }
                }
            }
            let subscriber = try await Subscriber(
                context: context, connect: publisher.endpoints, topics: ["tick"], hwm: 1_000_000)
            try await subscriber.ready()
            var iterator = subscriber.events.makeAsyncIterator()
            var previous: UInt32?
            for event in await next(3000, from: &iterator) {
                guard case let .message(topic, body, sequence) = event else {
                    Issue.record("unexpected \(event)")
                    break
                }
                #expect(topic == "tick")
                #expect(body == BusFraming.le32(sequence))
                if let previous { #expect(sequence == previous + 1) }
                previous = sequence
            }
            stop.set()
            await producer.value
            await subscriber.stop()
            await publisher.stop()
            await context.terminate()
        }
    }

    @Test("gap: a tiny HWM and a consumer that does not read yield .gap events with exact numbers")
    func gapDetection() async throws {
        try await withHangGuard(seconds: 180) {
            let context = try ZMQContext()
            let endpoint = Transport.inproc.endpoint()
            let publisher = try await Publisher(context: context, bind: [endpoint], hwm: 10)
            let subscriber = try await Subscriber(context: context, connect: [endpoint], topics: ["t"], hwm: 10, capacity: 10)
            try await subscriber.ready()
            // Nobody reads: at most the HWMs and the subscriber's capacity are buffered, the rest is dropped.
            for i in 0..<10_000 { publisher.publish(topic: "t", body: BusFraming.le32(UInt32(i))) }
            await publisher.flush()

            let end = Array("end".utf8)
            let seen = OneShot<[SubscriberEvent]>()
            let consumer = Task {
                var events: [SubscriberEvent] = []
                for await event in subscriber.events {
                    events.append(event)
                    if case let .message(_, body, _) = event, body == end { break }
                }
                seen.set(events)
            }
            // Publish an end marker until one gets through the drained queues.
            while seen.current == nil {
                publisher.publish(topic: "t", body: end)
                await publisher.flush()
                await Task.yield()
            }
            let events = await seen.value()
            await consumer.value

            var expected: UInt32 = 0
            var messages = 0, lost = 0, gaps = 0
            var pendingGap: (expected: UInt32, received: UInt32)?
            for event in events {
                switch event {
                case let .message(_, body, sequence):
                    if let gap = pendingGap {
                        #expect(sequence == gap.received)
                        pendingGap = nil
                    } else {
                        #expect(sequence == expected)
                    }
                    if body != end { #expect(body == BusFraming.le32(sequence)) }
                    expected = sequence + 1
                    messages += 1
                case let .gap(_, gapExpected, received):
                    #expect(gapExpected == expected)
                    #expect(received > gapExpected)
                    lost += Int(received - gapExpected)
                    gaps += 1
                    pendingGap = (gapExpected, received)
                case .reset:
                    Issue.record("unexpected \(event)")
                }
            }
            #expect(gaps >= 1)
            #expect(messages + lost == Int(expected))  // every sequence is either delivered or reported lost
            #expect(expected >= 10_001)
            await subscriber.stop()
            await publisher.stop()
            await context.terminate()
        }
    }

    @Test("publisher restart is reported as .reset, then numbering starts again")
    func restartIsReset() async throws {
        try await withHangGuard(seconds: 180) {
            let subscriberContext = try ZMQContext()
            // Each publisher has its own context, like a separate process: terminating it releases the port.
            let firstContext = try ZMQContext()
            let first = try await Publisher(context: firstContext, bind: ["tcp://127.0.0.1:*"])
            let endpoint = first.endpoints[0]
            let subscriber = try await Subscriber(context: subscriberContext, connect: [endpoint], topics: ["t"])
            try await subscriber.ready()
            for i in 0..<5 { first.publish(topic: "t", body: [UInt8(i)]) }
            var iterator = subscriber.events.makeAsyncIterator()
            #expect(await next(5, from: &iterator).map(\.sequence) == [0, 1, 2, 3, 4])
            await first.stop()
            await firstContext.terminate()

            let secondContext = try ZMQContext()
            let second = try await Publisher(context: secondContext, bind: [endpoint])
            #expect(second.instanceID != first.instanceID)
            // The subscriber reconnects and resubscribes; the new instance's sync reveals the restart.
            #expect(await iterator.next() == .reset(topic: "t", expected: 5, received: 0))
            second.publish(topic: "t", body: [42])
            #expect(await iterator.next() == .message(topic: "t", body: [42], sequence: 0))
            await subscriber.stop()
            await second.stop()
            await secondContext.terminate()
            await subscriberContext.terminate()
        }
    }

    @Test("a sequence that goes back is a .reset, forward is a .gap (wrapping at 2^32)")
    func sequenceDirection() {
        #expect(SubscriberLoop.isForward(from: 5, to: 9))
        #expect(!SubscriberLoop.isForward(from: 5, to: 0))
        #expect(SubscriberLoop.isForward(from: UInt32.max, to: 2))
    }

    @Test("100,000 publications with HWMs above the count arrive in order without loss")
    func hundredThousand() async throws {
        try await withHangGuard(seconds: 180) {
            let count = 100_000
            let context = try ZMQContext()
            let publisher = try await Publisher(context: context, bind: ["tcp://127.0.0.1:*"], hwm: 200_000)
            let subscriber = try await Subscriber(
                context: context, connect: publisher.endpoints, topics: ["bulk"], hwm: 200_000)
            try await subscriber.ready()
            for i in 0..<count { publisher.publish(topic: "bulk", body: BusFraming.le32(UInt32(i))) }
            var received = 0
            for await event in subscriber.events {
                guard case let .message(_, body, sequence) = event, sequence == UInt32(received),
                      body == BusFraming.le32(sequence) else {
                    Issue.record("at \(received): unexpected \(event)")
                    break
                }
                received += 1
                if received == count { break }
            }
            #expect(received == count)
            await subscriber.stop()
            await publisher.stop()
            await context.terminate()
        }
    }

    @Test("sync messages use their own topic and sequence frame, not a normal counter")
    func syncDoesNotConsumeSequences() async throws {
        try await withHangGuard(seconds: 180) {
            let context = try ZMQContext()
            let publisher = try await Publisher(context: context, bind: [Transport.inproc.endpoint()])
            publisher.publish(topic: "t", body: [0])
            await publisher.flush()
            // Several subscribers join, each triggering a sync message.
            for _ in 0..<3 {
                let subscriber = try await Subscriber(context: context, connect: publisher.endpoints, topics: ["t"])
                try await subscriber.ready()
                await subscriber.stop()
            }
            #expect(publisher.nextSequences() == ["t": 1])
            let late = try await Subscriber(context: context, connect: publisher.endpoints, topics: ["t"])
            try await late.ready()
            publisher.publish(topic: "t", body: [1])
            var iterator = late.events.makeAsyncIterator()
            #expect(await iterator.next() == .message(topic: "t", body: [1], sequence: 1))
            await late.stop()
            await publisher.stop()
            await context.terminate()
        }
    }

    @Test("one subscriber, two publishers: ready() waits for both")
    func twoPublishers() async throws {
        try await withHangGuard(seconds: 180) {
            let context = try ZMQContext()
            let blocks = try await Publisher(context: context, bind: [Transport.ipc.endpoint()])
            let txs = try await Publisher(context: context, bind: [Transport.tcp.endpoint()])
            blocks.publish(topic: "block", body: [])
            await blocks.flush()  // sent before the subscriber exists: nobody receives it
            let subscriber = try await Subscriber(
                context: context, connect: blocks.endpoints + txs.endpoints, topics: ["block", "tx"])
            try await subscriber.ready()
            blocks.publish(topic: "block", body: [1])
            txs.publish(topic: "tx", body: [2])
            var iterator = subscriber.events.makeAsyncIterator()
            let events = await next(2, from: &iterator)
            #expect(Set(events.map { "\($0)" }) == [
                "\(SubscriberEvent.message(topic: "block", body: [1], sequence: 1))",
                "\(SubscriberEvent.message(topic: "tx", body: [2], sequence: 0))",
            ])
            await subscriber.stop()
            await blocks.stop()
            await txs.stop()
            await context.terminate()
        }
    }
}
