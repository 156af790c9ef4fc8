import ChainCore

/// The node's own miner's template on the bus, binary (`getblocktemplatebin`, docs/PROTOCOL.md
/// "Bus: the miner's template"): the raw transactions and their txids as bytes instead of hex in
/// JSON. A full template is ~1.5 MB of JSON at 6,800 transactions, which the mempool encoded and
/// the miner decoded at every refresh (a new tip or, under a flood, every 2 s); as bytes, the
/// mempool copies each transaction once and the miner decodes only those it has not seen.
///
///     payload: header length (u32 LE) | header (JSON: the `BlockTemplate` with `transactions` and
///              `txids` empty and no `depends`) | count (u32 LE) | count × (txid (32 bytes,
///              internal order) | length (u32 LE) | the raw transaction)
///
/// `depends` (each transaction's parents in the template, for JSON-RPC miners) is left out: the
/// miner takes the transactions in the order given, and `JSONEncoder` writing ~6,800 small arrays
/// was most of the binary reply's cost.
public enum TemplateBinary {
    /// The bus method's name (`MempoolMethod.getblocktemplatebin`).
    public static let method = MempoolMethod.getblocktemplatebin.rawValue

    /// One transaction of the template: its txid and its bytes.
    public struct Item: Sendable, Equatable {
        public var txid: Hash256
        public var raw: [UInt8]
        public init(txid: Hash256, raw: [UInt8]) { self.txid = txid; self.raw = raw }
    }

    /// The payload for `template` (its `transactions`, `txids` and `depends` are not read: `items`
    /// are, in block order).
    public static func payload(_ template: BlockTemplate, items: [Item]) throws -> [UInt8] {
        var header = template
        header.transactions = []
        header.txids = []
        header.depends = nil
        let json = try JSON.encode(header)
        var out = [UInt8]()
        out.reserveCapacity(8 + json.count + items.reduce(0) { $0 + 36 + $1.raw.count })
        le32(UInt32(json.count), into: &out)
        out += json
        le32(UInt32(items.count), into: &out)
        for item in items {
            out += item.txid.bytes
            le32(UInt32(item.raw.count), into: &out)
            out += item.raw
        }
        return out
    }

    /// A payload's template (its `transactions` and `txids` empty, no `depends`) and its transactions, checked
    /// against the payload's bounds (a reply that breaks them is an `internal` error: it is the
    /// mempool's).
    public static func parse(_ payload: [UInt8]) throws(RPCError) -> (template: BlockTemplate, items: [Item]) {
        var at = 0
        func u32() throws(RPCError) -> Int {
            guard payload.count - at >= 4 else { throw RPCError("internal", "getblocktemplatebin reply cut short at byte \(at)") }
            defer { at += 4 }
            return Int(payload[at]) | Int(payload[at + 1]) << 8 | Int(payload[at + 2]) << 16 | Int(payload[at + 3]) << 24
        }
        let length = try u32()
        guard length <= payload.count - at else { throw RPCError("internal", "getblocktemplatebin header length \(length) past the reply's end") }
        let template: BlockTemplate
        do {
            template = try JSON.decode(BlockTemplate.self, Array(payload[at..<at + length]))
        } catch {
            throw RPCError("internal", "undecodable getblocktemplatebin header: \(error)")
        }
        at += length
        let count = try u32()
        guard count <= (payload.count - at) / 36 else { throw RPCError("internal", "getblocktemplatebin: \(count) transactions cannot fit the reply") }
        var items = [Item]()
        items.reserveCapacity(count)
        for _ in 0..<count {
            guard payload.count - at >= 32 else { throw RPCError("internal", "getblocktemplatebin reply cut short at byte \(at)") }
            let txid = Hash256(bytes: payload[at..<at + 32])
            at += 32
            let size = try u32()
            guard size <= payload.count - at else { throw RPCError("internal", "getblocktemplatebin: a transaction of \(size) bytes past the reply's end") }
            items.append(Item(txid: txid, raw: Array(payload[at..<at + size])))
            at += size
        }
        guard at == payload.count else { throw RPCError("internal", "getblocktemplatebin: \(payload.count - at) bytes after the last transaction") }
        return (template, items)
    }

    private static func le32(_ v: UInt32, into out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out += $0 }
    }
}
