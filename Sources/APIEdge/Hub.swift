import ChainCore
import Foundation
import NodeKit
import Synchronization

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
    /// One ordered message kept for resuming clients: its text is made when first needed (sent
    /// live, or replayed), so with no client connected a flood's transactions cost no JSON here.
    private struct Record {
        let seq: Int
        let blockHash: String?
        let make: @Sendable (Int) -> String
        var text: String?

        mutating func rendered() -> String {
            if let text { return text }
            let t = make(seq)
            text = t
            return t
        }
    }

    /// The last `replayWindow` ordered messages, for resuming clients.
    private var recent: [Record] = []
    private let replayWindow: Int
    /// Clients connected and keys tracked, readable without a hop onto this actor (`Feed` asks per transaction).
    nonisolated let interest = Interest()
    /// Told the number of clients whenever it changes (the trace relay: `TraceRelay`).
    private var onClients: (@Sendable (Int) -> Void)?

    init(queueLimit: Int, metrics: EdgeMetrics, replayWindow: Int = 5000) {
        self.queueLimit = queueLimit
        self.metrics = metrics
        self.replayWindow = replayWindow
    }

    var clientCount: Int { clients.count }
    var hasWatches: Bool { !watches.isEmpty }

    /// Calls `observer` with the number of clients now and at every change.
    func observeClients(_ observer: @escaping @Sendable (Int) -> Void) {
        onClients = observer
        observer(clients.count)
    }

    private func clientsChanged() {
        interest.clients.store(clients.count, ordering: .relaxed)
        metrics.wsConnections.set(Double(clients.count))
        onClients?(clients.count)
    }

    private func watchesChanged() {
        interest.watches.store(watches.count, ordering: .relaxed)
    }

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
        clientsChanged()
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
        return recent.indices[start...].map { recent[$0].rendered() }
    }

    /// Numbers an ordered message, keeps it for replay and sends it to every client. `make` is
    /// called (once) when the text is first needed: now if a client is connected, else on a replay.
    func publish(blockHash: String? = nil, height: Int? = nil, disconnected: Bool = false, _ make: @escaping @Sendable (Int) -> String) {
        if let height { lastBlock = disconnected ? (height - 1, blockHash) : (height, blockHash) }
        seq += 1
        var record = Record(seq: seq, blockHash: blockHash, make: make)
        if !clients.isEmpty {
            let text = record.rendered()
            for id in clients.keys {
                if clients[id]?.held != nil { clients[id]?.held?.append((text, blockHash)) } else { send(id, text) }
            }
        }
        recent.append(record)
        if recent.count > replayWindow + replayWindow / 10 { recent.removeFirst(recent.count - replayWindow) }
    }

    /// Messages rendered so far among those kept for replay (tests).
    var renderedCount: Int { recent.filter { $0.text != nil }.count }

    func disconnect(_ id: Int) {
        guard let client = clients.removeValue(forKey: id) else { return }
        client.queue.finish()
        for key in client.keys { release(key) }
        clientsChanged()
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
        watchesChanged()
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
        watchesChanged()
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

/// What the hub's clients want, as counters any task may read (`Hub.interest`).
final class Interest: Sendable {
    let clients = Atomic<Int>(0)
    let watches = Atomic<Int>(0)

    var hasClients: Bool { clients.load(ordering: .relaxed) > 0 }
    var hasWatches: Bool { watches.load(ordering: .relaxed) > 0 }
}
