import NodeKit
import ChainCore

/// A template's transactions, decoded for the block the miner builds. A template is mostly the
/// previous one's transactions, so those come again from the last template's decoding, by txid;
/// the others are decoded from their bytes, each checked to hash to the txid it came with (a
/// mempool's reply is trusted for neither). Keeps one template's worth.
struct TemplateDecoder {
    private(set) var last: [Hash256: Transaction] = [:]

    /// How many transactions the last `decode` took from its bytes (the rest were reused).
    private(set) var lastFresh = 0

    mutating func decode(_ items: [(txid: Hash256, raw: [UInt8])]) throws -> [(tx: Transaction, txid: Hash256)] {
        var kept = [Hash256: Transaction](minimumCapacity: items.count)
        var out = [(tx: Transaction, txid: Hash256)]()
        out.reserveCapacity(items.count)
        var fresh = 0
        for (txid, raw) in items {
            if let tx = kept[txid] ?? last[txid] {
                kept[txid] = tx
                out.append((tx, txid))
                continue
            }
            guard let tx = try? Transaction(bytes: raw) else { throw RPCError("bad-template", "undecodable transaction \(txid)") }
            guard tx.txid == txid else { throw RPCError("bad-template", "transaction \(txid) hashes to \(tx.txid)") }
            kept[txid] = tx
            out.append((tx, txid))
            fresh += 1
        }
        last = kept
        lastFresh = fresh
        return out
    }

    /// A JSON template's transactions (hex, and display-form txids) as the items `decode` takes.
    static func items(of t: BlockTemplate) throws -> [(txid: Hash256, raw: [UInt8])] {
        guard t.transactions.count == t.txids.count else {
            throw RPCError("bad-template", "\(t.transactions.count) transactions but \(t.txids.count) txids")
        }
        return try zip(t.transactions, t.txids).map { hex, id in
            guard let txid = Hash256(hex: id), let raw = Hex.decode(hex) else { throw RPCError("bad-template", "undecodable transaction") }
            return (txid, raw)
        }
    }
}
