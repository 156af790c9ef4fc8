import Foundation

/// The request/reply envelope every service speaks over `Bus`:
///
///     request: {"method": "<name>", "params": {...}}
///     reply:   {"result": {...}}                               success
///              {"error": {"code": "<code>", "message": "..."}}  refused, not found, bad params
///
/// Codes are stable strings (consensus reasons such as `bad-txns-inputs-missingorspent`,
/// policy reasons such as `txn-mempool-conflict`, or `not-found`, `bad-params`,
/// `unknown-method`, `internal`). The edge maps them to HTTP statuses.
public struct RPCError: Error, Codable, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var message: String

    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    public static func notFound(_ what: String) -> RPCError { RPCError("not-found", what) }
    public static func badParams(_ why: String) -> RPCError { RPCError("bad-params", why) }
}

public struct RequestEnvelope<P: Encodable>: Encodable {
    public let method: String
    public let params: P
    public init(method: String, params: P) { self.method = method; self.params = params }
}

public struct MethodOnly: Decodable { public let method: String }
public struct ParamsOnly<P: Decodable>: Decodable { public let params: P }

public struct ReplyEnvelope<R: Codable>: Codable {
    public var result: R?
    public var error: RPCError?
    public init(result: R?, error: RPCError?) { self.result = result; self.error = error }
}

/// Empty parameters or result.
public struct Empty: Codable, Sendable, Equatable { public init() {} }

public enum JSON {
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] { Array(try encoder().encode(value)) }
    public static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws -> T {
        try JSONDecoder().decode(type, from: Data(bytes))
    }
}
