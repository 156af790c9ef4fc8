import ChainCore

/// getblocktemplate's JSON-RPC result, Bitcoin Core's shape (BIP 22/23), rendered from a
/// `BlockTemplate` straight to bytes, and the mempool's binary `getblocktemplaterpc` reply that
/// carries it (docs/PROTOCOL.md): the mempool renders the result once per template, the edge
/// splices it into its JSON-RPC reply without parsing it (a template is ~1.5 MB at 6,800
/// transactions; decoding it and building a JSON tree to encode again cost the edge more than the
/// template itself).
///
///     payload: header length (u32 LE) | header (JSON, `TemplateRPC.Header`) | result (JSON)
///
/// The result is compact JSON with every object's keys in ascending order, the bytes the edge's
/// own encoder (`RPCValue.encoded()`) writes for the same value (TemplateResultTests pin it).
public enum TemplateRPC {
    /// The bus method's name (`MempoolMethod.getblocktemplaterpc`).
    public static let method = MempoolMethod.getblocktemplaterpc.rawValue

    /// What the edge reads of the template before handing the result out: the long poll's id and
    /// the learning mode's pace.
    public struct Header: Codable, Sendable, Equatable {
        public var height: Int
        public var previousHash: String
        public var mempoolSequence: UInt64
        public var pace: MiningPace?
        public init(height: Int, previousHash: String, mempoolSequence: UInt64, pace: MiningPace?) {
            self.height = height; self.previousHash = previousHash; self.mempoolSequence = mempoolSequence; self.pace = pace
        }
        public init(_ t: BlockTemplate) {
            self.init(height: t.height, previousHash: t.previousHash, mempoolSequence: t.mempoolSequence, pace: t.pace)
        }
        /// getblocktemplate's `longpollid`: the tip and the mempool's sequence.
        public var longPollID: String { "\(previousHash)\(mempoolSequence)" }
    }

    /// The binary reply's payload for `template`.
    public static func payload(_ template: BlockTemplate) throws -> [UInt8] {
        let header = try JSON.encode(Header(template))
        var out = [UInt8]()
        out.reserveCapacity(4 + header.count + estimatedSize(template))
        withUnsafeBytes(of: UInt32(header.count).littleEndian) { out += $0 }
        out += header
        writeResult(template, into: &out)
        return out
    }

    /// A payload's header and result (the result's bytes as they came: JSON not parsed here).
    public static func parse(_ payload: [UInt8]) throws(RPCError) -> (header: Header, result: ArraySlice<UInt8>) {
        guard payload.count >= 4 else { throw RPCError("internal", "getblocktemplaterpc reply shorter than its header length") }
        let length = Int(payload[0]) | Int(payload[1]) << 8 | Int(payload[2]) << 16 | Int(payload[3]) << 24
        guard length <= payload.count - 4 else { throw RPCError("internal", "getblocktemplaterpc header length \(length) past the reply's end") }
        let header: Header
        do {
            header = try JSON.decode(Header.self, Array(payload[4..<4 + length]))
        } catch {
            throw RPCError("internal", "undecodable getblocktemplaterpc header: \(error)")
        }
        return (header, payload[(4 + length)...])
    }

    /// The result alone.
    public static func result(_ template: BlockTemplate) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(estimatedSize(template))
        writeResult(template, into: &out)
        return out
    }

    static func estimatedSize(_ t: BlockTemplate) -> Int {
        t.transactions.reduce(1_024) { $0 + $1.utf8.count + 2 * 64 + 80 }
    }

    /// Each transaction's parents in the template, 1-based, ascending: the template's `depends`
    /// when it has one per transaction, else found by decoding each transaction (an older mempool).
    public static func depends(_ t: BlockTemplate) -> [[Int]] {
        if let given = t.depends, given.count == t.transactions.count { return given }
        var index = [String: Int]()
        for (i, txid) in t.txids.enumerated() { index[txid] = i + 1 }
        return t.transactions.map { hex in
            var found = Set<Int>()
            if let raw = Hex.decode(hex), let tx = try? Transaction(bytes: raw) {
                for input in tx.inputs { if let d = index[input.previousOutput.txid.hex] { found.insert(d) } }
            }
            return found.sorted()
        }
    }

    /// The result: keys in ascending order, as the edge's encoder sorts them.
    static func writeResult(_ t: BlockTemplate, into out: inout [UInt8]) {
        let target = CompactTarget.hashValue(CompactTarget.decode(t.bits).target).hex
        let depends = depends(t)
        func key(_ k: StaticString, first: Bool = false) {
            if !first { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "\""))
            k.withUTF8Buffer { out += $0 }
            out += [UInt8(ascii: "\""), UInt8(ascii: ":")]
        }
        func raw(_ s: StaticString) { s.withUTF8Buffer { out += $0 } }
        func int<I: BinaryInteger>(_ i: I) { out += String(i).utf8 }
        out.append(UInt8(ascii: "{"))
        key("bits", first: true); writeString(hex8(t.bits), into: &out)
        key("coinbaseaux"); raw("{}")
        key("coinbasevalue"); int(Int64(clamping: t.coinbaseValue))
        key("curtime"); int(t.time)
        key("height"); int(t.height)
        key("longpollid"); writeString("\(t.previousHash)\(t.mempoolSequence)", into: &out)
        key("mintime"); int(t.minTime)
        key("mutable"); raw(#"["time","transactions","prevblock"]"#)
        key("noncerange"); raw(#""00000000ffffffff""#)
        key("previousblockhash"); writeString(t.previousHash, into: &out)
        key("rules"); raw("[]")
        key("sizelimit"); int(Limits.maxBlockSize)
        key("target"); writeString(target, into: &out)
        key("transactions")
        out.append(UInt8(ascii: "["))
        for (i, (hex, txid)) in zip(t.transactions, t.txids).enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "{"))
            key("data", first: true); writeString(hex, into: &out)
            key("depends")
            out.append(UInt8(ascii: "["))
            for (j, d) in depends[i].enumerated() {
                if j > 0 { out.append(UInt8(ascii: ",")) }
                int(d)
            }
            out.append(UInt8(ascii: "]"))
            key("hash"); writeString(txid, into: &out)
            key("txid"); writeString(txid, into: &out)
            key("weight"); int(hex.utf8.count / 2 * 4)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        key("vbavailable"); raw("{}")
        key("vbrequired"); raw("0")
        key("version"); int(Int64(Transaction.currentVersion))
        key("weightlimit"); int(Limits.maxBlockSize * 4)
        out.append(UInt8(ascii: "}"))
    }

    static func hex8(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: max(0, 8 - s.count)) + s
    }

    /// A JSON string (RFC 8259 §7), escaped as the edge's encoder escapes it; a string with
    /// nothing to escape (hex, the common case) is copied whole, checked and copied from its
    /// contiguous UTF-8 (a template writes ~2 MB of hex: read through the view's iterator, the
    /// check cost more than the copy).
    public static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        let plain = s.withUTF8 { bytes -> Bool in
            for b in bytes where b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") { return false }
            out.append(contentsOf: bytes)
            return true
        }
        if !plain {
            let utf8 = s.utf8
            let hex = Array("0123456789abcdef".utf8)
            for b in utf8 {
                switch b {
                case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
                case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
                case 0x0a: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
                case 0x0d: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
                case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
                case 0..<0x20: out += [UInt8(ascii: "\\"), UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0x0f)]]
                default: out.append(b)
                }
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
