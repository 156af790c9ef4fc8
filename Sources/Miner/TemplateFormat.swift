/// Which template the miner asks the mempool for: binary (`getblocktemplatebin`, the transactions
/// as bytes) unless the mempool answered that "unknown-method" (an older mempool); then JSON
/// (`getblocktemplate`), and binary asked again once `retry` has passed since, since the mempool may
/// have been replaced by one that knows it. Generic over the clock's instant so a test drives it
/// with instants of its own, no waiting.
struct TemplateFormat<Instant: InstantProtocol>: Sendable where Instant: Sendable {
    let retry: Instant.Duration
    /// When the mempool last answered the binary template "unknown-method" (nil: it has not, or it
    /// answered it since).
    private(set) var jsonSince: Instant?

    init(retry: Instant.Duration) { self.retry = retry }

    /// Whether to ask for the binary template at `now`.
    func asksBinary(now: Instant) -> Bool {
        guard let since = jsonSince else { return true }
        return now >= since.advanced(by: retry)
    }

    /// The mempool answered the binary template. True when that is a change (it had not known it):
    /// worth a line in the log.
    mutating func binaryAnswered() -> Bool {
        defer { jsonSince = nil }
        return jsonSince != nil
    }

    /// The mempool answered the binary template "unknown-method" at `now`. True the first time
    /// (not on each retry): worth a line in the log.
    mutating func binaryUnknown(now: Instant) -> Bool {
        defer { jsonSince = now }
        return jsonSince == nil
    }
}
