import Testing
import TestSupport
@testable import Bus

@Suite("BusBenchmark API")
struct BenchmarkSmokeTests {
    @Test("the benchmark entry points run end to end (no timing expectations)")
    func smoke() async throws {
        try await withHangGuard(seconds: 180) {
            let rate = try await BusBenchmark.throughput(messages: 2000)
            #expect(rate > 0)
            let latencies = try await BusBenchmark.roundTripLatencies(count: 20)
            #expect(latencies.count == 20)
            #expect(BusBenchmark.percentile(latencies, 0.5) <= BusBenchmark.percentile(latencies, 0.99))
            #expect(BusBenchmark.percentile([.seconds(1), .seconds(2), .seconds(3), .seconds(4)], 0.5) == .seconds(2))
        }
    }
}
