import ChainCore
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NodeKit
import Synchronization

/// Messages pushed to WebSocket clients. The ones in the ordered feed (block, block-disconnected,
/// tx, tx-removed, resync) carry `seq`, this edge's feed sequence, for resuming after a reconnect.
enum FeedMessage {
    struct Hello: Encodable {
        var type = "hello"; var network: String; var height: Int?; var tip: String?
        /// This edge process's feed: a resume cursor from another instance is answered with a resync.
        var instance: String; var seq: Int
    }
    struct BlockMsg: Encodable {
        var type = "block"; var block: EsploraBlock; var seq: Int
        /// Sent again to a resuming client (fetched from the chain store), not a new block.
        var replay: Bool?
    }
    struct Disconnected: Encodable {
        var type = "block-disconnected"; var hash: String; var height: Int
        /// The tip after it (a resume cursor's block).
        var previous: String
        var seq: Int
    }
    struct TxMsg: Encodable { var type = "tx"; var txid: String; var fee: UInt64?; var size: Int; var seq: Int }
    struct TxRemoved: Encodable { var type = "tx-removed"; var txid: String; var seq: Int }
    struct Resync: Encodable { var type = "resync"; var scope: String; var reason: String; var seq: Int }
    struct TraceMsg: Encodable { var type = "trace"; var event: TraceEvent }
    struct AddressTx: Encodable { var type = "address-tx"; var address: String; var txid: String; var confirmed: Bool }
    struct Tracking: Encodable { var type = "tracking"; var address: String; var tracking: Bool }
    struct ErrorMsg: Encodable { var type = "error"; var code: String; var message: String }

    static func text<T: Encodable>(_ m: T) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? e.encode(m)).map { String(decoding: $0, as: UTF8.self) } ?? #"{"type":"error","code":"internal","message":"encoding"}"#
    }
}

/// Pushes the followers' events (`FeedEvent`) and the services' trace events to WebSocket clients
/// through the `Hub`. Events are queued here and handled in order by `run()`, so a follower never
/// waits on a client or on the RPCs a message needs.
final class Feed: FeedOutlet, Sendable {
    enum Input: Sendable {
        case tip([UInt8]), event(FeedEvent), trace([UInt8])
    }

    let hub: Hub
    let backend: Backend
    let metrics: EdgeMetrics
    let logger: Logger
    private let stream: AsyncStream<Input>
    private let continuation: AsyncStream<Input>.Continuation
    private let tip = Mutex<ChainTip?>(nil)
    static let maxTrackedPerClient = 100

    init(backend: Backend, metrics: EdgeMetrics, logger: Logger, queueLimit: Int = 1024, replayWindow: Int = 5000) {
        self.backend = backend
        self.metrics = metrics
        self.logger = logger
        hub = Hub(queueLimit: queueLimit, metrics: metrics, replayWindow: replayWindow)
        // Unbounded: the followers' events must not be dropped (they are few: blocks and accepted transactions).
        (stream, continuation) = AsyncStream.makeStream(of: Input.self, bufferingPolicy: .unbounded)
    }

    var lastTip: ChainTip? { tip.withLock { $0 } }

    /// After a gap or a restart of the chain store's stream the cached tip may be stale:
    /// tip routes ask the chain store again until the next `tip` publication.
    func forgetTip() { tip.withLock { $0 = nil } }
    var network: Network { backend.network }

    func post(_ input: Input) { continuation.yield(input) }
    func post(_ event: FeedEvent) { continuation.yield(.event(event)) }
    func finish() { continuation.finish() }

    /// Handles queued events until `finish()`.
    func run() async {
        for await input in stream {
            switch input {
            case .tip(let body):
                guard let t = try? JSON.decode(ChainTip.self, body) else { logger.warning("undecodable tip message"); continue }
                tip.withLock { $0 = t }
                metrics.height.set(Int64(t.height))
            case .event(let event):
                await handle(event)
            case .trace(let body):
                guard let event = try? JSON.decode(TraceEvent.self, body) else { continue }
                await hub.broadcast(FeedMessage.text(FeedMessage.TraceMsg(event: event)))
            }
        }
    }

