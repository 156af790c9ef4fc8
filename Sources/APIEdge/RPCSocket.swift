import Bus
import ChainCore
import Foundation
import HummingbirdWebSocket
import Logging
import NIOWebSocket
import NodeKit
import Synchronization

/// JSON-RPC over WebSocket (`/rpc` upgrade): the same methods as `POST /rpc`, one request (or batch)
/// per text message, plus subscriptions pushed as
/// `{"jsonrpc":"2.0","method":"subscription","params":{"subscription":id,"result":…}}`:
/// `newHeads` (every block connected, and every block disconnected in a reorg with `removed: true`),
/// `newTransactions` (every transaction entering the mempool) and `addresses` (transactions paying
/// or spending any of a set of addresses, in the mempool and in blocks). Each connection has a
/// bounded queue: a client that does not read is cut off (close 1008) when it is full, so a slow
/// consumer never grows the edge's memory.
final class RPCSubscriptions: Sendable {
    enum Kind: Sendable, Equatable {
        case newHeads, newTransactions
        case addresses([[UInt8]: String])
    }

    struct Connection: Sendable {
        let queue: AsyncStream<String>.Continuation
        /// Finished when the connection is cut off (wakes its server, whose writer may be stuck on a full socket).
        let cutSignal: AsyncStream<Void>.Continuation
        var subscriptions: [String: Kind] = [:]
        var cut = false
    }

    struct State: Sendable {
        var next = 0
        var connections: [Int: Connection] = [:]
    }

    static let maxSubscriptionsPerConnection = 100
    static let maxAddressesPerSubscription = 1_000

    let queueLimit: Int
    let metrics: EdgeMetrics
    let logger: Logger
    private let state = Mutex(State())
    private let chainSub: Subscriber
    private let mempoolSub: Subscriber
    private let tasks: Mutex<[Task<Void, Never>]> = Mutex([])

    init(context: ZMQContext, endpoints: Endpoints, bus: BusSecurity = .off(.edge), queueLimit: Int, metrics: EdgeMetrics,
         logger: Logger) async throws {
        self.queueLimit = queueLimit
        self.metrics = metrics
        self.logger = logger
        chainSub = try await Subscriber(context: context, connect: [endpoints.chainPub], topics: [Topic.connected, Topic.disconnected],
                                        hwm: 100_000, curve: bus.client(of: .chainstore), logger: logger)
        mempoolSub = try await Subscriber(context: context, connect: [endpoints.mempoolPub], topics: [Topic.rawtx], hwm: 100_000,
                                          curve: bus.client(of: .mempool), logger: logger)
    }

    /// Starts following the publications; `backend` resolves the coins a transaction spends (address subscriptions).
    func start(backend: Backend) {
        let chainEvents = chainSub.events, mempoolEvents = mempoolSub.events
        tasks.withLock {
            $0 = [
                Task { for await e in chainEvents { await self.handle(e, backend: backend) } },
                Task { for await e in mempoolEvents { await self.handle(e, backend: backend) } },
            ]
        }
    }

    func stop() async {
        await chainSub.stop()
        await mempoolSub.stop()
        for t in tasks.withLock({ $0 }) { t.cancel() }
        let all = state.withLock { s in
            defer { s.connections = [:] }
            return Array(s.connections.values)
        }
        for c in all {
            c.queue.finish()
            c.cutSignal.finish()
        }
    }

    /// Waits until both subscriptions are synced with their publishers (tests).
    func ready(timeout: Duration = .seconds(10)) async throws {
        try await chainSub.ready(timeout: timeout)
        try await mempoolSub.ready(timeout: timeout)
    }

    var hasSubscribers: Bool { state.withLock { s in s.connections.values.contains { !$0.subscriptions.isEmpty } } }

    // MARK: connections

