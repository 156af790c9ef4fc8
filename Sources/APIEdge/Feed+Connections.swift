import ChainCore
import Foundation
import HummingbirdWebSocket
import NodeKit
import Synchronization

// The feed's connections: serving one WebSocket client (hello, resume cursor and chain replay,
// delivery from its queue, its messages) and address tracking. The keyed socket's checks are in
// Feed+Keys.swift, the fan-out in Hub.swift.
extension Feed {
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
            let h = try await backend.chain(.getheader, BlockRef(height: height), as: HeaderInfo.self)
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
            // (The upgrade waited for the feed's start, so `upTo` is where it stood.) What was held back
            // meanwhile and is in the replay is left out by hash.
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
            async let coins = backend.chain(.getaddressutxos, AddressRef(publicKey: keyHex), as: [CoinInfo].self)
            async let entries = backend.mempool(.getaddressmempool, AddressRef(publicKey: keyHex), as: [MempoolEntry].self)
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