    private func handle(_ event: FeedEvent) async {
        switch event {
        case let .connected(height, block, raw):
            let header = await header(of: block, height: height, size: raw.count)
            await hub.publish(blockHash: block.hash.hex, height: height) { FeedMessage.text(FeedMessage.BlockMsg(block: EsploraBlock(header), seq: $0)) }
            await onConnected(block)
        case let .disconnected(height, hash, previous):
            await hub.publish(blockHash: previous.hex, height: height, disconnected: true) {
                FeedMessage.text(FeedMessage.Disconnected(hash: hash.hex, height: height, previous: previous.hex, seq: $0))
            }
        case .newTip:
            break
        case let .txAdded(tx, raw, _):
            await onTx(tx, size: raw.count)
        case let .txRemoved(txid, _):
            await hub.publish { FeedMessage.text(FeedMessage.TxRemoved(txid: txid.hex, seq: $0)) }
        case let .resync(scope, reason):
            await hub.publish { FeedMessage.text(FeedMessage.Resync(scope: scope, reason: reason, seq: $0)) }
        }
    }

    /// The block's header as the API shows it; built from the block itself when the chain store does not answer.
    private func header(of block: Block, height: Int, size: Int) async -> HeaderInfo {
        if let h = try? await backend.chain("getheader", BlockRef(hash: block.hash.hex), as: HeaderInfo.self) { return h }
        let h = block.header
        return HeaderInfo(hash: block.hash.hex, height: height, version: h.version, previousHash: h.previousHash.hex,
                          merkleRoot: h.merkleRoot.hex, time: h.time, bits: h.bits, nonce: h.nonce, difficulty: 0, chainwork: "",
                          txCount: block.transactions.count, size: size, inBestChain: true, nextHash: nil)
    }

    private func onConnected(_ block: Block) async {
        guard await hub.hasWatches else { return }
        for tx in block.transactions {
            let txid = tx.txid
            let keys = await hub.touched(tx, txid: txid, confirmed: true, spentKeys: [])
            await notify(keys, txid: txid, confirmed: true)
        }
    }

    private func onTx(_ tx: Transaction, size: Int) async {
        let txid = tx.txid
        backend.remember(tx, txid: txid)
        // The mempool entry gives the fee and the keys of the spent outputs.
        var entry: MempoolEntry?
        if await hub.clientCount > 0 { entry = try? await backend.mempoolEntry(txid.hex) }
        let fee = entry?.fee
        await hub.publish { FeedMessage.text(FeedMessage.TxMsg(txid: txid.hex, fee: fee, size: size, seq: $0)) }
        if await hub.hasWatches {
            let spentKeys = Set((entry?.spent ?? []).compactMap { Hex.decode($0.publicKey) })
            let keys = await hub.touched(tx, txid: txid, confirmed: false, spentKeys: spentKeys)
            await notify(keys, txid: txid, confirmed: false)
        }
    }

    private func notify(_ keys: Set<[UInt8]>, txid: Hash256, confirmed: Bool) async {
        for key in keys {
            let address = Address(publicKey: key, network: network).string
            await hub.send(toTrackersOf: key, FeedMessage.text(FeedMessage.AddressTx(address: address, txid: txid.hex, confirmed: confirmed)))
        }
    }

    // MARK: connections

    /// The most blocks replayed from the chain store to a client resuming from a block this edge did not announce.
    static let maxChainReplay = ChainReplay.maxBlocks

    /// For a cursor naming a block outside this edge's window (the edge restarted, or the client was
    /// away long): the best chain's blocks after it, fetched from the chain store, then a mempool
    /// resync (the transactions of the outage are not known here). A block no longer on the best
    /// chain, or too far back: a resync.
    func chainReplay(after hash: String, upTo last: (height: Int, hash: String?)?) async -> [(text: String, blockHash: String?)] {
        let seq = await hub.seq
        func resync(_ reason: String, scope: String = "all") -> (text: String, blockHash: String?) {
            (FeedMessage.text(FeedMessage.Resync(scope: scope, reason: reason, seq: seq)), nil)
        }
        let backend = self.backend
        switch await ChainReplay.walk(backend, after: hash, upTo: last, fetch: { height in
            let h = try await backend.chain("getheader", BlockRef(height: height), as: HeaderInfo.self)
            let text = FeedMessage.text(FeedMessage.BlockMsg(block: EsploraBlock(h), seq: seq, replay: true))
            return ChainReplay.Step(item: (text: text, blockHash: Optional(h.hash)), previousHash: h.previousHash, hash: h.hash)
        }) {
        case .success(var out):
            out.append(resync("transactions since the resume cursor are not replayed: fetch the mempool", scope: "mempool"))
            return out
        case .failure(let stop):
            return [resync(stop.reason)]
        }
    }

