import Foundation
import Hummingbird
import NIOCore
import NodeKit

/// `POST /rpc`: one call or a batch (at most `RPCServer.maxBatch`), the operator check, the key's admission
/// and the replies in either version's shape. A WebSocket's messages take the same path (`RPCRoutes+WebSocket.swift`).
enum RPCRoutes {
    /// A call `{jsonrpc?, method, params?, id?}` or a batch of them.
    static let rpcRequest: JSONValue = [
        "oneOf": [["type": "object", "required": ["method"], "properties": ["jsonrpc": ["type": "string", "enum": ["1.0", "2.0"]], "method": ["type": "string"], "params": [:], "id": [:]]], ["type": "array", "maxItems": 1000, "items": ["type": "object"]]],
    ]
    /// A reply `{jsonrpc: "2.0", result | error: {code, message}, id}` (1.0: `{result, error, id}`), or an array of them.
    /// A JSON-RPC 1.0 error answers 404 (method not found), 400 (the request or its params are wrong) or 500 (as bitcoind).
    static let rpcReply: JSONValue = ["oneOf": [["type": "object", "properties": ["jsonrpc": ["type": "string"], "result": [:],
                                                                                  "error": ["type": "object", "nullable": true], "id": [:]]],
                                                ["type": "array", "items": ["type": "object"]]]]

    static func routes(_ edge: Edge) -> [Route] {
        [
            Route(.post, "/rpc",
                  RouteDoc(summary: "JSON-RPC 2.0 (and bitcoind's 1.0 shape): Bitcoin Core's method names, params and results; batches of at most 1,000; notifications answered 204. Methods: `help`, `rpc.discover` (OpenRPC). Operator methods need HTTP Basic auth with the cookie (DATA/.cookie) or the configured token.",
                           tag: "rpc", response: .json(rpcReply), errors: [401, 413], jsonBody: rpcRequest,
                           otherResponses: [(400, rpcReply), (404, rpcReply), (500, rpcReply)])) { request, _ in
                try await handle(request, edge: edge)
            },
        ]
    }

    static func handle(_ request: Request, edge: Edge) async throws -> Response {
        let rpc = edge.rpc
        let verdict = rpc.auth.verdict(request.headers[.authorization])
        if verdict == .wrong {
            // As bitcoind: a wrong password waits before the answer (a brute force gets a few guesses a second).
            try await Task.sleep(for: OperatorAuth.wrongCredentialsDelay)
            throw OperatorAuth.unauthorized("wrong credentials for the JSON-RPC operator methods")
        }
        var request = request
        let buffer = try await request.collectBody(upTo: edge.config.maxBody)
        let parsed: RPCValue
        do {
            parsed = try RPCValue.decode(Data(buffer: buffer))
        } catch {
            return reply(errorReply(.parse("Parse error"), id: nil, version: .legacy), status: .badRequest)
        }
        switch parsed {
        case .object:
            let call: RPCCallRequest
            switch RPCCallRequest.parse(parsed) {
            case .success(let c): call = c
            case .failure(let f):
                return reply(errorReply(f.fault, id: f.id, version: f.version), status: f.version == .v2 ? .ok : f.fault.legacyStatus)
            }
            try requireOperator([call], verdict: verdict, rpc: rpc)
            // A keyed request (/v1/<key>/rpc, X-API-Key): the method allowlist, then the method's credits.
            let grant = KeyGrant.current
            let names = [methodLabel(call.method, rpc: rpc)]
            let costs = [cost(call, rpc: rpc)]
            if let grant, let refused = try await grant.admitRPC(names, costs: costs, id: call.id, version: call.version) { return refused }
            let answer = await execute(call, edge: edge, session: nil)
            if case .failure = answer { grant?.countRPC(names, costs: costs, failed: [true]) } else { grant?.countRPC(names, costs: costs, failed: [false]) }
            if call.isNotification { return Response(status: .noContent) }
            switch answer {
            case .success(let result): return reply(successReply(result, call: call))
            case .failure(let fault):
                return reply(errorReply(fault, id: call.id, version: call.version), status: call.version == .v2 ? .ok : fault.legacyStatus)
            }
        case .array(let items):
            guard items.count <= RPCServer.maxBatch else {
                return reply(errorReply(.invalidRequest("Batch of \(items.count) requests is larger than the limit of \(RPCServer.maxBatch)"),
                                        id: nil, version: .v2), status: .badRequest)
            }
            let calls = items.map(RPCCallRequest.parse)
            try requireOperator(calls.compactMap { try? $0.get() }, verdict: verdict, rpc: rpc)
            // A keyed batch: every item counts against the key's limit, at its method's credits.
            let grant = KeyGrant.current
            let names = calls.map { c in (try? c.get()).map { methodLabel($0.method, rpc: rpc) } ?? "invalid" }
            let costs = calls.map { c in (try? c.get()).map { cost($0, rpc: rpc) } ?? 1 }
            if let grant, let refused = try await grant.admitRPC(names, costs: costs, id: nil, version: .v2) { return refused }
            let answers = await runBatch(calls, edge: edge, session: nil)
            grant?.countRPC(names, costs: costs, failed: failures(calls, answers: answers))
            // Notifications get no answer; a batch of only notifications gets 204 (bitcoind: unless empty).
            if !items.isEmpty && answers.isEmpty { return Response(status: .noContent) }
            return reply(.array(answers))
        default:
            return reply(errorReply(.parse("Top-level object parse error"), id: nil, version: .legacy), status: .badRequest)
        }
    }

