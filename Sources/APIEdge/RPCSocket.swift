import ChainCore
import Foundation
import HummingbirdWebSocket
import Logging
import NIOWebSocket
import NodeKit
import Synchronization

/// JSON-RPC over WebSocket (`/rpc` upgrade): the same methods as `POST /rpc`, one request (or batch)
/// per text message, plus subscriptions pushed as
/// `{"jsonrpc":"2.0","method":"subscription","params":{"subscription":id,"cursor":c,"result":…}}`:
/// `newHeads` (every block connected, and every block disconnected in a reorg with `removed: true`),
/// `newTransactions` (every transaction entering the mempool) and `addresses` (transactions paying
/// or spending any of a set of addresses, in the mempool and in blocks). They are fed by the edge's
/// followers (`FeedEvent`, the same ordered events as the public ZMQ feed and `/api/ws`), so they
/// share their delivery promise, and each notification carries a resume cursor: `subscribe` with
/// `since` (the last cursor a client handled) replays what it missed from a bounded window, or
/// from the chain store across an edge restart, or says it cannot (`"resync"`). Each connection
/// has a bounded queue: a client that does not read is cut off (close 1008) when it is full, so a
/// slow consumer never grows the edge's memory.
///
/// A keyed socket (`SocketKey`) is metered per message as `POST /rpc` per request: each call (each
/// batch item) is checked against the key's method allowlist and charged its credits, a refusal
/// answered in place (-32601, -32005 with the retry hint in `data`) without closing the socket; the
/// key is checked again at every message and whenever a notice drops it, and a key no longer valid
/// (revoked, rotated) gets -32001 and the socket closes (1008). Pushed notifications are counted in
/// the key's usage (`subscription:<kind>`, one request each) but charge no credits: the `subscribe`
/// call paid for the subscription, and a notification is never withheld for a limit.
final class RPCSubscriptions: FeedOutlet, Sendable {
    enum Kind: Sendable, Equatable {
        case newHeads, newTransactions
        case addresses([[UInt8]: String])
    }

    /// One ordered feed event as the subscriptions render it, kept in the replay window.
    struct Item: Sendable {
        var seq: Int
        /// The resume cursor of this event ("<instance>:<seq>:<last block hash>").
        var cursor: String
        /// newHeads: a block connected or disconnected.
        var head: RPCValue?
        /// newTransactions: a transaction entering the pool (`txs[0]`), rendered when a
        /// subscription needs it (`render`): with no newTransactions subscriber, none is.
        var isTx = false
        /// The transaction's JSON once rendered (`renderTx`).
        var rendered: RPCValue?
        /// The transactions for address subscriptions (a mempool entry, or a connected block's).
        var txs: [Transaction] = []
        /// (txid, keys paid or spent from) of `txs`: computed when an address subscription needs it.
        var touched: [(String, Set<[UInt8]>)]?
        /// For a connected block: its hash and height (address results are then confirmed).
        var confirmed: [String: RPCValue]?
        var blockHash: String?
        var resync: (scope: String, reason: String)?
    }

    struct Subscription: Sendable {
        var kind: Kind
        /// While its replay is fetched: live messages held back (with the block hash of block messages).
        var held: [(text: String, blockHash: String?)]?
        /// The replay to send once the subscribe reply has gone out.
        var pending: Pending?
    }

    enum Pending: Sendable {
        /// The window's events after the cursor; `thenMempoolResync` when the cursor is not this
        /// process's (transactions before the block it names are unknown here).
        case window([Item], thenMempoolResync: Bool)
        case chain(after: String, upTo: (height: Int, hash: String)?)
        case resync(String)
    }

    struct Connection: Sendable {
        let queue: AsyncStream<String>.Continuation
        /// Finished when the connection is cut off (wakes its server, whose writer may be stuck on a full socket).
        let cutSignal: AsyncStream<Void>.Continuation
        /// Counts a pushed notification in the key's usage (keyed sockets), by its usage label.
        var meter: (@Sendable (String) -> Void)?
        var subscriptions: [String: Subscription] = [:]
        var cut = false
        /// The last message and the close reason when the connection closes for its key (revoked).
        var closing: (text: String, reason: String)?
    }

    struct State: Sendable {
        var next = 0
        var connections: [Int: Connection] = [:]
        /// The feed's sequence (ordered events rendered here, from 1) and the last `replayWindow` of them.
        var seq = 0
        var window: [Item] = []
        /// The last block announced (the tip after a disconnect), for cursors.
        var lastBlock: (height: Int, hash: String)?
    }

    static let maxSubscriptionsPerConnection = 100
    static let maxAddressesPerSubscription = 1_000
    /// The most blocks replayed from the chain store for a cursor from another edge process.
    static let maxChainReplay = ChainReplay.maxBlocks