    func currentTipOrAsk() async -> ChainTip? {
        if let t = lastTip { return t }
        return try? await backend.chain("getchaintip", Empty(), as: ChainTip.self)
    }

    /// Serves one WebSocket client until it leaves (or falls too far behind). With a resume
    /// cursor, what the feed sent after it is replayed first (or a resync message says it can't be).
    /// A keyed client (`/v1/<key>/api/ws`): each message it sends costs a credit (a refusal is an
    /// error message, the socket stays open), each message pushed to it is counted in the key's usage
    /// (`feed`, no credits), and a key no longer valid (revoked, rotated: checked at each message and
    /// the moment a notice drops it) gets an `invalid-api-key` error and the socket closes (1008).
    func serve(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, since cursor: ResumeCursor? = nil, key: SocketKey? = nil) async {
        let t = await currentTipOrAsk()
        let net = network.rawValue
        let (id, queue, needsReplay, upTo) = await hub.connectResuming(cursor: cursor) { instance, seq in
            FeedMessage.text(FeedMessage.Hello(network: net, height: t?.height, tip: t?.hash, instance: instance, seq: seq))
        }
        if needsReplay, let hash = cursor?.hash {
            // A client back before this edge's feed has started (the edge just restarted) waits for it a little;
            // what was held back meanwhile and is in the replay is left out by hash.
            var upTo = upTo
            for _ in 0..<100 where upTo == nil && !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(100))
                upTo = await hub.lastBlock
            }
            await hub.resume(id, replay: await chainReplay(after: hash, upTo: upTo))
        }
        let closing = ClosingNote()
        let watch = key.map { $0.access.watch($0.id) }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await text in queue {
                        try await outbound.write(.text(text))
                        if let key { key.access.count(key: key.id, method: "feed", requests: 1, pushed: true) }
                    }
                }
                if let key, let watch {
                    group.addTask {
                        for await _ in watch.changes {
                            if let error = await Self.invalid(key) {
                                closing.set(error)
                                return
                            }
                        }
                    }
                }
                group.addTask {
                    for try await message in inbound.messages(maxSize: 16_384) {
                        switch message {
                        case .text(let text):
                            if let key {
                                if let error = await Self.invalid(key) {
                                    closing.set(error)
                                    return
                                }
                                if let refusal = await Self.charge(key) {
                                    await self.hub.send(id, refusal)
                                    continue
                                }
                            }
                            await self.clientMessage(text, id: id)
                        case .binary: await self.hub.send(id, Self.error("bad-message", "send JSON text messages"))
                        }
                    }
                }
                _ = try await group.next()
                group.cancelAll()
            }
        } catch {
            logger.debug("websocket closed", metadata: ["error": "\(error)"])
        }
        if let key, let watch { key.access.unwatch(key.id, token: watch.token) }
        if let error = closing.text {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    try? await outbound.write(.text(error))
                    try? await outbound.close(.policyViolation, reason: "API key no longer valid")
                }
                group.addTask { try? await Task.sleep(for: .seconds(1)) }
                await group.next()
                group.cancelAll()
            }
        }
        await hub.disconnect(id)
    }

    /// The error a keyed socket closes with, once its key is no longer valid.
    final class ClosingNote: Sendable {
        private let m = Mutex<String?>(nil)
        func set(_ text: String) { m.withLock { if $0 == nil { $0 = text } } }
        var text: String? { m.withLock { $0 } }
    }

    /// A keyed client's key checked again: nil while valid (or when the accounts service does not
    /// answer: the next message tries again), else the error message it gets before the socket closes.
    static func invalid(_ key: SocketKey) async -> String? {
        do {
            let record = try await key.access.authenticate(key.text)
            try AccessControl.checkOrigin(record, origin: key.origin)
            return nil
        } catch {
            let api = APIError.from(error)
            guard api.status == .unauthorized || api.status == .forbidden else { return nil }
            return Self.error(api.code, api.message)
        }
    }

    /// Charges a keyed client's message one credit: nil when admitted, else the error message (rate,
    /// daily quota, with the seconds to wait; or the accounts service unavailable).
    static func charge(_ key: SocketKey) async -> String? {
        do {
            let record = try await key.access.authenticate(key.text)
            let admission = await key.access.take(record, count: 1)
            guard admission == .admitted else {
                key.access.count(key: key.id, method: "feed message", refused: 1)
                let api = KeyLimits.refusal(admission, info: record.info)
                let wait = api.headers[.retryAfter].map { " (retry after \($0) s)" } ?? ""
                return Self.error(api.code, api.message + wait)
            }
            key.access.count(key: key.id, method: "feed message", requests: 1, credits: 1)
            return nil
        } catch {
            let api = APIError.from(error)
            return Self.error(api.code, api.message)
        }
    }

    static func error(_ code: String, _ message: String) -> String {
        FeedMessage.text(FeedMessage.ErrorMsg(code: code, message: message))
    }

    /// `{"track-address": "rcrn1…"}` or `{"untrack-address": "rcrn1…"}`; anything else gets an error message.
    func clientMessage(_ text: String, id: Int) async {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            return await hub.send(id, Self.error("bad-message", "expected a JSON object such as {\"track-address\": \"<address>\"}"))
        }
        let track = object["track-address"] as? String
        let untrack = object["untrack-address"] as? String
        guard let text = track ?? untrack else {
            return await hub.send(id, Self.error("bad-message", "expected {\"track-address\": …} or {\"untrack-address\": …}"))
        }
        let address: Address
        do {
            address = try Address(text, network: network)
        } catch {
            return await hub.send(id, Self.error(error.code, error.description))
        }
        if track == nil {
            await hub.untrack(id, key: address.publicKey)
            return await hub.send(id, FeedMessage.text(FeedMessage.Tracking(address: address.string, tracking: false)))
        }
        // Outpoints the address owns, so that spends of them are recognised (in blocks too).
        var owned = Set<OutPoint>()
        let keyHex = Hex.encode(address.publicKey)
        do {
            async let coins = backend.chain("getaddressutxos", AddressRef(publicKey: keyHex), as: [CoinInfo].self)
            async let entries = backend.mempool("getaddressmempool", AddressRef(publicKey: keyHex), as: [MempoolEntry].self)
            for c in try await coins { if let h = Hash256(hex: c.txid) { owned.insert(OutPoint(txid: h, index: c.index)) } }
            for e in try await entries {
                guard let raw = Hex.decode(e.hex), let tx = try? Transaction(bytes: raw) else { continue }
                let txid = tx.txid
                for (i, o) in tx.outputs.enumerated() where o.publicKey == address.publicKey { owned.insert(OutPoint(txid: txid, index: UInt32(i))) }
            }
        } catch {
            await hub.send(id, Self.error(APIError.from(error).code, "tracking outputs only: \(APIError.from(error).message)"))
        }
        guard await hub.track(id, key: address.publicKey, owned: owned, limit: Self.maxTrackedPerClient) else {
            return await hub.send(id, Self.error("too-many-addresses", "at most \(Self.maxTrackedPerClient) tracked addresses per connection"))
        }
        await hub.send(id, FeedMessage.text(FeedMessage.Tracking(address: address.string, tracking: true)))
    }
}

