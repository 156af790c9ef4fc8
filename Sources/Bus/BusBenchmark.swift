/// Measurements for the benchmark executable (not tests). Each call makes its own context and
/// services on `tcp://127.0.0.1:*` and tears them down before returning.
public enum BusBenchmark {
    /// Publishes `messages` messages of `bodySize` bytes through `Publisher` → `Subscriber` over TCP
    /// loopback (high-water marks above the count, so nothing is dropped) and returns messages per
    /// second, measured from the first publish to the last message received.
    public static func throughput(messages: Int, bodySize: Int = 64) async throws -> Double {
        precondition(messages > 0)
        let context = try ZMQContext()
        let hwm = Int32(clamping: messages + 1000)
        let publisher = try await Publisher(context: context, bind: ["tcp://127.0.0.1:*"], hwm: hwm)
        let subscriber = try await Subscriber(context: context, connect: publisher.endpoints, topics: ["bench"], hwm: hwm)
        try await subscriber.ready()
        let body = [UInt8](repeating: 0xAB, count: bodySize)
        let clock = ContinuousClock()
        let start = clock.now
        for _ in 0..<messages { publisher.publish(topic: "bench", body: body) }
        var received = 0
        var lost = 0
        for await event in subscriber.events {
            switch event {
            case .message: received += 1
            case let .gap(_, expected, next): lost += Int(next &- expected)
            case .reset: break
            }
            if received + lost >= messages { break }
        }
        let elapsed = start.duration(to: clock.now)
        await subscriber.stop()
        await publisher.stop()
        await context.terminate()
        return Double(received) / seconds(elapsed)
    }

    /// Event latency: publishes `count` messages one at a time through `Publisher` → `Subscriber`
    /// over TCP loopback, waiting for each to arrive before the next, and returns each
    /// publish-to-delivery time (same process, same clock).
    public static func publishLatencies(count: Int, bodySize: Int = 64) async throws -> [Duration] {
        precondition(count > 0)
        let context = try ZMQContext()
        let publisher = try await Publisher(context: context, bind: ["tcp://127.0.0.1:*"])
        let subscriber = try await Subscriber(context: context, connect: publisher.endpoints, topics: ["bench"])
        try await subscriber.ready()
        let body = [UInt8](repeating: 0xCD, count: bodySize)
        let clock = ContinuousClock()
        var latencies = [Duration]()
        latencies.reserveCapacity(count)
        var iterator = subscriber.events.makeAsyncIterator()
        for _ in 0..<count {
            let start = clock.now
            publisher.publish(topic: "bench", body: body)
            while let event = await iterator.next() {
                if case .message = event { break }
            }
            latencies.append(start.duration(to: clock.now))
        }
        await subscriber.stop()
        await publisher.stop()
        await context.terminate()
        return latencies
    }

    /// Sends `count` sequential requests of `bodySize` bytes through `RequestClient` → `RequestServer`
    /// (an echo handler) over TCP loopback and returns each round-trip time, in order.
    public static func roundTripLatencies(count: Int, bodySize: Int = 64) async throws -> [Duration] {
        let context = try ZMQContext()
        let server = try await RequestServer(context: context, bind: "tcp://127.0.0.1:*") { $0 }
        let client = try await RequestClient(context: context, endpoint: server.endpoints[0])
        let body = [UInt8](repeating: 0xCD, count: bodySize)
        _ = try await client.request(body)  // warm-up: connection established
        let clock = ContinuousClock()
        var latencies: [Duration] = []
        latencies.reserveCapacity(count)
        for _ in 0..<count {
            let start = clock.now
            _ = try await client.request(body)
            latencies.append(start.duration(to: clock.now))
        }
        await client.stop()
        await server.stop()
        await context.terminate()
        return latencies
    }

    /// The `p`-quantile (0...1, nearest rank) of `durations`, e.g. 0.5 for p50 and 0.99 for p99.
    public static func percentile(_ durations: [Duration], _ p: Double) -> Duration {
        guard !durations.isEmpty else { return .zero }
        let sorted = durations.sorted()
        let rank = Int((p * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }

    static func seconds(_ duration: Duration) -> Double {
        let (s, atto) = duration.components
        return Double(s) + Double(atto) / 1e18
    }
}
