import ChainCore
import Foundation

/// `submittxs`: many raw transactions in one binary bus request (docs/PROTOCOL.md, "Bus: batched
/// submissions"), one answer per transaction in order, each exactly what `submittx` would have
/// answered for it (its txid, fee and size, or its refusal's code and message). Each transaction
/// is admitted on its own, concurrently, and the reply leaves once every one of them is settled:
/// the accepted ones on disk (the group commit). All integers little-endian; counts and lengths
/// are CompactSize (PROTOCOL §1).
///
///     request: version (1) | count | count × (flags | [receivedAt: u64, IEEE-754 bits] | [maxFee: u64] | length | raw bytes)
///     reply:   version (1) | count | count × (0 | txid (32) | fee: u64 | size: u32)
///                                          or (1 | code length | code | message length | message)
///
/// `flags` bit 0: `receivedAt` follows (Unix seconds the edge received it, for the trace); bit 1:
/// `maxFee` follows (the highest fee, in base units, the client allows: JSON-RPC `sendrawtransaction`'s
/// `maxfeerate` for this transaction's size); other bits 0.
public enum SubmitBatch {
    public static let version: UInt8 = 1
    /// Transactions per batch at most.
    public static let maxCount = 1_024
    /// One transaction's bytes at most on this wire (the edge sends a bigger one alone, with
    /// `submittx`, so that the mempool refuses it as it refuses any oversized transaction).
    public static let maxTransactionBytes = 1 << 20
    /// A whole request at most.
    public static let maxBatchBytes = 16 << 20

    /// One transaction of a batch.
    public struct Item: Sendable, Equatable {
        public var raw: [UInt8]
        /// When the edge received it (Unix seconds), for the trace.
        public var receivedAt: Double?
        /// The highest fee (base units) it may pay, else refused `max-fee-exceeded`; nil: no limit.
        public var maxFee: UInt64?
        public init(raw: [UInt8], receivedAt: Double?, maxFee: UInt64? = nil) {
            self.raw = raw; self.receivedAt = receivedAt; self.maxFee = maxFee
        }

        /// Its bytes in a request.
        public var encodedSize: Int {
            1 + (receivedAt == nil ? 0 : 8) + (maxFee == nil ? 0 : 8) + ByteWriter.compactSizeLength(raw.count) + raw.count
        }

        var flags: UInt8 { (receivedAt == nil ? 0 : 1) | (maxFee == nil ? 0 : 2) }
    }

    /// What `submittx` answers for one transaction.
    public enum Answer: Sendable, Equatable {
        case accepted(txid: Hash256, fee: UInt64, size: Int)
        case refused(RPCError)

        /// As `submittx`'s reply: the result, or the refusal it throws.
        public var result: Result<SubmitTxResult, RPCError> {
            switch self {
            case let .accepted(txid, fee, size): return .success(SubmitTxResult(txid: txid.hex, fee: fee, size: size))
            case let .refused(error): return .failure(error)
            }
        }

        /// From `submittx`'s reply (a fake mempool answering through its `submittx` code; a result
        /// whose txid is not 64 hex digits is an `internal` refusal).
        public init(_ result: Result<SubmitTxResult, RPCError>) {
            switch result {
            case let .success(r):
                if let txid = Hash256(hex: r.txid) {
                    self = .accepted(txid: txid, fee: r.fee, size: r.size)
                } else {
                    self = .refused(RPCError("internal", "submittx answered a txid that is not 64 hex digits: \(r.txid)"))
                }
            case let .failure(e): self = .refused(e)
            }
        }
    }

    /// A request's payload; nil when `items` break the limits (none, more than `maxCount`, a
    /// transaction over `maxTransactionBytes`, or over `maxBatchBytes` in all).
    public static func encode(_ items: [Item]) -> [UInt8]? {
        guard (1...maxCount).contains(items.count), items.allSatisfy({ $0.raw.count <= maxTransactionBytes }) else { return nil }
        let size = 1 + ByteWriter.compactSizeLength(items.count) + items.reduce(0) { $0 + $1.encodedSize }
        guard size <= maxBatchBytes else { return nil }
        var w = ByteWriter(capacity: size)
        w.write(version)
        w.writeCompactSize(UInt64(items.count))
        for item in items {
            w.write(item.flags)
            if let at = item.receivedAt { w.write(at.bitPattern) }
            if let maxFee = item.maxFee { w.write(maxFee) }
            w.writeVarBytes(item.raw)
        }
        return w.bytes
    }

