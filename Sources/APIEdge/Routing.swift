import ChainCore
import Hummingbird

typealias EdgeContext = EdgeRequestContext
typealias RouteHandler = @Sendable (Request, EdgeContext) async throws -> Response

/// One HTTP route: what the router serves and what /openapi.json documents.
struct Route: Sendable {
    let method: HTTPRequest.Method
    /// Hummingbird path, with `:name` parameters ("/api/block/:hash").
    let path: String
    let doc: RouteDoc
    let handler: RouteHandler

    init(_ method: HTTPRequest.Method, _ path: String, _ doc: RouteDoc, _ handler: @escaping RouteHandler) {
        self.method = method
        self.path = path
        self.doc = doc
        self.handler = handler
    }

    /// OpenAPI spelling of the path ("/api/block/{hash}").
    var openAPIPath: String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { seg in
            seg.hasPrefix(":") ? "{\(seg.dropFirst())}" : String(seg)
        }.joined(separator: "/")
    }
}

/// Matches a request path against the route table (for 405 answers).
struct RouteMatcher: Sendable {
    private let templates: [(method: HTTPRequest.Method, segments: [Substring])]
    /// The templates by number of segments, fewest parameters first (usage labels, per keyed request).
    private let byLength: [Int: [(method: HTTPRequest.Method, segments: [Substring])]]

    init(_ routes: [(HTTPRequest.Method, String)]) {
        templates = routes.map { ($0.0, $0.1.split(separator: "/")) }
        byLength = Dictionary(grouping: templates, by: \.segments.count).mapValues { list in
            list.sorted { $0.segments.filter { $0.hasPrefix(":") }.count < $1.segments.filter { $0.hasPrefix(":") }.count }
        }
    }

    /// The route template a request matches ("/api/block/:hash"), nil when none: usage is counted by
    /// route, never by raw path.
    func template(method: HTTPRequest.Method, path: String) -> String? {
        let parts = path.split(separator: "/")
        // The most specific match: the fewest parameters ("/api/blocks/tip/height" before "/api/blocks/:x/height").
        return byLength[parts.count]?.first { t in
            t.method == method && zip(t.segments, parts).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
        }.map { "/" + $0.segments.joined(separator: "/") }
    }

    func methods(for path: String) -> Set<HTTPRequest.Method> {
        let parts = path.split(separator: "/")
        var out = Set<HTTPRequest.Method>()
        for t in templates where t.segments.count == parts.count {
            if zip(t.segments, parts).allSatisfy({ $0.hasPrefix(":") || $0 == $1 }) { out.insert(t.method) }
        }
        return out
    }
}

/// Path parameter parsing; every failure is a 400 with a precise code.
enum Param {
    static func raw(_ context: EdgeContext, _ name: String) throws -> String {
        guard let v = context.parameters.get(name) else { throw APIError.badRequest("bad-request", "missing parameter \(name)") }
        return v
    }

    /// A 64-hex-digit block hash or txid, returned lower-case.
    static func hash(_ context: EdgeContext, _ name: String, what: String) throws -> String {
        let v = try raw(context, name)
        guard v.utf8.count == 64, v.utf8.allSatisfy(\.isHexDigit), Hash256(hex: v) != nil else {
            throw APIError.badRequest("bad-\(what)", "'\(v.prefix(80))' is not a \(what) (64 hex digits)")
        }
        return v.lowercased()
    }

    static func nonNegative(_ context: EdgeContext, _ name: String, what: String) throws -> Int {
        let v = try raw(context, name)
        guard !v.isEmpty, v.utf8.count <= 10, v.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let n = Int(v), n <= Int(Int32.max) else {
            throw APIError.badRequest("bad-\(what)", "'\(v.prefix(80))' is not a \(what) (a non-negative integer)")
        }
        return n
    }

    static func address(_ context: EdgeContext, _ name: String, network: Network) throws -> Address {
        let v = try raw(context, name).removingPercentEncodingSafe
        guard !v.contains(where: \.isWhitespace) else {
            throw APIError.badRequest("address-malformed", "an address has no spaces")
        }
        do {
            return try Address(v, network: network)
        } catch {
            throw APIError.badRequest(error.code, error.description)
        }
    }
}

extension UInt8 {
    var isHexDigit: Bool { (48...57).contains(self) || (65...70).contains(self) || (97...102).contains(self) }
}

extension String {
    /// Path segments arrive as sent; a client may percent-encode characters of an address.
    var removingPercentEncodingSafe: String {
        guard contains("%") else { return self }
        var bytes = [UInt8]()
        var it = Array(utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "%"), it.count >= 2, let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(v)
                it = it.dropFirst(2)
            } else {
                bytes.append(b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
