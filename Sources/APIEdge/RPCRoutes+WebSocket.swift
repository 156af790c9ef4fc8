import Foundation
import NodeKit

/// The JSON-RPC WebSocket's messages (`/rpc`, `/v1/<key>/rpc`), answered as `POST /rpc` answers a request.
extension RPCRoutes {
    /// The answer to a WebSocket message: one request or a batch, as over HTTP; nil for notifications.
    /// On a keyed socket (`grant`) each message is admitted as `POST /rpc` admits a request (the method
    /// allowlist, each item's credits) and counted; a refusal is the message's answer
    /// (`RPCFault.keyRefusal`: -32601, -32005 with the retry hint) and the socket stays open.
    static func answer(_ data: Data, edge: Edge, session: RPCSession, grant: KeyGrant? = nil) async -> RPCValue? {
        guard let parsed = try? RPCValue.decode(data) else { return errorReply(.parse("Parse error"), id: nil, version: .v2) }
        let rpc = edge.rpc
        switch parsed {
        case .object:
            switch RPCCallRequest.parse(parsed) {
            case .failure(let f): return errorReply(f.fault, id: f.id, version: f.version)
            case .success(let call):
                let names = [methodLabel(call.method, rpc: rpc)]
                let costs = [cost(call, rpc: rpc)]
                if let grant, let refused = await grant.admit(names, costs: costs) {
                    return errorReply(RPCFault.keyRefusal(refused), id: call.id, version: call.version)
                }
                let answer = await execute(call, edge: edge, session: session)
                if case .failure = answer { grant?.countRPC(names, costs: costs, failed: [true]) } else { grant?.countRPC(names, costs: costs, failed: [false]) }
                if call.isNotification { return nil }
                switch answer {
                case .success(let result): return successReply(result, call: call)
                case .failure(let fault): return errorReply(fault, id: call.id, version: call.version)
                }
            }
        case .array(let items):
            guard items.count <= RPCServer.maxBatch else {
                return errorReply(.invalidRequest("Batch of \(items.count) requests is larger than the limit of \(RPCServer.maxBatch)"), id: nil, version: .v2)
            }
            let calls = items.map(RPCCallRequest.parse)
            let names = calls.map { c in (try? c.get()).map { methodLabel($0.method, rpc: rpc) } ?? "invalid" }
            let costs = calls.map { c in (try? c.get()).map { cost($0, rpc: rpc) } ?? 1 }
            if let grant, !items.isEmpty, let refused = await grant.admit(names, costs: costs) {
                return errorReply(RPCFault.keyRefusal(refused), id: nil, version: .v2)
            }
            let answers = await runBatch(calls, edge: edge, session: session)
            grant?.countRPC(names, costs: costs, failed: failures(calls, answers: answers))
            return !items.isEmpty && answers.isEmpty ? nil : .array(answers)
        default:
            return errorReply(.parse("Top-level object parse error"), id: nil, version: .v2)
        }
    }
}