    /// A request's transactions; a malformed or oversized request is refused as a whole
    /// (`bad-params`, saying what is wrong), before any transaction is looked at.
    public static func decodeRequest(_ bytes: [UInt8]) throws(RPCError) -> [Item] {
        guard bytes.count <= maxBatchBytes else {
            throw RPCError.badParams("submittxs: a batch of \(bytes.count) bytes, at most \(maxBatchBytes)")
        }
        var r = ByteReader(bytes)
        do {
            try readVersion(&r)
            // a transaction takes at least 2 bytes (flags, length): a count the rest cannot hold is refused before allocating
            let count = try r.readCount("transaction count", limit: maxCount, minItemSize: 2)
            guard count > 0 else { throw DecodingError.invalid(what: "batch: no transaction") }
            var items = [Item]()
            items.reserveCapacity(count)
            for _ in 0..<count {
                let flags = try r.readUInt8("flags")
                guard flags & ~3 == 0 else { throw DecodingError.invalid(what: "flags \(flags)") }
                let receivedAt = flags & 1 != 0 ? Double(bitPattern: try r.readUInt64("receivedAt")) : nil
                let maxFee = flags & 2 != 0 ? try r.readUInt64("maxFee") : nil
                items.append(Item(raw: try r.readVarBytes("transaction length", limit: maxTransactionBytes), receivedAt: receivedAt, maxFee: maxFee))
            }
            try r.expectEnd()
            return items
        } catch {
            throw RPCError.badParams("submittxs: malformed batch: \(error)")
        }
    }

    /// A reply's payload.
    public static func encode(_ answers: [Answer]) -> [UInt8] {
        var w = ByteWriter(capacity: 2 + answers.count * 45)
        w.write(version)
        w.writeCompactSize(UInt64(answers.count))
        for answer in answers {
            switch answer {
            case let .accepted(txid, fee, size):
                w.write(UInt8(0))
                w.write(txid)
                w.write(fee)
                w.write(UInt32(clamping: size))
            case let .refused(error):
                w.write(UInt8(1))
                w.writeVarBytes(Array(error.code.utf8))
                w.writeVarBytes(Array(error.message.utf8))
            }
        }
        return w.bytes
    }

    /// A reply's answers, which must be `count` (the number of transactions sent).
    public static func decodeAnswers(_ bytes: [UInt8], count expected: Int) throws(RPCError) -> [Answer] {
        var r = ByteReader(bytes)
        do {
            try readVersion(&r)
            let count = try r.readCount("answer count", limit: maxCount, minItemSize: 3)
            guard count == expected else { throw DecodingError.invalid(what: "answer count \(count) for \(expected) transactions") }
            var answers = [Answer]()
            answers.reserveCapacity(count)
            for _ in 0..<count {
                switch try r.readUInt8("answer tag") {
                case 0:
                    let txid = try r.readHash("txid")
                    let fee = try r.readUInt64("fee")
                    answers.append(.accepted(txid: txid, fee: fee, size: Int(try r.readUInt32("size"))))
                case 1:
                    let code = try r.readVarBytes("code", limit: 256)
                    let message = try r.readVarBytes("message", limit: maxTransactionBytes)
                    answers.append(.refused(RPCError(String(decoding: code, as: UTF8.self), String(decoding: message, as: UTF8.self))))
                case let tag:
                    throw DecodingError.invalid(what: "answer tag \(tag)")
                }
            }
            try r.expectEnd()
            return answers
        } catch {
            throw RPCError("internal", "submittxs: malformed reply: \(error)")
        }
    }

    /// The mempool's side (and a fake's): decodes a request, settles every transaction with
    /// `admit`, all at once (as concurrent `submittx` requests would be), and encodes their answers
    /// in the request's order once all are settled.
    public static func serve(_ payload: [UInt8], admit: @escaping @Sendable (Item) async -> Answer) async throws(RPCError) -> [UInt8] {
        await answer(try decodeRequest(payload), admit: admit)
    }

    /// Settles `items` with `admit`, all at once, and encodes their answers in order.
    public static func answer(_ items: [Item], admit: @escaping @Sendable (Item) async -> Answer) async -> [UInt8] {
        let answers = await withTaskGroup(of: (Int, Answer).self, returning: [Answer].self) { group in
            for (i, item) in items.enumerated() {
                group.addTask { (i, await admit(item)) }
            }
            var answers = [Answer?](repeating: nil, count: items.count)
            for await (i, answer) in group { answers[i] = answer }
            return answers.map { $0! }
        }
        return encode(answers)
    }

    private static func readVersion(_ r: inout ByteReader) throws(DecodingError) {
        let v = try r.readUInt8("version")
        guard v == version else { throw DecodingError.invalid(what: "version \(v) (this node speaks \(version))") }
    }
}