/// Fans messages out to WebSocket clients, each with a bounded queue: a client whose queue is
/// full is disconnected rather than slowing everyone down.
actor Hub {
    private struct Client {
        let queue: AsyncStream<String>.Continuation
        var keys: Set<[UInt8]> = []
        /// While a resuming client's replay is fetched: its live messages (with the block hash of block messages), held back.
        var held: [(text: String, blockHash: String?)]?
    }

    private var clients: [Int: Client] = [:]
    private var nextID = 0
    /// Per tracked key: how many clients track it, and the outpoints it owns (to recognise its spends).
    private var watches: [[UInt8]: (refs: Int, owned: Set<OutPoint>)] = [:]
    private let queueLimit: Int
    private let metrics: EdgeMetrics
    private static let ownedLimit = 50_000

    /// This edge process's feed; `seq` numbers its ordered messages from 1.
    let instance = Hex.encode((0..<8).map { _ in UInt8.random(in: 0...255) })
    private(set) var seq = 0
    /// The last `replayWindow` ordered messages, for resuming clients.
    private var recent: [(seq: Int, text: String, blockHash: String?)] = []
    private let replayWindow: Int

    init(queueLimit: Int, metrics: EdgeMetrics, replayWindow: Int = 5000) {
        self.queueLimit = queueLimit
        self.metrics = metrics
        self.replayWindow = replayWindow
    }

    var clientCount: Int { clients.count }
    var hasWatches: Bool { !watches.isEmpty }

    func connect(first: String) -> (Int, AsyncStream<String>) {
        connect(cursor: nil) { _, _ in first }
    }

    /// Registers a client: its hello first, then (with a cursor) the replay, then everything live.
    /// When the cursor names a block this edge's window does not hold, the client is held
    /// (`needsChainReplay`): the caller fetches the blocks after it and calls `resume`.
    func connect(cursor: ResumeCursor?, hello: @Sendable (String, Int) -> String) -> (Int, AsyncStream<String>) {
        let c = connectResuming(cursor: cursor, hello: hello)
        return (c.id, c.stream)
    }

    /// The last block the feed announced (its hash unknown after a disconnect); what a new client receives live starts after it.
    private(set) var lastBlock: (height: Int, hash: String?)?

    /// Where the feed starts (the chain follower's first snapshot), before any block message.
    func setStart(height: Int, hash: String) {
        if lastBlock == nil { lastBlock = (height, hash) }
    }

    func connectResuming(cursor: ResumeCursor?, hello: @Sendable (String, Int) -> String)
        -> (id: Int, stream: AsyncStream<String>, needsChainReplay: Bool, upTo: (height: Int, hash: String?)?) {
        var backlog = [hello(instance, seq)]
        var hold = false
        if let cursor {
            if let replay = replay(after: cursor) { backlog += replay } else if cursor.hash != nil { hold = true } else {
                backlog.append(resyncText("the resume cursor is outside this edge's replay window: fetch the current state"))
            }
        }
        let room = queueLimit + backlog.count - 1 + (hold ? Feed.maxChainReplay + 2 : 0)
        let (stream, queue) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingOldest(room))
        nextID += 1
        clients[nextID] = Client(queue: queue, held: hold ? [] : nil)
        for text in backlog { queue.yield(text) }
        metrics.wsConnections.set(Double(clients.count))
        return (nextID, stream, hold, lastBlock)
    }

    /// Sends a held client its replay, then what was held back. A block both replayed and held back
    /// (announced while the replay was fetched) goes out once, as the live message with its `seq`.
    func resume(_ id: Int, replay: [(text: String, blockHash: String?)]) {
        guard var client = clients[id], let held = client.held else { return }
        client.held = nil
        clients[id] = client
        let live = Set(held.compactMap(\.blockHash))
        for m in replay where m.blockHash.map({ !live.contains($0) }) ?? true { send(id, m.text) }
        for m in held { send(id, m.text) }
    }

    func resyncText(_ reason: String, scope: String = "all") -> String {
        FeedMessage.text(FeedMessage.Resync(scope: scope, reason: reason, seq: seq))
    }

    /// The ordered messages after a cursor from this edge's window; nil when the window does not reach back to it.
    func replay(after cursor: ResumeCursor) -> [String]? {
        var start: Int?
        if let since = cursor.seq, cursor.instance == instance, since <= seq {
            if since == seq { return [] }
            if let first = recent.first, since >= first.seq - 1 { start = recent.firstIndex { $0.seq > since } }
        }
        if start == nil, let hash = cursor.hash {
            if let i = recent.lastIndex(where: { $0.blockHash == hash }) { start = i + 1 }
        }
        guard let start else { return nil }
        return Array(recent[start...].map(\.text))
    }

    /// Numbers an ordered message, keeps it for replay and sends it to every client.
    func publish(blockHash: String? = nil, height: Int? = nil, disconnected: Bool = false, _ make: @Sendable (Int) -> String) {
        if let height { lastBlock = disconnected ? (height - 1, blockHash) : (height, blockHash) }
        seq += 1
        let text = make(seq)
        recent.append((seq, text, blockHash))
        if recent.count > replayWindow + replayWindow / 10 { recent.removeFirst(recent.count - replayWindow) }
        for id in clients.keys {
            if clients[id]?.held != nil { clients[id]?.held?.append((text, blockHash)) } else { send(id, text) }
        }
    }

    func disconnect(_ id: Int) {
        guard let client = clients.removeValue(forKey: id) else { return }
        client.queue.finish()
        for key in client.keys { release(key) }
        metrics.wsConnections.set(Double(clients.count))
    }

    func broadcast(_ text: String) {
        for id in clients.keys {
            if clients[id]?.held != nil { clients[id]?.held?.append((text, nil)) } else { send(id, text) }
        }
    }

    func send(_ id: Int, _ text: String) {
        guard let client = clients[id] else { return }
        if case .dropped = client.queue.yield(text) {
            metrics.wsDropped.increment()
            disconnect(id)
        }
    }

    func send(toTrackersOf key: [UInt8], _ text: String) {
        for (id, client) in clients where client.keys.contains(key) { send(id, text) }
    }

    func track(_ id: Int, key: [UInt8], owned: Set<OutPoint>, limit: Int) -> Bool {
        guard var client = clients[id] else { return false }
        if client.keys.contains(key) {
            watches[key]?.owned.formUnion(owned)
            return true
        }
        guard client.keys.count < limit else { return false }
        client.keys.insert(key)
        clients[id] = client
        var w = watches[key] ?? (refs: 0, owned: [])
        w.refs += 1
        w.owned.formUnion(owned)
        watches[key] = w
        return true
    }

    func untrack(_ id: Int, key: [UInt8]) {
        guard var client = clients[id], client.keys.remove(key) != nil else { return }
        clients[id] = client
        release(key)
    }

    private func release(_ key: [UInt8]) {
        guard var w = watches[key] else { return }
        w.refs -= 1
        watches[key] = w.refs > 0 ? w : nil
    }

    /// The tracked keys a transaction touches: outputs paying them, inputs spending outpoints they
    /// own, or `spentKeys` (known from the mempool entry). Keeps the owned sets up to date.
    func touched(_ tx: Transaction, txid: Hash256, confirmed: Bool, spentKeys: Set<[UInt8]>) -> Set<[UInt8]> {
        var keys = Set<[UInt8]>()
        for key in spentKeys where watches[key] != nil { keys.insert(key) }
        for input in tx.inputs where !input.previousOutput.isNull {
            for (key, w) in watches where w.owned.contains(input.previousOutput) {
                keys.insert(key)
                if confirmed { watches[key]?.owned.remove(input.previousOutput) }
            }
        }
        for (i, o) in tx.outputs.enumerated() where watches[o.publicKey] != nil {
            keys.insert(o.publicKey)
            if watches[o.publicKey]!.owned.count < Self.ownedLimit {
                watches[o.publicKey]!.owned.insert(OutPoint(txid: txid, index: UInt32(i)))
            }
        }
        return keys
    }
}

/// Where a reconnecting client left off: `?since=<seq>&instance=<id>` (the last `seq` it handled and
/// the hello's `instance`), or `?since_hash=<block hash>` (the last block it saw). Nothing: a fresh start.
struct ResumeCursor: Sendable, Equatable {
    var seq: Int?
    var instance: String?
    var hash: String?

    init?(query: [String: String]) {
        seq = query["since"].flatMap { Int($0) }
        instance = query["instance"]
        hash = query["since_hash"].flatMap { Hash256(hex: $0) != nil ? $0.lowercased() : nil }
        if seq == nil && hash == nil { return nil }
    }

    init?(request: Request) {
        var query = [String: String]()
        for (k, v) in request.uri.queryParameters { query[String(k)] = String(v) }
        self.init(query: query)
    }
}
