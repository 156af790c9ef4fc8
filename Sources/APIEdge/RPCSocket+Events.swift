import ChainCore
import Foundation
import HummingbirdWebSocket
import Logging
import NIOWebSocket
import NodeKit
import Synchronization

/// The edge's ordered feed events turned into each subscription's notifications (new heads with
/// reorgs, new transactions, the transactions touching a set of addresses).
extension RPCSubscriptions {
    func handle(_ event: FeedEvent) async {
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
            if let h = try? await backend.chain(.getheader, BlockRef(hash: hash.hex), as: HeaderInfo.self) {
                item.head = Self.head(h, removed: true)
            } else {
                item.head = ["hash": .string(hash.hex), "height": RPCValue(height), "previousblockhash": .string(previous.hex), "removed": .bool(true)]
            }
            state.withLock { $0.lastBlock = (height - 1, previous.hex) }
        case .txAdded(let tx, _, _, _):
            item.isTx = true
            item.txs = [tx]
        case let .resync(scope, reason):
            item.resync = (scope, reason)
        case .newTip, .txRemoved:
            return
        }
        if !item.txs.isEmpty, wantsAddresses {
            item.touched = await touching(item.txs, known: item.confirmed != nil ? item.txs : [])
        }
        let instance = instance, limit = replayWindow, network = backend.network
        var out = [(Int, String, Kind)]()
        // Address subscriptions made after `wantsAddresses` was asked: rendered once `touched` is known.
        var late = [(id: Int, sid: String)]()
        let numbered: Item = state.withLock { s in
            s.seq += 1
            item.seq = s.seq
            item.cursor = "\(instance):\(s.seq):\(s.lastBlock?.hash ?? "")"
            s.window.append(item)
            if s.window.count > limit + limit / 10 { s.window.removeFirst(s.window.count - limit) }
            // The transaction's JSON once for every subscriber of this event (none: not at all).
            var live = item
            for (id, c) in s.connections where !c.cut {
                for (sid, sub) in c.subscriptions.sorted(by: { $0.key < $1.key }) {
                    if case .addresses = sub.kind, live.touched == nil, !live.txs.isEmpty {
                        late.append((id, sid))
                        continue
                    }
                    if sub.kind == .newTransactions { live.renderTx(network: network) }
                    guard let text = Self.render(live, sid: sid, kind: sub.kind, network: network) else { continue }
                    deliver(&s, id: id, sid: sid, text: text, blockHash: item.blockHash, kind: sub.kind, out: &out)
                }
            }
            return item
        }
        for (id, text, kind) in out { push(id, text, kind: kind) }
        guard !late.isEmpty else { return }
        // This event is not done until they have it: the next one is handled after this returns.
        var touchedItem = numbered
        touchedItem.touched = await touching(numbered.txs, known: numbered.confirmed != nil ? numbered.txs : [])
        out = []
        state.withLock { s in
            for (id, sid) in late {
                guard let sub = s.connections[id]?.subscriptions[sid], s.connections[id]?.cut == false,
                      let text = Self.render(touchedItem, sid: sid, kind: sub.kind, network: network) else { continue }
                deliver(&s, id: id, sid: sid, text: text, blockHash: numbered.blockHash, kind: sub.kind, out: &out)
            }
        }
        for (id, text, kind) in out { push(id, text, kind: kind) }
    }

    /// A subscription's message for an event: held back while its replay is fetched, else sent.
    private func deliver(_ s: inout State, id: Int, sid: String, text: String, blockHash: String?, kind: Kind, out: inout [(Int, String, Kind)]) {
        if s.connections[id]?.subscriptions[sid]?.held != nil {
            s.connections[id]?.subscriptions[sid]?.held?.append((text, blockHash))
        } else {
            out.append((id, text, kind))
        }
    }

    private var wantsAddresses: Bool {
        state.withLock { s in
            s.connections.values.contains { $0.subscriptions.values.contains { if case .addresses = $0.kind { return true } else { return false } } }
        }
    }

    /// The public keys each transaction pays or spends from.
    func touching(_ txs: [Transaction], known block: [Transaction]) async -> [(String, Set<[UInt8]>)] {
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
}
