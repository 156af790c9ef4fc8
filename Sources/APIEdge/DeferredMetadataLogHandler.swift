import Logging

/// The edge's log handler: the one the logging system makes (a `StreamLogHandler` to standard
/// error), with this logger's own metadata kept as given and handed over with an event only when
/// one is written. Hummingbird gives every request a logger of its own with an `hb.request.id`;
/// `StreamLogHandler` renders its metadata as text at each change (the id formatted, the line's
/// metadata built), though a request logs nothing at the default level: under a flood of
/// `POST /api/tx` that was about 2% of the edge's CPU. The lines written are the same (the
/// metadata rendered from the same keys and values, an event's own overriding the logger's).
struct DeferredMetadataLogHandler: LogHandler {
    private var inner: any LogHandler
    var metadata: Logger.Metadata

    init(wrapping inner: any LogHandler) {
        var inner = inner
        metadata = inner.metadata
        inner.metadata = [:]
        self.inner = inner
    }

    /// A logger labelled `label` with the logging system's handler, wrapped.
    static func logger(label: String) -> Logger {
        let system = Logger(label: label).handler
        return Logger(label: label) { _ in DeferredMetadataLogHandler(wrapping: system) }
    }

    var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        guard !metadata.isEmpty else { return inner.log(event: event) }
        var event = event
        event.metadata = metadata.merging(event.metadata ?? [:]) { _, explicit in explicit }
        inner.log(event: event)
    }
}
