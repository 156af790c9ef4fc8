import Hummingbird
import Prometheus
import Synchronization

/// The edge's Prometheus metrics, on its own registry (served at /metrics).
final class EdgeMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let txSubmitted: Counter
    let txAccepted: Counter
    let height: Gauge
    let wsConnections: Gauge
    let wsDropped: Counter
    /// The key_requests counters made so far, by "key outcome" (the registry's lookup is slower than this one).
    private let keyCounters = Mutex<[String: Counter]>([:])

    static let buckets: [Duration] = [.milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100),
                                      .milliseconds(250), .seconds(1), .milliseconds(2500), .seconds(10)]

    init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        txSubmitted = registry.makeCounter(descriptor: .init(namespace: "cairn_edge", metricName: "tx_submitted", unitName: "total",
                                                             helpText: "Transactions posted to /api/tx"))
        txAccepted = registry.makeCounter(descriptor: .init(namespace: "cairn_edge", metricName: "tx_accepted", unitName: "total",
                                                            helpText: "Posted transactions the mempool accepted"))
        height = registry.makeGauge(descriptor: .init(namespace: "cairn_edge", metricName: "chain_height", unitName: "",
                                                      helpText: "Height of the best chain as last seen by the edge"))
        wsConnections = registry.makeGauge(descriptor: .init(namespace: "cairn_edge", metricName: "ws_connections", unitName: "",
                                                             helpText: "Open WebSocket connections"))
        wsDropped = registry.makeCounter(descriptor: .init(namespace: "cairn_edge", metricName: "ws_slow_clients_dropped", unitName: "total",
                                                           helpText: "WebSocket clients disconnected because their queue was full"))
    }

    func txRejected(code: String) {
        registry.makeCounter(descriptor: .init(namespace: "cairn_edge", metricName: "tx_rejected", unitName: "total",
                                               helpText: "Posted transactions refused, by reason code"),
                             labels: [("reason", code)]).increment()
    }

    /// Keyed requests by key id (never the secret) and outcome: admitted, error (admitted, answered
    /// 4xx/5xx), refused (401/403 for a known key, 429). Bounded by the number of keys.
    func keyRequests(key: String, outcome: String, by n: Int = 1) {
        let name = key + " " + outcome
        if let counter = keyCounters.withLock({ $0[name] }) { return counter.increment(by: Int64(n)) }
        let counter = registry.makeCounter(descriptor: .init(namespace: "cairn_edge", metricName: "key_requests", unitName: "total",
                                                             helpText: "Requests with an API key, by key id and outcome (batch items each count)"),
                                           labels: [("key", key), ("outcome", outcome)])
        keyCounters.withLock { if $0.count < 100_000 { $0[name] = counter } }
        counter.increment(by: Int64(n))
    }

    /// Methods as labels, bounded (a client may send any token as a method).
    static func label(_ method: HTTPRequest.Method) -> String {
        [.get, .post, .head, .options, .put, .delete, .patch].contains(method) ? method.rawValue : "other"
    }

    /// The http_requests counter and duration histogram of each (route, method, status) made so far:
    /// the registry's lookup (descriptor, labels, its lock) cost more than the rest of a request's
    /// metrics. Bounded: routes are the matched patterns, methods and statuses few.
    private struct RequestKey: Hashable {
        let route: String, method: String, status: Int
    }
    private let requestSeries = Mutex<[RequestKey: (Counter, DurationHistogram)]>([:])

    func request(route: String, method: String, status: Int, duration: Duration) {
        let key = RequestKey(route: route, method: method, status: status)
        if let (counter, histogram) = requestSeries.withLock({ $0[key] }) {
            counter.increment()
            histogram.record(duration)
            return
        }
        let counter = registry.makeCounter(descriptor: .init(namespace: "cairn_edge", metricName: "http_requests", unitName: "total",
                                                             helpText: "HTTP requests by route, method and status"),
                                           labels: [("route", route), ("method", method), ("status", String(status))])
        let histogram = registry.makeDurationHistogram(descriptor: .init(namespace: "cairn_edge", metricName: "http_request_duration", unitName: "seconds",
                                                                         helpText: "HTTP request duration by route"),
                                                       labels: [("route", route), ("method", method)], buckets: Self.buckets)
        requestSeries.withLock { if $0.count < 10_000 { $0[key] = (counter, histogram) } }
        counter.increment()
        histogram.record(duration)
    }

    func text() -> [UInt8] { registry.emitToBuffer() }
}

/// Counts every request by matched route (not raw path, to bound the label set) and status.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: EdgeMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            metrics.request(route: context.endpointPath ?? "NotFound", method: EdgeMetrics.label(request.method),
                            status: response.status.code, duration: ContinuousClock.now - start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.request(route: context.endpointPath ?? "NotFound", method: EdgeMetrics.label(request.method),
                            status: status, duration: ContinuousClock.now - start)
            throw error
        }
    }
}
