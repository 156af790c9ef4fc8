import ChainCore
import Hummingbird

/// Where a reconnecting client left off: `?since=<seq>&instance=<id>` (the last `seq` it handled and
/// the hello's `instance`), or `?since_hash=<block hash>` (the last block it saw). Nothing: a fresh start.
struct ResumeCursor: Sendable, Equatable {
    var seq: Int?
    var instance: String?
    var hash: String?

    init?(query: [String: String]) {
        seq = query["since"].flatMap { Int($0) }
        instance = query["instance"]
        hash = query["since_hash"].flatMap { Hash256(hex: $0) != nil ? $0.lowercased() : nil }
        if seq == nil && hash == nil { return nil }
    }

    init?(request: Request) {
        var query = [String: String]()
        for (k, v) in request.uri.queryParameters { query[String(k)] = String(v) }
        self.init(query: query)
    }
}
