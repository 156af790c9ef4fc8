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
        /// newTransactions: a transaction entering the pool.
        var tx: RPCValue?
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
    /// This edge process's subscription feed: a cursor from another instance is served from the chain store.
    let instance = Hex.encode((0..<8).map { _ in UInt8.random(in: 0...255) })
    private let state = Mutex(State())
    private let stream: AsyncStream<FeedEvent>
    private let continuation: AsyncStream<FeedEvent>.Continuation
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)

    init(backend: Backend, queueLimit: Int, metrics: EdgeMetrics, logger: Logger, replayWindow: Int = 5000) {
        self.backend = backend
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

    // MARK: subscriptions

    /// A resume cursor: `"<instance>:<seq>:<block hash>"` as notifications carry it, or a bare block
    /// hash (the last block the client saw).
    struct Cursor: Sendable, Equatable {
        var instance: String?
        var seq: Int?
        var hash: String?

        init?(_ text: String) {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            if parts.count == 1, Hash256(hex: parts[0]) != nil {
                hash = parts[0].lowercased()
                return
            }
            guard parts.count == 3, parts[0].count == 16, Hex.decode(parts[0]) != nil, let seq = Int(parts[1]), seq >= 0 else { return nil }
            instance = parts[0]
            self.seq = seq
            hash = Hash256(hex: parts[2]) != nil ? parts[2].lowercased() : nil
        }
    }

    func subscribe(_ id: Int, _ kind: Kind, since: Cursor? = nil) throws -> String {
        var bytes = [UInt8](repeating: 0, count: 8)
        var rng = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &rng) }
        let sid = "0x" + Hex.encode(bytes)
        let instance = instance, window = replayWindow
        try state.withLock { s in
            guard var c = s.connections[id] else { throw RPCFault.misc("connection closed") }
            guard c.subscriptions.count < Self.maxSubscriptionsPerConnection else {
                throw RPCFault.invalidParameter("at most \(Self.maxSubscriptionsPerConnection) subscriptions per connection")
            }
            var sub = Subscription(kind: kind)
            if let since {
                sub.held = []
                if let seq = since.seq, since.instance == instance, seq <= s.seq,
                   seq >= (s.window.first?.seq ?? s.seq + 1) - 1 || seq == s.seq {
                    sub.pending = .window(s.window.filter { $0.seq > seq }, thenMempoolResync: false)
                } else if let hash = since.hash {
                    if let i = s.window.lastIndex(where: { $0.blockHash == hash }), since.instance != instance || since.seq == nil {
                        sub.pending = .window(Array(s.window[(i + 1)...]), thenMempoolResync: kind != .newHeads)
                    } else {
                        sub.pending = .chain(after: hash, upTo: s.lastBlock)
                    }
                } else {
                    sub.pending = .resync(since.instance == instance ? "the resume cursor is older than the last \(window) events"
                                                                    : "the resume cursor is from another edge process and names no block")
                }
            }
            c.subscriptions[sid] = sub
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

    /// After a reply went out: the replays of the subscriptions it created, then what was held back meanwhile.
    func completeReplays(_ id: Int) async {
        let pending: [(String, Kind, Pending)] = state.withLock { s in
            guard var c = s.connections[id] else { return [] }
            var out = [(String, Kind, Pending)]()
            for (sid, sub) in c.subscriptions {
                if let p = sub.pending {
                    out.append((sid, sub.kind, p))
                    c.subscriptions[sid]?.pending = nil
                }
            }
            s.connections[id] = c
            return out
        }
        for (sid, kind, p) in pending {
            let replay: [(text: String, blockHash: String?)]
            switch p {
            case let .window(items, thenMempoolResync):
                var out = [(text: String, blockHash: String?)]()
                for item in items {
                    var item = item
                    if case .addresses = kind, item.touched == nil, !item.txs.isEmpty {
                        item.touched = await touching(item.txs, known: item.confirmed != nil ? item.txs : [])
                    }
                    if let text = Self.render(item, sid: sid, kind: kind) { out.append((text, item.blockHash)) }
                }
                if thenMempoolResync {
                    out.append((Self.resyncText(sid: sid, cursor: currentCursor(), scope: "mempool",
                                                reason: "transactions before the resume cursor's block are not replayed: fetch the mempool"), nil))
                }
                replay = out
            case let .chain(after, upTo):
                // A client back before this edge's feed has started (the edge just restarted) waits for it a little;
                // what was held back meanwhile and is in the replay is left out by hash.
                var upTo = upTo
                for _ in 0..<100 where upTo == nil && !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(100))
                    upTo = state.withLock { $0.lastBlock }
                }
                replay = await chainReplay(sid: sid, kind: kind, after: after, upTo: upTo)
            case .resync(let reason):
                replay = [(Self.resyncText(sid: sid, cursor: currentCursor(), scope: "all", reason: reason), nil)]
            }
            let (queue, held): (AsyncStream<String>.Continuation?, [(text: String, blockHash: String?)]) = state.withLock { s in
                guard var c = s.connections[id], var sub = c.subscriptions[sid] else { return (nil, []) }
                let held = sub.held ?? []
                sub.held = nil
                c.subscriptions[sid] = sub
                s.connections[id] = c
                return (c.queue, held)
            }
            guard queue != nil else { continue }
            let live = Set(held.compactMap(\.blockHash))
            for m in replay where m.blockHash.map({ !live.contains($0) }) ?? true { push(id, m.text, kind: kind) }
            for m in held { push(id, m.text, kind: kind) }
        }
    }

    private func currentCursor() -> String {
        state.withLock { s in "\(instance):\(s.seq):\(s.lastBlock?.hash ?? "")" }
    }

    /// For a cursor this window does not hold: the best chain's blocks after its block (at most
    /// `maxChainReplay`, up to where the feed stood when the client subscribed), fetched from the chain
    /// store and marked `"replay": true`; then, for transactions, a resync of scope mempool.
    private func chainReplay(sid: String, kind: Kind, after hash: String, upTo last: (height: Int, hash: String)?) async -> [(text: String, blockHash: String?)] {
        let cursor = currentCursor()
        func resync(_ reason: String, scope: String = "all") -> (text: String, blockHash: String?) {
            (Self.resyncText(sid: sid, cursor: cursor, scope: scope, reason: reason), nil)
        }
        let backend = self.backend
        let walked = await ChainReplay.walk(backend, after: hash, upTo: last.map { ($0.height, Optional($0.hash)) }, fetch: { height in
            let info = try await backend.chain("getblock", BlockRef(height: height), as: BlockInfo.self)
            guard let raw = Hex.decode(info.hex), let block = try? Block(bytes: raw) else {
                throw ChainReplay.Stop(reason: "the chain store sent a block that does not decode")
            }
            let hash = block.hash.hex
            // Its cursor is the block's hash: resuming from it goes by the block, not by this process's sequence.
            var item = Item(seq: 0, cursor: hash, head: Self.head(block, height: height, removed: false),
                            txs: block.transactions, confirmed: ["blockhash": .string(hash), "height": RPCValue(height)], blockHash: hash)
            if case .addresses = kind { item.touched = await touching(block.transactions, known: block.transactions) }
            let text = Self.render(item, sid: sid, kind: kind, replay: true)
            return ChainReplay.Step(item: text.map { (text: $0, blockHash: Optional(hash)) }, previousHash: block.header.previousHash.hex, hash: hash)
        })
        switch walked {
        case .success(let items):
            var out = items.compactMap { $0 }
            if kind != .newHeads { out.append(resync("transactions since the resume cursor are not replayed: fetch the mempool", scope: "mempool")) }
            return out
        case .failure(let stop):
            return [resync(stop.reason)]
        }
    }

    static func message(sid: String, cursor: String, result: RPCValue? = nil, resync: (scope: String, reason: String)? = nil, replay: Bool = false) -> String {
        var params: [String: RPCValue] = ["subscription": .string(sid), "cursor": .string(cursor)]
        if let result { params["result"] = result }
        if let resync { params["resync"] = ["scope": .string(resync.scope), "reason": .string(resync.reason)] }
        if replay { params["replay"] = .bool(true) }
        let message: RPCValue = ["jsonrpc": "2.0", "method": "subscription", "params": .object(params)]
        return String(decoding: message.encoded(), as: UTF8.self)
    }

    static func resyncText(sid: String, cursor: String, scope: String, reason: String) -> String {
        message(sid: sid, cursor: cursor, resync: (scope, reason))
    }

    /// What a subscription of `kind` is sent for an event, if anything.
    static func render(_ item: Item, sid: String, kind: Kind, replay: Bool = false) -> String? {
        if let r = item.resync { return message(sid: sid, cursor: item.cursor, resync: r) }
        let result: RPCValue?
        switch kind {
        case .newHeads: result = item.head
        case .newTransactions: result = item.tx
        case .addresses(let keys): result = addressResult(item.touched ?? [], keys: keys, confirmed: item.confirmed)
        }
        return result.map { message(sid: sid, cursor: item.cursor, result: $0, replay: replay) }
    }

    private func handle(_ event: FeedEvent) async {
        var item = Item(seq: 0, cursor: "")
        switch event {
        case let .connected(height, block, _):
            let hash = block.hash.hex
            item.head = Self.head(block, height: height, removed: false)
            item.txs = block.transactions
            item.confirmed = ["blockhash": .string(hash), "height": RPCValue(height)]
            item.blockHash = hash
            state.withLock { $0.lastBlock = (height, hash) }
        case let .disconnected(height, hash, previous):
            if let h = try? await backend.chain("getheader", BlockRef(hash: hash.hex), as: HeaderInfo.self) {
                item.head = Self.head(h, removed: true)
            } else {
                item.head = ["hash": .string(hash.hex), "height": RPCValue(height), "previousblockhash": .string(previous.hex), "removed": .bool(true)]
            }
            state.withLock { $0.lastBlock = (height - 1, previous.hex) }
        case .txAdded(let tx, _, _):
            item.tx = RPCMethods.txJSON(tx, network: backend.network)
            item.txs = [tx]
        case let .resync(scope, reason):
            item.resync = (scope, reason)
        case .newTip, .txRemoved:
            return
        }
        if !item.txs.isEmpty, wantsAddresses {
            item.touched = await touching(item.txs, known: item.confirmed != nil ? item.txs : [])
        }
        let instance = instance, limit = replayWindow
        var out = [(Int, String, Kind)]()
        state.withLock { s in
            s.seq += 1
            item.seq = s.seq
            item.cursor = "\(instance):\(s.seq):\(s.lastBlock?.hash ?? "")"
            s.window.append(item)
            if s.window.count > limit + limit / 10 { s.window.removeFirst(s.window.count - limit) }
            for (id, c) in s.connections where !c.cut {
                for (sid, sub) in c.subscriptions.sorted(by: { $0.key < $1.key }) {
                    guard let text = Self.render(item, sid: sid, kind: sub.kind) else { continue }
                    if sub.held != nil {
                        s.connections[id]?.subscriptions[sid]?.held?.append((text, item.blockHash))
                    } else {
                        out.append((id, text, sub.kind))
                    }
                }
            }
        }
        for (id, text, kind) in out { push(id, text, kind: kind) }
    }

    private var wantsAddresses: Bool {
        state.withLock { s in
            s.connections.values.contains { $0.subscriptions.values.contains { if case .addresses = $0.kind { return true } else { return false } } }
        }
    }

    /// The public keys each transaction pays or spends from.
    private func touching(_ txs: [Transaction], known block: [Transaction]) async -> [(String, Set<[UInt8]>)] {
        var known = [OutPoint: TxOutput]()
        for tx in block {
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

    static func head(_ h: HeaderInfo, removed: Bool) -> RPCValue {
        var o: [String: RPCValue] = [
            "hash": .string(h.hash), "height": RPCValue(h.height), "version": .int(Int64(h.version)),
            "merkleroot": .string(h.merkleRoot), "time": RPCValue(Int(h.time)), "nonce": .int(Int64(h.nonce)),
            "bits": .string(String(format: "%08x", h.bits)), "nTx": RPCValue(h.txCount), "removed": .bool(removed),
        ]
        if h.height > 0 { o["previousblockhash"] = .string(h.previousHash) }
        return .object(o)
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

extension RPCSubscriptions {
    enum KeyCheck: Sendable {
        case valid(KeyGrant)
        /// This message was answered with an error (the accounts service does not answer); the socket stays open.
        case refused
        /// The key is no longer valid: the socket closes.
        case closed
    }

    /// Checks a keyed socket's key again (from the edge's cache; a notice empties it at once): valid,
    /// or `request` (the message, for its id) answered with the refusal: -32001 and the socket closes
    /// for a key no longer valid, -28 (the accounts service does not answer) and it stays open.
    func checkKey(_ key: SocketKey, id: Int, request: Data?) async -> KeyCheck {
        do {
            let record = try await key.access.authenticate(key.text)
            try AccessControl.checkOrigin(record, origin: key.origin)
            return .valid(KeyGrant(record: record, accessControl: key.access))
        } catch {
            let api = APIError.from(error)
            var callID: RPCValue?
            var version = RPCCallRequest.Version.v2
            if let request, let parsed = try? RPCValue.decode(request), case .object = parsed {
                switch RPCCallRequest.parse(parsed) {
                case .success(let c): (callID, version) = (c.id, c.version)
                case .failure(let f): (callID, version) = (f.id, f.version)
                }
            }
            let text = String(decoding: RPCRoutes.errorReply(RPCFault.keyRefusal(api), id: callID, version: version).encoded(), as: UTF8.self)
            if api.status == .serviceUnavailable {
                if request != nil { send(id, text) }
                return .refused
            }
            key.access.count(key: key.id, method: "websocket", refused: request == nil ? 0 : 1)
            closeForKey(id, text: text, reason: api.status == .forbidden ? "origin not allowed for the API key" : "API key no longer valid")
            return .closed
        }
    }
}

extension RPCSubscriptions.Kind {
    /// How usage counts a pushed notification of this kind.
    var usageLabel: String {
        switch self {
        case .newHeads: return "subscription:newHeads"
        case .newTransactions: return "subscription:newTransactions"
        case .addresses: return "subscription:addresses"
        }
    }
}

/// A keyed WebSocket's key (`/v1/<key>/rpc`, or `X-API-Key` on the upgrade) and the Origin it was
/// opened from: checked again at each message and whenever a notice drops the key.
struct SocketKey: Sendable {
    let text: String
    let id: String
    let origin: String?
    let access: AccessControl
}

/// A WebSocket connection as JSON-RPC methods see it (subscribe / unsubscribe; operator methods).
struct RPCSession: Sendable {
    let id: Int
    let isOperator: Bool
    let hub: RPCSubscriptions
}
