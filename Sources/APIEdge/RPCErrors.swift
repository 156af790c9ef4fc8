import Foundation
import Hummingbird

/// A JSON-RPC error with Bitcoin Core's numeric codes (src/rpc/protocol.h).
struct RPCFault: Error, Sendable, Equatable, CustomStringConvertible {
    var code: Int
    var message: String
    /// The error object's optional `data` member (the hosted-access refusals: the edge's error code,
    /// the HTTP status it stands for, the retry hint).
    var data: RPCValue?

    init(_ code: Int, _ message: String, data: RPCValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    var description: String { "\(code): \(message)" }

    // Standard JSON-RPC 2.0 errors.
    static let invalidRequestCode = -32600
    static let methodNotFoundCode = -32601
    static let invalidParamsCode = -32602
    static let internalErrorCode = -32603
    static let parseErrorCode = -32700
    // Bitcoin Core's application errors.
    static let miscCode = -1
    static let typeErrorCode = -3
    static let invalidAddressOrKeyCode = -5
    static let invalidParameterCode = -8
    static let clientNotConnectedCode = -9
    static let clientInInitialDownloadCode = -10
    static let deserializationCode = -22
    static let verifyErrorCode = -25
    static let verifyRejectedCode = -26
    static let verifyAlreadyInChainCode = -27
    static let inWarmupCode = -28
    static let p2pDisabledCode = -31
    /// Over an API key's rate or daily quota (the hosted-access convention, as Infura's).
    static let rateLimitedCode = -32005
    /// A keyed WebSocket whose key is no longer valid (revoked, rotated): HTTP's 401; the socket then closes.
    static let invalidKeyCode = -32001

    /// An API key's refusal of a call on a keyed WebSocket, as the HTTP path's status maps it: 403 (a
    /// method the key does not allow) -32601, 429 (rate, daily quota) -32005 with the retry hint, 401
    /// `invalidKeyCode`, 503 (the accounts service does not answer) -28; `data` carries the edge's error
    /// code and the HTTP status, so a client can treat both transports alike.
    static func keyRefusal(_ api: APIError) -> RPCFault {
        var data: [String: RPCValue] = ["code": .string(api.code), "status": .int(Int64(api.status.code))]
        if let s = api.headers[.retryAfter], let n = Int(s) { data["retryAfter"] = .int(Int64(n)) }
        if let p = api.headers[.rateLimitPolicy] { data["policy"] = .string(p) }
        if let l = api.headers[.rateLimit] { data["rateLimit"] = .string(l) }
        let code = switch api.status.code {
        case 403: methodNotFoundCode
        case 429: rateLimitedCode
        case 401: invalidKeyCode
        case 503: inWarmupCode
        default: miscCode
        }
        return RPCFault(code, api.message, data: .object(data))
    }

    static func parse(_ m: String) -> RPCFault { RPCFault(parseErrorCode, m) }
    static func invalidRequest(_ m: String) -> RPCFault { RPCFault(invalidRequestCode, m) }
    static func methodNotFound(_ name: String) -> RPCFault { RPCFault(methodNotFoundCode, "Method not found: \(name.prefix(80))") }
    static func invalidParams(_ m: String) -> RPCFault { RPCFault(invalidParamsCode, m) }
    static func internalError(_ m: String) -> RPCFault { RPCFault(internalErrorCode, m) }
    static func misc(_ m: String) -> RPCFault { RPCFault(miscCode, m) }
    static func typeError(_ m: String) -> RPCFault { RPCFault(typeErrorCode, m) }
    static func invalidAddressOrKey(_ m: String) -> RPCFault { RPCFault(invalidAddressOrKeyCode, m) }
    static func invalidParameter(_ m: String) -> RPCFault { RPCFault(invalidParameterCode, m) }
    static func deserialization(_ m: String) -> RPCFault { RPCFault(deserializationCode, m) }

    /// What an edge error (a backend call's failure) means to a JSON-RPC caller.
    static func from(_ error: any Error) -> RPCFault {
        switch error {
        case let f as RPCFault: return f
        case is CancellationError: return RPCFault(miscCode, "request cancelled")
        default: break
        }
        let api = APIError.from(error)
        switch api.status.code {
        case 503:
            // A service behind the edge is not answering (starting, restarting): retry later, as bitcoind's warmup.
            return RPCFault(inWarmupCode, "Loading: \(api.message)")
        case 502, 500: return RPCFault(internalErrorCode, api.message)
        case 404: return RPCFault(invalidAddressOrKeyCode, api.message)
        default: return RPCFault(miscCode, "\(api.code): \(api.message)")
        }
    }

    /// The HTTP status bitcoind uses for an error answered to a single JSON-RPC 1.0 request
    /// (httprpc.cpp's JSONErrorReply: 400 invalid request, 404 method not found, else 500), except that a
    /// request the client got wrong (malformed JSON, bad params, a bad parameter value or type) gets 400
    /// here rather than 500: bitcoin-cli and python-bitcoinrpc read the body of either. JSON-RPC 2.0
    /// requests and batches always get 200.
    var legacyStatus: HTTPResponse.Status {
        switch code {
        case Self.methodNotFoundCode: return .notFound
        case Self.invalidRequestCode, Self.parseErrorCode, Self.invalidParamsCode, Self.typeErrorCode, Self.invalidParameterCode:
            return .badRequest
        default: return .internalServerError
        }
    }
}
