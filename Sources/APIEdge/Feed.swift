import ChainCore
import Foundation
import HummingbirdWebSocket
import Logging
import NodeKit
import Synchronization

/// Messages pushed to WebSocket clients.
enum FeedMessage {
    struct Hello: Encodable { var type = "hello"; var network: String; var height: Int?; var tip: String? }
    struct BlockMsg: Encodable { var type = "block"; var block: EsploraBlock }
    struct TxMsg: Encodable { var type = "tx"; var txid: String; var fee: UInt64?; var size: Int }
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

/// Follows the services' publications and pushes them to WebSocket clients through the `Hub`.
/// Publications are queued here and handled in order by `run()`, so the subscriber loop never waits on RPCs.
final class Feed: Sendable {
    enum Input: Sendable {
        case tip([UInt8]), connected([UInt8]), rawtx([UInt8]), trace([UInt8])
    }

    let hub: Hub
    let backend: Backend
    let metrics: EdgeMetrics
    let logger: Logger
    private let stream: AsyncStream<Input>
    private let continuation: AsyncStream<Input>.Continuation
    private let tip = Mutex<ChainTip?>(nil)
    static let maxTrackedPerClient = 100

    init(backend: Backend, metrics: EdgeMetrics, logger: Logger, queueLimit: Int = 1024) {
        self.backend = backend
        self.metrics = metrics
        self.logger = logger
        hub = Hub(queueLimit: queueLimit, metrics: metrics)
        (stream, continuation) = AsyncStream.makeStream(of: Input.self, bufferingPolicy: .bufferingNewest(10_000))
    }

    var lastTip: ChainTip? { tip.withLock { $0 } }

    /// After a gap or a restart of the chain store's stream the cached tip may be stale:
    /// tip routes ask the chain store again until the next `tip` publication.
    func forgetTip() { tip.withLock { $0 = nil } }
    var network: Network { backend.network }

    func post(_ input: Input) { continuation.yield(input) }
    func finish() { continuation.finish() }

    /// Handles queued publications until `finish()`.
    func run() async {
        for await input in stream {
            switch input {
            case .tip(let body): await onTip(body)
            case .connected(let body): await onConnected(body)
            case .rawtx(let body): await onRawTx(body)
            case .trace(let body):
                guard let event = try? JSON.decode(TraceEvent.self, body) else { continue }
                await hub.broadcast(FeedMessage.text(FeedMessage.TraceMsg(event: event)))
            }
        }
    }

    private func onTip(_ body: [UInt8]) async {
        guard let t = try? JSON.decode(ChainTip.self, body) else { return logger.warning("undecodable tip message") }
        tip.withLock { $0 = t }
        metrics.height.set(Int64(t.height))
        guard await hub.clientCount > 0 else { return }
        do {
            let header = try await backend.chain("getheader", BlockRef(hash: t.hash), as: HeaderInfo.self)
            await hub.broadcast(FeedMessage.text(FeedMessage.BlockMsg(block: EsploraBlock(header))))
        } catch {
            logger.warning("could not fetch the new tip's header", metadata: ["hash": "\(t.hash)", "error": "\(error)"])
        }
    }

    private func onConnected(_ body: [UInt8]) async {
        guard await hub.hasWatches else { return }
        guard let (_, raw) = HeightPrefixed.decode(body), let block = try? Block(bytes: raw) else {
            return logger.warning("undecodable connected message")
        }
        for tx in block.transactions {
            let txid = tx.txid
            let keys = await hub.touched(tx, txid: txid, confirmed: true, spentKeys: [])
            await notify(keys, txid: txid, confirmed: true)
        }
    }

    private func onRawTx(_ body: [UInt8]) async {
        guard let tx = try? Transaction(bytes: body) else { return logger.warning("undecodable rawtx message") }
        let txid = tx.txid
        backend.remember(tx, txid: txid)
        guard await hub.clientCount > 0 else { return }
        // The mempool entry gives the fee and the keys of the spent outputs.
        let entry = try? await backend.mempoolEntry(txid.hex)
        await hub.broadcast(FeedMessage.text(FeedMessage.TxMsg(txid: txid.hex, fee: entry?.fee, size: body.count)))
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

    func hello() async -> String {
        var t = lastTip
        if t == nil { t = try? await backend.chain("getchaintip", Empty(), as: ChainTip.self) }
        return FeedMessage.text(FeedMessage.Hello(network: network.rawValue, height: t?.height, tip: t?.hash))
    }

    /// Serves one WebSocket client until it leaves (or falls too far behind).
    func serve(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        let (id, queue) = await hub.connect(first: await hello())
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await text in queue { try await outbound.write(.text(text)) }
                }
                group.addTask {
                    for try await message in inbound.messages(maxSize: 16_384) {
                        switch message {
                        case .text(let text): await self.clientMessage(text, id: id)
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
        await hub.disconnect(id)
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
    }

    private var clients: [Int: Client] = [:]
    private var nextID = 0
    /// Per tracked key: how many clients track it, and the outpoints it owns (to recognise its spends).
    private var watches: [[UInt8]: (refs: Int, owned: Set<OutPoint>)] = [:]
    private let queueLimit: Int
    private let metrics: EdgeMetrics
    private static let ownedLimit = 50_000

    init(queueLimit: Int, metrics: EdgeMetrics) {
        self.queueLimit = queueLimit
        self.metrics = metrics
    }

    var clientCount: Int { clients.count }
    var hasWatches: Bool { !watches.isEmpty }

    func connect(first: String) -> (Int, AsyncStream<String>) {
        let (stream, queue) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingOldest(queueLimit))
        nextID += 1
        clients[nextID] = Client(queue: queue)
        queue.yield(first)
        metrics.wsConnections.set(Double(clients.count))
        return (nextID, stream)
    }

    func disconnect(_ id: Int) {
        guard let client = clients.removeValue(forKey: id) else { return }
        client.queue.finish()
        for key in client.keys { release(key) }
        metrics.wsConnections.set(Double(clients.count))
    }

    func broadcast(_ text: String) {
        for id in clients.keys { send(id, text) }
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