    let queueLimit: Int
    let metrics: EdgeMetrics
    let logger: Logger
    let backend: Backend
    let replayWindow: Int
    /// Opened once both followers took their first snapshot; `subscribe` waits for it (FeedStart.swift).
    let feedStart: FeedStart
    /// This edge process's subscription feed: a cursor from another instance is served from the chain store.
    let instance = Hex.encode((0..<8).map { _ in UInt8.random(in: 0...255) })
    let state = Mutex(State())
    private let stream: AsyncStream<FeedEvent>
    private let continuation: AsyncStream<FeedEvent>.Continuation
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)

    init(backend: Backend, queueLimit: Int, metrics: EdgeMetrics, feedStart: FeedStart, logger: Logger, replayWindow: Int = 5000) {
        self.backend = backend
        self.feedStart = feedStart
        self.queueLimit = queueLimit
        self.metrics = metrics
        self.logger = logger
        self.replayWindow = replayWindow
        (stream, continuation) = AsyncStream.makeStream(of: FeedEvent.self, bufferingPolicy: .unbounded)
    }

    /// The followers' events, in order (`FeedOutlets`).
    func post(_ event: FeedEvent) { continuation.yield(event) }

    /// Starts handling the followers' events.
    func start() {
        let events = stream
        task.withLock { $0 = Task { for await e in events { await self.handle(e) } } }
    }

    func stop() async {
        continuation.finish()
        task.withLock { $0 }?.cancel()
        let all = state.withLock { s in
            defer { s.connections = [:] }
            return Array(s.connections.values)
        }
        for c in all {
            c.queue.finish()
            c.cutSignal.finish()
        }
    }

    /// Where the feed starts (the chain follower's first snapshot), before any block event.
    func setStart(height: Int, hash: String) {
        state.withLock { s in if s.lastBlock == nil { s.lastBlock = (height, hash) } }
    }

    var hasSubscribers: Bool { state.withLock { s in s.connections.values.contains { !$0.subscriptions.isEmpty } } }
    /// The feed's current sequence (tests).
    var seq: Int { state.withLock { $0.seq } }

    // MARK: connections

    func connect(meter: (@Sendable (String) -> Void)? = nil) -> (id: Int, queue: AsyncStream<String>, cut: AsyncStream<Void>) {
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingOldest(queueLimit))
        let (cutStream, cutContinuation) = AsyncStream<Void>.makeStream()
        let id = state.withLock { s in
            s.next += 1
            s.connections[s.next] = Connection(queue: continuation, cutSignal: cutContinuation, meter: meter)
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
    @discardableResult
    func send(_ id: Int, _ text: String) -> Bool {
        let queue = state.withLock { $0.connections[id]?.queue }
        guard let queue else { return false }
        if case .dropped = queue.yield(text) {
            cut(id)
            return false
        }
        return true
    }

    /// Queues a subscription's notification, counted in the connection's key's usage (if keyed).
    func push(_ id: Int, _ text: String, kind: Kind) {
        let meter = state.withLock { $0.connections[id]?.meter }
        if send(id, text) { meter?(kind.usageLabel) }
    }

    /// Closes the connection for its key: `text` (the error) is its last message, then close 1008 with `reason`.
    func closeForKey(_ id: Int, text: String, reason: String) {
        let connection: Connection? = state.withLock { s in
            guard var c = s.connections[id], c.closing == nil else { return nil }
            c.closing = (text, reason)
            s.connections[id] = c
            return c
        }
        connection?.cutSignal.finish()
    }

    func closing(_ id: Int) -> (text: String, reason: String)? { state.withLock { $0.connections[id]?.closing } }

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

    // MARK: serving a socket

    func serve(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, isOperator: Bool, edge: Edge, key: SocketKey? = nil) async {
        var meter: (@Sendable (String) -> Void)?
        if let key {
            let access = key.access, keyID = key.id
            meter = { @Sendable label in access.count(key: keyID, method: label, requests: 1, pushed: true) }
        }
        let (id, queue, cutSignal) = connect(meter: meter)
        let session = RPCSession(id: id, isOperator: isOperator, hub: self)
        let watch = key.map { $0.access.watch($0.id) }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await text in queue { try await outbound.writeTextMessage(text) }
                }
                group.addTask {
                    // Ends when the connection is cut off: the group then cancels a writer stuck on a full socket.
                    for await _ in cutSignal {}
                }
                if let key, let watch {
                    group.addTask {
                        // A notice dropped the key (revoked, rotated, or a gap in the notices): check it now.
                        for await _ in watch.changes { _ = await self.checkKey(key, id: id, request: nil) }
                    }
                }
                group.addTask {
                    for try await message in inbound.messages(maxSize: edge.config.maxBody) {
                        switch message {
                        case .text(let text):
                            let data = Data(text.utf8)
                            var grant: KeyGrant?
                            if let key {
                                switch await self.checkKey(key, id: id, request: data) {
                                case .valid(let g): grant = g
                                case .refused: continue
                                case .closed: return
                                }
                            }
                            if let reply = await RPCRoutes.answer(data, edge: edge, session: session, grant: grant) {
                                self.send(id, String(decoding: reply.encoded(), as: UTF8.self))
                            }
                            // A subscribe with a resume cursor: its replay follows its reply.
                            await self.completeReplays(id)
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
        if let key, let watch { key.access.unwatch(key.id, token: watch.token) }
        if let closing = closing(id) {
            // The key is no longer valid: its error, then close 1008.
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    try? await outbound.writeTextMessage(closing.text)
                    try? await outbound.close(.policyViolation, reason: closing.reason)
                }
                group.addTask { try? await Task.sleep(for: .seconds(1)) }
                await group.next()
                group.cancelAll()
            }
        } else if isCut(id) {
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
