import Foundation

/// One parsed JSON-RPC call.
struct RPCCallRequest: Sendable {
    enum Version: Sendable { case legacy, v2 }
    var version: Version
    /// nil: no "id" member (a notification, when the request is JSON-RPC 2.0).
    var id: RPCValue?
    var method: String
    var params: RPCValue

    var isNotification: Bool { version == .v2 && id == nil }

    /// A request that could not be parsed, with what is known of it (for the error's id and shape).
    struct Failure: Error, Sendable {
        var fault: RPCFault
        var id: RPCValue?
        var version: Version
        init(_ fault: RPCFault, _ id: RPCValue?, _ version: Version) { self.fault = fault; self.id = id; self.version = version }
    }

    /// Parses as bitcoind does (src/rpc/request.cpp): the id first, so later errors carry it.
    static func parse(_ value: RPCValue) -> Result<RPCCallRequest, Failure> {
        guard case .object(let o) = value else { return .failure(Failure(.invalidRequest("Invalid Request object"), nil, .legacy)) }
        let id = o["id"]
        var version = Version.legacy
        if let v = o["jsonrpc"], v != .null {
            guard case .string(let s) = v else { return .failure(Failure(.invalidRequest("jsonrpc field must be a string"), id, .legacy)) }
            switch s {
            case "1.0": version = .legacy
            case "2.0": version = .v2
            default: return .failure(Failure(.invalidRequest("JSON-RPC version not supported"), id, .legacy))
            }
        }
        guard let m = o["method"], m != .null else { return .failure(Failure(.invalidRequest("Missing method"), id, version)) }
        guard case .string(let method) = m else { return .failure(Failure(.invalidRequest("Method must be a string"), id, version)) }
        let params = o["params"] ?? .null
        switch params {
        case .array, .object: break
        case .null: break
        default: return .failure(Failure(.invalidRequest("Params must be an array or object"), id, version))
        }
        return .success(RPCCallRequest(version: version, id: id, method: method, params: params == .null ? .array([]) : params))
    }
}
