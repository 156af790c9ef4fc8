@testable import APIEdge
import Logging
import Synchronization
import Testing

@Suite("The edge's log handler")
struct DeferredMetadataLogHandlerTests {
    final class Lines: Sendable { let list = Mutex<[(message: String, metadata: Logger.Metadata)]>([]) }

    /// Writes as a `StreamLogHandler` renders a line: its own metadata, the event's over it.
    struct Recorder: LogHandler {
        let lines: Lines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info
        var metadataProvider: Logger.MetadataProvider?
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            lines.list.withLock { $0.append(("\(event.message)", metadata.merging(event.metadata ?? [:]) { $1 })) }
        }
    }

    @Test("a logger's metadata reaches the wrapped handler with each line written, the line's own over it; the level is the wrapped handler's")
    func metadataAtWrite() {
        let lines = Lines()
        var recorder = Recorder(lines: lines)
        recorder.metadata = ["service": "edge"]
        let base = Logger(label: "t") { _ in DeferredMetadataLogHandler(wrapping: recorder) }
        var request = base   // as Hummingbird gives each request its logger
        request[metadataKey: "hb.request.id"] = "r1"
        #expect(request[metadataKey: "hb.request.id"] == "r1")
        #expect(base[metadataKey: "hb.request.id"] == nil)
        #expect(base[metadataKey: "service"] == "edge")
        request.debug("not written")   // below the wrapped handler's level
        request.info("one", metadata: ["txid": "ab"])
        request.info("two", metadata: ["hb.request.id": "mine"])
        base.info("three")
        let seen = lines.list.withLock { $0 }
        #expect(seen.map(\.message) == ["one", "two", "three"])
        #expect(seen.map(\.metadata) == [["service": "edge", "hb.request.id": "r1", "txid": "ab"],
                                         ["service": "edge", "hb.request.id": "mine"],
                                         ["service": "edge"]])
        var verbose = base
        verbose.logLevel = .debug
        #expect(verbose.logLevel == .debug && base.logLevel == .info)
        verbose.debug("four")
        #expect(lines.list.withLock { $0.last?.message } == "four")
    }
}
