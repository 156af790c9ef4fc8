import Bus
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NodeKit
import Synchronization

/// The edge's JSON-RPC state: operator credentials, the long-poll signal for `getblocktemplate`,
/// the peer bridge client, the method table and the start time (`uptime`).
final class RPCServer: Sendable {
    let auth: OperatorAuth
    let methods: RPCMethodTable
    let longPoll: LongPollSignal
    let peer: RPCClient
    /// WebSocket connections and their subscriptions.
    let subscriptions: RPCSubscriptions
    let peerEndpoint: String
    let startedAt = ContinuousClock.now
    /// Largest batch answered; a larger one gets one -32600 error.
    static let maxBatch = 1_000
    /// Batch items run at most this many at a time (in order of their answers regardless).
    static let batchConcurrency = 16

    init(context: ZMQContext, config: EdgeConfig, backend: Backend, metrics: EdgeMetrics, logger: Logger) async throws {
        auth = try OperatorAuth(cookieDirectory: config.rpcCookieDirectory, token: config.rpcToken ?? config.operatorToken, logger: logger)
        subscriptions = RPCSubscriptions(backend: backend, queueLimit: config.wsQueueLimit, metrics: metrics, logger: logger)
        subscriptions.start()
        methods = RPCMethodTable(RPCMethods.all)
        longPoll = try await LongPollSignal(context: context, endpoints: config.endpoints, bus: config.bus, logger: logger)
        peerEndpoint = config.peerRPC
        peer = try await RPCClient(context: context, endpoint: config.peerRPC, timeout: .milliseconds(700), retries: 1,
                                   curve: try? config.bus.client(of: .peerbridge))
    }

    func stop() async {
        await subscriptions.stop()
        await longPoll.stop()
        await peer.stop()
        auth.removeCookie()
    }

    /// Whether a WebSocket upgrade on /rpc may proceed: wrong credentials wait and get 401; none
    /// open a public session (operator methods then refused on it).
    func upgrade(_ request: Request) async throws -> RouterShouldUpgrade {
        if auth.verdict(request.headers[.authorization]) == .wrong {
            try await Task.sleep(for: OperatorAuth.wrongCredentialsDelay)
            throw OperatorAuth.unauthorized("wrong credentials for the JSON-RPC operator methods")
        }
        return .upgrade([:])
    }

    /// A peer bridge method; a bridge that does not answer is Bitcoin Core's "P2P disabled" (-31).
    func peerCall<P: Encodable & Sendable, R: Codable & Sendable>(_ method: String, _ params: P, as: R.Type = R.self) async throws -> R {
        do {
            return try await peer.call(method, params, as: R.self)
        } catch let e as RPCError {
            throw RPCFault(e.code == "bad-params" ? RPCFault.invalidParameterCode : RPCFault.miscCode, e.message)
        } catch is BusError {
            throw RPCFault(RPCFault.p2pDisabledCode,
                           "Error: Peer-to-peer functionality missing or disabled (the peer bridge does not answer at \(peerEndpoint))")
        }
    }
}

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

/// Wakes `getblocktemplate` long polls: a new tip (chain store `tip`) or new work (mempool `template`).
final class LongPollSignal: Sendable {
    private let chainSub: Subscriber
    private let mempoolSub: Subscriber
    private let waiters: Waiters
    private let tasks: [Task<Void, Never>]

    init(context: ZMQContext, endpoints: Endpoints, bus: BusSecurity, logger: Logger) async throws {
        chainSub = try await Subscriber(context: context, connect: [endpoints.chainPub], topics: [Topic.tip], hwm: 1_000,
                                        curve: bus.client(of: .chainstore), logger: logger)
        mempoolSub = try await Subscriber(context: context, connect: [endpoints.mempoolPub], topics: [Topic.template], hwm: 1_000,
                                          curve: bus.client(of: .mempool), logger: logger)
        let waiters = Waiters()
        self.waiters = waiters
        tasks = [chainSub.events, mempoolSub.events].map { events in
            Task {
                // Any event (a publication, a gap, a publisher restart) may mean new work.
                for await _ in events { waiters.wakeAll() }
            }
        }
    }

    func stop() async {
        await chainSub.stop()
        await mempoolSub.stop()
        for t in tasks { t.cancel() }
        waiters.wakeAll()
    }

    /// Returns at the next tip or template change, or after `timeout`, or when the task is cancelled.
    func wait(timeout: Duration) async {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = waiters.add(continuation)
        defer { waiters.remove(id) }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { for await _ in stream { return } }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    final class Waiters: Sendable {
        private let state = Mutex<(next: Int, waiting: [Int: AsyncStream<Void>.Continuation])>((0, [:]))

        func add(_ c: AsyncStream<Void>.Continuation) -> Int {
            state.withLock { s in
                s.next += 1
                s.waiting[s.next] = c
                return s.next
            }
        }

        func remove(_ id: Int) { _ = state.withLock { $0.waiting.removeValue(forKey: id) } }

        func wakeAll() {
            let all = state.withLock { Array($0.waiting.values) }
            for c in all { c.yield() }
        }
    }
}