    func connect() -> (id: Int, queue: AsyncStream<String>, cut: AsyncStream<Void>) {
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingOldest(queueLimit))
        let (cutStream, cutContinuation) = AsyncStream<Void>.makeStream()
        let id = state.withLock { s in
            s.next += 1
            s.connections[s.next] = Connection(queue: continuation, cutSignal: cutContinuation)
            return s.next
        }
        metrics.wsConnections.increment()
        return (id, stream, cutStream)
    }

    func disconnect(_ id: Int) {
        if let c = state.withLock({ $0.connections.removeValue(forKey: id) }) {
            c.queue.finish()
            c.cutSignal.finish()
            metrics.wsConnections.decrement()
        }
    }

    func isCut(_ id: Int) -> Bool { state.withLock { $0.connections[id]?.cut ?? false } }

    /// Queues a message; a full queue cuts the connection off (its writer then closes the socket).
    func send(_ id: Int, _ text: String) {
        let queue = state.withLock { $0.connections[id]?.queue }
        guard let queue else { return }
        if case .dropped = queue.yield(text) { cut(id) }
    }

    private func cut(_ id: Int) {
        let connection: Connection? = state.withLock { s in
            guard var c = s.connections[id], !c.cut else { return nil }
            c.cut = true
            s.connections[id] = c
            return c
        }
        guard let connection else { return }
        connection.queue.finish()
        connection.cutSignal.finish()
        metrics.wsDropped.increment()
        logger.notice("json-rpc websocket client cut off: its queue is full", metadata: ["limit": "\(queueLimit)"])
    }

    // MARK: subscriptions

    func subscribe(_ id: Int, _ kind: Kind) throws -> String {
        var bytes = [UInt8](repeating: 0, count: 8)
        var rng = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &rng) }
        let sid = "0x" + Hex.encode(bytes)
        try state.withLock { s in
            guard var c = s.connections[id] else { throw RPCFault.misc("connection closed") }
            guard c.subscriptions.count < Self.maxSubscriptionsPerConnection else {
                throw RPCFault.invalidParameter("at most \(Self.maxSubscriptionsPerConnection) subscriptions per connection")
            }
            c.subscriptions[sid] = kind
            s.connections[id] = c
        }
        return sid
    }

    func unsubscribe(_ id: Int, _ sid: String) -> Bool {
        state.withLock { s in
            guard var c = s.connections[id], c.subscriptions.removeValue(forKey: sid) != nil else { return false }
            s.connections[id] = c
            return true
        }
    }

    private func notify(_ pick: (Kind) -> RPCValue?) {
        var out = [(Int, String)]()
        state.withLock { s in
            for (id, c) in s.connections where !c.cut {
                for (sid, kind) in c.subscriptions.sorted(by: { $0.key < $1.key }) {
                    guard let result = pick(kind) else { continue }
                    let message: RPCValue = ["jsonrpc": "2.0", "method": "subscription", "params": ["subscription": .string(sid), "result": result]]
                    out.append((id, String(decoding: message.encoded(), as: UTF8.self)))
                }
            }
        }
        for (id, text) in out { send(id, text) }
    }

    private func handle(_ event: SubscriberEvent, backend: Backend) async {
        guard case let .message(topic, body, _) = event else {
            logger.notice("json-rpc subscriptions: publications missed or publisher restarted", metadata: ["event": "\(event)"])
            return
        }
        guard hasSubscribers else { return }
        let network = backend.network
        switch topic {
        case Topic.connected, Topic.disconnected:
            guard body.count > 4, let block = try? Block(bytes: Array(body[4...])) else { return }
            let height = Int(UInt32(body[0]) | UInt32(body[1]) << 8 | UInt32(body[2]) << 16 | UInt32(body[3]) << 24)
            let removed = topic == Topic.disconnected
            let head = Self.head(block, height: height, removed: removed)
            let touched: [(String, Set<[UInt8]>)] = removed ? [] : await touching(block.transactions, backend: backend, known: block)
            notify { kind in
                switch kind {
                case .newHeads: return head
                case .newTransactions: return nil
                case .addresses(let keys):
                    return Self.addressResult(touched, keys: keys, confirmed: ["blockhash": .string(block.hash.hex), "height": RPCValue(height)])
                }
            }
        case Topic.rawtx:
            guard let tx = try? Transaction(bytes: body) else { return }
            let touched = await touching([tx], backend: backend, known: nil)
            let decoded = RPCMethods.txJSON(tx, network: network)
            notify { kind in
                switch kind {
                case .newHeads: return nil
                case .newTransactions: return decoded
                case .addresses(let keys): return Self.addressResult(touched, keys: keys, confirmed: nil)
                }
            }
        default: break
        }
    }

    /// The public keys each transaction pays or spends from (the latter only while address subscriptions exist).
    private func touching(_ txs: [Transaction], backend: Backend, known block: Block?) async -> [(String, Set<[UInt8]>)] {
        let wanted = state.withLock { s in
            s.connections.values.contains { $0.subscriptions.values.contains { if case .addresses = $0 { return true } else { return false } } }
        }
        guard wanted else { return [] }
        var known = [OutPoint: TxOutput]()
        for tx in block?.transactions ?? [] {
            let txid = tx.txid
            for (i, o) in tx.outputs.enumerated() { known[OutPoint(txid: txid, index: UInt32(i))] = o }
        }
        let prevouts = (try? await backend.prevouts(txs.flatMap { $0.inputs.map(\.previousOutput) }, known: known)) ?? [:]
        return txs.map { tx in
            var keys = Set(tx.outputs.map(\.publicKey))
            for i in tx.inputs { if let p = prevouts[i.previousOutput] { keys.insert(p.publicKey) } }
            return (tx.txid.hex, keys)
        }
    }

    static func addressResult(_ touched: [(String, Set<[UInt8]>)], keys: [[UInt8]: String], confirmed: [String: RPCValue]?) -> RPCValue? {
        var hits = [RPCValue]()
        for (txid, touchedKeys) in touched {
            let addresses = touchedKeys.compactMap { keys[$0] }.sorted()
            guard !addresses.isEmpty else { continue }
            var o: [String: RPCValue] = ["txid": .string(txid), "addresses": .array(addresses.map { .string($0) }), "confirmed": .bool(confirmed != nil)]
            for (k, v) in confirmed ?? [:] { o[k] = v }
            hits.append(.object(o))
        }
        return hits.isEmpty ? nil : (hits.count == 1 ? hits[0] : .array(hits))
    }

    static func head(_ block: Block, height: Int, removed: Bool) -> RPCValue {
        let h = block.header
        var o: [String: RPCValue] = [
            "hash": .string(block.hash.hex), "height": RPCValue(height), "version": .int(Int64(h.version)),
            "merkleroot": .string(h.merkleRoot.hex), "time": RPCValue(Int(h.time)), "nonce": .int(Int64(h.nonce)),
            "bits": .string(String(format: "%08x", h.bits)), "nTx": RPCValue(block.transactions.count), "removed": .bool(removed),
        ]
        if height > 0 { o["previousblockhash"] = .string(h.previousHash.hex) }
        return .object(o)
    }

    // MARK: serving a socket

    func serve(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, isOperator: Bool, edge: Edge) async {
        let (id, queue, cutSignal) = connect()
        let session = RPCSession(id: id, isOperator: isOperator, hub: self)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await text in queue { try await outbound.writeTextMessage(text) }
                }
                group.addTask {
                    // Ends when the connection is cut off: the group then cancels a writer stuck on a full socket.
                    for await _ in cutSignal {}
                }
                group.addTask {
                    for try await message in inbound.messages(maxSize: edge.config.maxBody) {
                        switch message {
                        case .text(let text):
                            if let reply = await RPCRoutes.answer(Data(text.utf8), edge: edge, session: session) {
                                self.send(id, String(decoding: reply.encoded(), as: UTF8.self))
                            }
                        case .binary:
                            self.send(id, String(decoding: RPCRoutes.errorReply(.parse("send JSON-RPC requests as text messages"), id: nil, version: .v2).encoded(), as: UTF8.self))
                        }
                    }
                }
                _ = try await group.next()
                group.cancelAll()
            }
        } catch {
            logger.debug("json-rpc websocket closed", metadata: ["error": "\(error)"])
        }
        if isCut(id) {
            // Say why, if the socket takes it within a second (a client that reads nothing may never).
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await outbound.close(.policyViolation, reason: "slow consumer: more than \(self.queueLimit) messages queued") }
                group.addTask { try? await Task.sleep(for: .seconds(1)) }
                await group.next()
                group.cancelAll()
            }
        }
        disconnect(id)
    }
}

/// A WebSocket connection as JSON-RPC methods see it (subscribe / unsubscribe; operator methods).
struct RPCSession: Sendable {
    let id: Int
    let isOperator: Bool
    let hub: RPCSubscriptions
}
