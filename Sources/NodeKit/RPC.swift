import Bus
import Foundation

// The envelope, RPCError, Empty and JSON are the contract: Sources/CairnContract/Envelope.swift.

/// Calls methods on a service through a Lazy Pirate `RequestClient`.
public struct RPCClient: Sendable {
    public let requests: RequestClient

    public init(context: ZMQContext, endpoint: String, timeout: Duration = .milliseconds(2500), retries: Int = 3,
                curve: CurveSecurity? = nil) async throws {
        requests = try await RequestClient(context: context, endpoint: endpoint, timeout: timeout, retries: retries, curve: curve)
    }

    /// Throws `RPCError` for a refusal, `BusError` when the service can't be reached.
    public func call<P: Encodable, R: Codable>(_ method: String, _ params: P, as: R.Type = R.self) async throws -> R {
        let reply = try await requests.request(JSON.encode(RequestEnvelope(method: method, params: params)))
        let envelope: ReplyEnvelope<R>
        do {
            envelope = try JSON.decode(ReplyEnvelope<R>.self, reply)
        } catch {
            throw RPCError("internal", "undecodable reply to \(method): \(error)")
        }
        if let error = envelope.error { throw error }
        guard let result = envelope.result else { throw RPCError("internal", "reply to \(method) has no result") }
        return result
    }

    public func stop() async { await requests.stop() }
}

/// Dispatches requests by method name; install with `RequestServer(handler: router.handle)`.
public final class RPCRouter: Sendable {
    public typealias Raw = @Sendable ([UInt8]) async throws(RPCError) -> [UInt8]
    /// A method answered on the request server's socket thread (`RequestServer.Inline`): a read that
    /// neither blocks nor waits, made with `inlineMethod`.
    public typealias Inline = @Sendable ([UInt8]) throws(RPCError) -> [UInt8]
    let routes: [String: Raw]
    let inlineRoutes: [String: Inline]

    public init(_ routes: [String: Raw], inline: [String: Inline] = [:]) {
        precondition(Set(routes.keys).isDisjoint(with: inline.keys), "a method is either inline or not")
        self.routes = routes
        self.inlineRoutes = inline
    }

    /// A typed inline method: decodes params, runs `body` on the socket thread, encodes its result.
    /// `body` must neither block nor wait (it reads a value behind a lock, say).
    public static func inlineMethod<P: Decodable & Sendable, R: Codable & Sendable>(
        _ params: P.Type, _ body: @escaping @Sendable (P) throws(RPCError) -> R
    ) -> Inline {
        return { (request: [UInt8]) throws(RPCError) -> [UInt8] in
            let r = try body(try RPCRouter.params(P.self, of: request))
            do {
                return try JSON.encode(ReplyEnvelope<R>(result: r, error: nil))
            } catch {
                throw RPCError("internal", "\(error)")
            }
        }
    }

    /// The reply of an inline method (`RequestServer`'s `inline`), or nil for any other request,
    /// which `handle` then answers. A failure is an `{"error": …}` reply, as from `handle`. Runs on
    /// the socket thread for every request: the method is read from the request's first bytes
    /// (`leadingMethod`), never by parsing a request that may be large; and a request longer than
    /// `inlineMaxBytes` is left to `handle` (its params are parsed on a task, not on the thread).
    public func handleInline(_ request: [UInt8]) -> [UInt8]? {
        guard !inlineRoutes.isEmpty, request.count <= Self.inlineMaxBytes, let method = Self.leadingMethod(request),
              let route = inlineRoutes[method] else { return nil }
        do {
            return try route(request)
        } catch {
            return Self.errorReply(error)
        }
    }

    /// The method of a request that begins `{"method":"NAME"` (as `JSON.encode` writes every
    /// envelope: keys in order, no spaces), NAME letters, digits and `_` only; nil for any other
    /// form, which `handle` parses in full.
    public static func leadingMethod(_ request: [UInt8]) -> String? {
        let prefix = leadingMethodPrefix
        guard request.count > prefix.count, request.starts(with: prefix) else { return nil }
        var end = prefix.count
        while end < request.count, end - prefix.count <= 64 {
            let c = request[end]
            if c == UInt8(ascii: "\"") {
                return end > prefix.count ? String(decoding: request[prefix.count..<end], as: UTF8.self) : nil
            }
            guard (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c == 0x5f else { return nil }
            end += 1
        }
        return nil
    }

    /// The longest request answered inline: an inline method's params are small (none, today).
    public static let inlineMaxBytes = 4_096

    private static let leadingMethodPrefix = Array(#"{"method":""#.utf8)

    /// A typed method: decodes params, runs `body`, encodes its result.
    public static func method<P: Decodable & Sendable, R: Codable & Sendable>(
        _ params: P.Type, _ body: @escaping @Sendable (P) async throws -> R
    ) -> Raw {
        return { (request: [UInt8]) async throws(RPCError) -> [UInt8] in
            let p = try RPCRouter.params(P.self, of: request)
            do {
                let r = try await body(p)
                return try JSON.encode(ReplyEnvelope<R>(result: r, error: nil))
            } catch let e as RPCError {
                throw e
            } catch {
                throw RPCError("internal", "\(error)")
            }
        }
    }

    /// A JSON request's params, decoded as `method` decodes them (for a raw route that answers
    /// bytes of its own); a failure is `bad-params`.
    public static func params<P: Decodable>(_ type: P.Type, of request: [UInt8]) throws(RPCError) -> P {
        do {
            return try JSON.decode(ParamsOnly<P>.self, request).params
        } catch {
            throw RPCError.badParams("\(error)")
        }
    }

    /// Never throws to the bus: every failure becomes an `{"error": …}` reply.
    public func handle(_ request: [UInt8]) async -> [UInt8] {
        let method: String
        switch BinaryRPC.form(of: request) {
        case let .binary(name, _):
            method = name
        case .malformed:
            return Self.errorReply(RPCError.badParams("malformed binary request (0x00, method length, method, payload)"))
        case .json:
            do {
                method = try JSON.decode(MethodOnly.self, request).method
            } catch {
                return Self.errorReply(RPCError.badParams("request is not {\"method\", \"params\"} JSON"))
            }
        }
        guard let route = routes[method] else {
            if let inline = inlineRoutes[method] {
                do { return try inline(request) } catch { return Self.errorReply(error) }
            }
            return Self.errorReply(RPCError("unknown-method", "no method \(method)"))
        }
        do {
            return try await route(request)
        } catch {
            return Self.errorReply(error)
        }
    }

    static func errorReply(_ error: RPCError) -> [UInt8] {
        (try? JSON.encode(ReplyEnvelope<Empty>(result: nil, error: error))) ?? Array(#"{"error":{"code":"internal","message":"encoding"}}"#.utf8)
    }
}
