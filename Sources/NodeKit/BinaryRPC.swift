import Bus
import Foundation

/// Binary requests on the bus, next to the JSON envelope (Sources/CairnContract/Envelope.swift), for
/// a method whose parameters are mostly bytes (the mempool's `submittxs`: raw transactions, where
/// hex in JSON would double their size and cost an encode and a decode on each side):
///
///     request: 0x00 | method length (1 byte, 1…64) | method (ASCII) | payload
///     reply:   0x00 | payload                                   success
///              {"error": {"code": "<code>", "message": "..."}}  refused (the JSON envelope's)
///
/// JSON text never starts with a 0x00 byte, so one `RPCRouter` serves both forms on one socket
/// and one route table (a binary method is a route like any other, made with `binaryMethod`).
public enum BinaryRPC {
    public static let marker: UInt8 = 0
    static let maxMethodLength = 64

    /// A binary request for `method` carrying `payload`.
    public static func request(_ method: String, _ payload: [UInt8]) -> [UInt8] {
        let name = Array(method.utf8)
        precondition((1...maxMethodLength).contains(name.count), "a binary method name is 1 to \(maxMethodLength) bytes")
        var out = [UInt8]()
        out.reserveCapacity(2 + name.count + payload.count)
        out.append(marker)
        out.append(UInt8(name.count))
        out += name
        out += payload
        return out
    }

    /// What a request is.
    enum Form: Equatable {
        case json
        /// The method it names, and where its payload starts.
        case binary(method: String, payloadStart: Int)
        /// Starts with 0x00 but its method name is missing or too long.
        case malformed
    }

    static func form(of request: [UInt8]) -> Form {
        guard request.first == marker else { return .json }
        guard request.count >= 2 else { return .malformed }
        let length = Int(request[1])
        guard (1...maxMethodLength).contains(length), request.count >= 2 + length else { return .malformed }
        return .binary(method: String(decoding: request[2..<2 + length], as: UTF8.self), payloadStart: 2 + length)
    }
}

extension RPCRouter {
    /// A binary method: `body` gets the request's payload and returns the reply's; an `RPCError`
    /// it throws becomes the JSON error reply. A JSON request for it is refused with `bad-params`.
    public static func binaryMethod(_ body: @escaping @Sendable ([UInt8]) async throws(RPCError) -> [UInt8]) -> Raw {
        return { (request: [UInt8]) async throws(RPCError) -> [UInt8] in
            guard case let .binary(_, start) = BinaryRPC.form(of: request) else {
                throw RPCError.badParams("this method takes a binary request (0x00, method length, method, payload), not JSON")
            }
            let reply = try await body(Array(request[start...]))
            var out = [UInt8]()
            out.reserveCapacity(1 + reply.count)
            out.append(BinaryRPC.marker)
            out += reply
            return out
        }
    }
}

extension RPCClient {
    /// Calls a binary method (`RPCRouter.binaryMethod`): returns the reply's payload. Throws
    /// `RPCError` for a refusal, `BusError` when the service can't be reached.
    public func callBinary(_ method: String, _ payload: [UInt8]) async throws -> [UInt8] {
        let reply = try await requests.request(BinaryRPC.request(method, payload))
        if reply.first == BinaryRPC.marker { return Array(reply[1...]) }
        let envelope: ReplyEnvelope<Empty>
        do {
            envelope = try JSON.decode(ReplyEnvelope<Empty>.self, reply)
        } catch {
            throw RPCError("internal", "undecodable reply to \(method) (neither binary nor a JSON error)")
        }
        throw envelope.error ?? RPCError("internal", "reply to \(method) is JSON without an error")
    }
}
