import ChainCore
import Foundation
import HummingbirdWebSocket
import Logging
import NIOWebSocket
import NodeKit
import Synchronization

/// Subscriptions of the JSON-RPC socket: subscribe and unsubscribe, resume cursors, replays from the
/// window or the chain store, and the notification text.
extension RPCSubscriptions {
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
                    if let text = Self.render(item, sid: sid, kind: kind, network: backend.network) { out.append((text, item.blockHash)) }
                }
                if thenMempoolResync {
                    out.append((Self.resyncText(sid: sid, cursor: currentCursor(), scope: "mempool",
                                                reason: "transactions before the resume cursor's block are not replayed: fetch the mempool"), nil))
                }
                replay = out
            case let .chain(after, upTo):
                // (`subscribe` waited for the feed's start, so `upTo` is where it stood.) What was held back
                // meanwhile and is in the replay is left out by hash.
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
            let info = try await backend.chain(.getblock, BlockRef(height: height), as: BlockInfo.self)
            guard let raw = Hex.decode(info.hex), let block = try? Block(bytes: raw) else {
                throw ChainReplay.Stop(reason: "the chain store sent a block that does not decode")
            }
            let hash = block.hash.hex
            // Its cursor is the block's hash: resuming from it goes by the block, not by this process's sequence.
            var item = Item(seq: 0, cursor: hash, head: Self.head(block, height: height, removed: false),
                            txs: block.transactions, confirmed: ["blockhash": .string(hash), "height": RPCValue(height)], blockHash: hash)
            if case .addresses = kind { item.touched = await touching(block.transactions, known: block.transactions) }
            let text = Self.render(item, sid: sid, kind: kind, network: backend.network, replay: true)
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
    static func render(_ item: Item, sid: String, kind: Kind, network: Network, replay: Bool = false) -> String? {
        if let r = item.resync { return message(sid: sid, cursor: item.cursor, resync: r) }
        let result: RPCValue?
        switch kind {
        case .newHeads: result = item.head
        case .newTransactions: result = item.tx(network: network)
        case .addresses(let keys): result = addressResult(item.touched ?? [], keys: keys, confirmed: item.confirmed)
        }
        return result.map { message(sid: sid, cursor: item.cursor, result: $0, replay: replay) }
    }
}

extension RPCSubscriptions.Item {
    /// newTransactions' result for this event: the transaction's JSON (nil for another event).
    func tx(network: Network) -> RPCValue? {
        guard isTx, let tx = txs.first else { return nil }
        return rendered ?? RPCMethods.txJSON(tx, network: network)
    }

    /// Renders the transaction's JSON now, for several subscribers to share.
    mutating func renderTx(network: Network) {
        if isTx, rendered == nil, let tx = txs.first { rendered = RPCMethods.txJSON(tx, network: network) }
    }
}