    /// A method's name for usage counts: a known method, else "unknown" (a client may send any string).
    static func methodLabel(_ name: String, rpc: RPCServer) -> String {
        rpc.methods.method(name) != nil ? name : "unknown"
    }

    /// The credits a call costs (an unknown method: 1).
    static func cost(_ call: RPCCallRequest, rpc: RPCServer) -> Int {
        rpc.methods.method(call.method)?.cost(call.params) ?? 1
    }

    /// Which of a batch's items failed, in the order of the items: the answers follow them, notifications left out.
    static func failures(_ calls: [Result<RPCCallRequest, RPCCallRequest.Failure>], answers: [RPCValue]) -> [Bool] {
        var failed: [Bool] = []
        var next = answers.makeIterator()
        for c in calls {
            if case .success(let call) = c, call.isNotification { failed.append(false); continue }
            let a = next.next()
            failed.append(a?["error"].map { $0 != .null } ?? false)
        }
        return failed
    }

    /// A batch's answers in the order of its items (notifications left out), at most
    /// `batchConcurrency` items running at once.
    static func runBatch(_ calls: [Result<RPCCallRequest, RPCCallRequest.Failure>], edge: Edge, session: RPCSession?) async -> [RPCValue] {
        var answers = [RPCValue?](repeating: nil, count: calls.count)
        await withTaskGroup(of: (Int, RPCValue?).self) { group in
            var next = 0
            func start() {
                guard next < calls.count else { return }
                let i = next
                next += 1
                group.addTask {
                    switch calls[i] {
                    case .failure(let f):
                        return (i, errorReply(f.fault, id: f.id, version: f.version))
                    case .success(let call):
                        let answer = await execute(call, edge: edge, session: session)
                        if call.isNotification { return (i, nil) }
                        switch answer {
                        case .success(let result): return (i, successReply(result, call: call))
                        case .failure(let fault): return (i, errorReply(fault, id: call.id, version: call.version))
                        }
                    }
                }
            }
            for _ in 0..<RPCServer.batchConcurrency { start() }
            for await (i, answer) in group {
                answers[i] = answer
                start()
            }
        }
        return answers.compactMap { $0 }
    }

    /// Operator methods need valid credentials: without them the whole request is refused (401) before
    /// anything in it runs.
    static func requireOperator(_ calls: [RPCCallRequest], verdict: OperatorAuth.Verdict, rpc: RPCServer) throws {
        guard verdict != .valid else { return }
        let needing = calls.compactMap { rpc.methods.method($0.method) }.filter(\.operatorOnly).map(\.name.rawValue)
        guard let first = needing.first else { return }
        throw OperatorAuth.unauthorized(
            "\(first) changes the node's operation: authenticate (HTTP Basic) with the cookie in the data folder (.cookie) or the operator token")
    }

    /// Runs one call: looks the method up, binds its params, runs it; every failure is an `RPCFault`.
    static func execute(_ call: RPCCallRequest, edge: Edge, session: RPCSession?) async -> Result<RPCValue, RPCFault> {
        guard let method = edge.rpc.methods.method(call.method) else { return .failure(.methodNotFound(call.method)) }
        if method.operatorOnly, let session, !session.isOperator {
            // Over HTTP the request was refused whole (401) before this; a WebSocket opened without credentials gets this.
            return .failure(.misc("\(method.name) changes the node's operation: open the WebSocket with the operator's credentials (HTTP Basic: the cookie or the token)"))
        }
        do {
            let args = try method.bind(call.params)
            return .success(try await method.handler(args, RPCContext(edge: edge, methods: edge.rpc.methods, session: session)))
        } catch {
            let fault = RPCFault.from(error)
            if fault.code == RPCFault.internalErrorCode {
                edge.logger.error("rpc method failed", metadata: ["method": "\(call.method)", "error": "\(error)"])
            }
            return .failure(fault)
        }
    }

    static func successReply(_ result: RPCValue, call: RPCCallRequest) -> RPCValue {
        switch call.version {
        case .v2: return .object(["jsonrpc": "2.0", "result": result, "id": call.id ?? .null])
        case .legacy: return .object(["result": result, "error": .null, "id": call.id ?? .null])
        }
    }

    static func errorReply(_ fault: RPCFault, id: RPCValue?, version: RPCCallRequest.Version) -> RPCValue {
        var object: [String: RPCValue] = ["code": .int(Int64(fault.code)), "message": .string(fault.message)]
        if let data = fault.data { object["data"] = data }
        let error = RPCValue.object(object)
        switch version {
        case .v2: return .object(["jsonrpc": "2.0", "error": error, "id": id ?? .null])
        case .legacy: return .object(["result": .null, "error": error, "id": id ?? .null])
        }
    }

    static func reply(_ value: RPCValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: value.encoded())))
    }
}
