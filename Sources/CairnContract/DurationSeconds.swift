extension Duration {
    /// This duration in seconds, fractions included (the standard library's `Duration / Duration`):
    /// for rates and `Retry-After` values computed from two clock instants.
    public var inSeconds: Double { self / .seconds(1) }
}
