import ChainCore
import Foundation

/// Mempool (`mempool.rpc`):
///   submittx SubmitTx → SubmitTxResult      getmempoolinfo Empty → MempoolInfo
///   submittxs (binary) SubmitBatch request → one SubmitBatch.Answer per transaction (the edge's batches)
///   testtx SubmitTx → SubmitTxResult        (the same checks as submittx; nothing stored: JSON-RPC testmempoolaccept)
///   getrawmempool Empty → RawMempool        getentry TxRef → MempoolEntry
///   getaddressmempool AddressRef → [MempoolEntry]
///   getblocktemplate TemplateRequest → BlockTemplate
///   getblocktemplaterpc (binary) TemplateRequest → TemplateRPC payload (the JSON-RPC result, pre-rendered for the edge)
///   getminers Empty → [MinerInfo]           gettrace TxRef → [TraceEvent]
///   getstatus Empty → ServiceStatus
///   getpace Empty → MiningPace              setpace PaceChange → MiningPace  (the learning mode, regtest only)

public struct SubmitTx: Codable, Sendable {
    public var hex: String
    /// When the edge received it (Unix seconds), for the trace.
    public var receivedAt: Double?
    public init(hex: String, receivedAt: Double?) { self.hex = hex; self.receivedAt = receivedAt }
}

public struct SubmitTxResult: Codable, Sendable, Equatable {
    public var txid: String
    public var fee: UInt64
    public var size: Int
    public init(txid: String, fee: UInt64, size: Int) { self.txid = txid; self.fee = fee; self.size = size }
}

public struct MempoolInfo: Codable, Sendable, Equatable {
    public var count: Int
    public var bytes: Int
    public var totalFee: UInt64
    /// Esplora's fee histogram: [fee rate (units/byte), bytes] pairs, highest rate first.
    public var feeHistogram: [[Double]]
    public var minFeeRate: Double
    public var mempoolSequence: UInt64

    public init(count: Int, bytes: Int, totalFee: UInt64, feeHistogram: [[Double]], minFeeRate: Double, mempoolSequence: UInt64) {
        self.count = count; self.bytes = bytes; self.totalFee = totalFee; self.feeHistogram = feeHistogram
        self.minFeeRate = minFeeRate; self.mempoolSequence = mempoolSequence
    }
}

/// A snapshot that lines up with the `sequence` stream (the Clone pattern).
public struct RawMempool: Codable, Sendable, Equatable {
    public var txids: [String]
    public var mempoolSequence: UInt64
    public init(txids: [String], mempoolSequence: UInt64) { self.txids = txids; self.mempoolSequence = mempoolSequence }
}

public struct MempoolEntry: Codable, Sendable, Equatable {
    public var txid: String
    public var hex: String
    public var fee: UInt64
    public var size: Int
    public var feeRate: Double
    public var time: Double
    /// Unconfirmed parents in the pool.
    public var depends: [String]
    /// The outputs this transaction spends (so a wallet can show amounts and pending balances).
    public var spent: [CoinInfo]

    public init(txid: String, hex: String, fee: UInt64, size: Int, feeRate: Double, time: Double, depends: [String], spent: [CoinInfo]) {
        self.txid = txid; self.hex = hex; self.fee = fee; self.size = size; self.feeRate = feeRate
        self.time = time; self.depends = depends; self.spent = spent
    }
}

public struct TemplateRequest: Codable, Sendable {
    public var minerID: String
    public var address: String
    public var hashrate: Double
    public var threads: Int
    public init(minerID: String, address: String, hashrate: Double, threads: Int) {
        self.minerID = minerID; self.address = address; self.hashrate = hashrate; self.threads = threads
    }
}

public struct BlockTemplate: Codable, Sendable, Equatable {
    public var height: Int
    public var previousHash: String
    public var bits: UInt32
    /// Suggested time (now, but above the median time past).
    public var time: UInt32
    public var minTime: UInt32
    /// subsidy + fees: the most the coinbase may pay.
    public var coinbaseValue: UInt64
    public var fees: UInt64
    /// Raw transactions in block order (parents before children), highest fee rate first.
    public var transactions: [String]
    public var txids: [String]
    public var mempoolSequence: UInt64
    /// The learning mode's pace (nil from a mempool without it): a miner hashes this template only
    /// if `MiningPace.decision` says `.mine` (paused: no transactions are picked either).
    public var pace: MiningPace?
    /// The minimum interval: no hashing before this Unix time (tip time + minInterval).
    public var notBefore: Double?
    /// For each transaction, the 1-based places in `transactions` of its parents in this template
    /// (Bitcoin Core's getblocktemplate `depends`), ascending; nil from a mempool without it.
    public var depends: [[Int]]?

    public init(height: Int, previousHash: String, bits: UInt32, time: UInt32, minTime: UInt32, coinbaseValue: UInt64,
                fees: UInt64, transactions: [String], txids: [String], mempoolSequence: UInt64,
                pace: MiningPace? = nil, notBefore: Double? = nil, depends: [[Int]]? = nil) {
        self.height = height; self.previousHash = previousHash; self.bits = bits; self.time = time; self.minTime = minTime
        self.coinbaseValue = coinbaseValue; self.fees = fees; self.transactions = transactions; self.txids = txids
        self.mempoolSequence = mempoolSequence; self.pace = pace; self.notBefore = notBefore; self.depends = depends
    }
}

/// Published on mempool `template` when miners should fetch new work.
public struct TemplateNotice: Codable, Sendable, Equatable {
    public var mempoolSequence: UInt64
    public var txCount: Int
    /// Set when the notice is sent because the mining pace changed (the learning mode).
    public var pace: MiningPace?
    public init(mempoolSequence: UInt64, txCount: Int, pace: MiningPace? = nil) {
        self.mempoolSequence = mempoolSequence; self.txCount = txCount; self.pace = pace
    }
}

public struct MinerInfo: Codable, Sendable, Equatable {
    public var id: String
    public var address: String
    public var hashrate: Double
    public var threads: Int
    public var lastSeen: Double
    public init(id: String, address: String, hashrate: Double, threads: Int, lastSeen: Double) {
        self.id = id; self.address = address; self.hashrate = hashrate; self.threads = threads; self.lastSeen = lastSeen
    }
}

// MARK: projected blocks (the explorer's mempool view)

/// `getmempoolblocks` parameters: how many projected blocks at most (the last holds everything
/// left over), and optionally a txid whose projected block to report.
public struct MempoolBlocksRequest: Codable, Sendable {
    public var count: Int?
    public var txid: String?
    public init(count: Int? = nil, txid: String? = nil) { self.count = count; self.txid = txid }
}

/// One projected block, in mempool.space's `/api/v1/fees/mempool-blocks` shape (fee rates in
/// base units per byte; a Cairn byte is a vbyte: there is no witness discount).
public struct MempoolBlock: Codable, Sendable, Equatable {
    public var blockSize: Int
    public var blockVSize: Int
    public var nTx: Int
    public var totalFees: UInt64
    public var medianFee: Double
    /// Minimum, 10th, 25th, 50th, 75th, 90th percentile and maximum fee rate.
    public var feeRange: [Double]

    public init(blockSize: Int, blockVSize: Int, nTx: Int, totalFees: UInt64, medianFee: Double, feeRange: [Double]) {
        self.blockSize = blockSize; self.blockVSize = blockVSize; self.nTx = nTx; self.totalFees = totalFees
        self.medianFee = medianFee; self.feeRange = feeRange
    }
}

public struct MempoolBlocks: Codable, Sendable, Equatable {
    public var blocks: [MempoolBlock]
    /// Index (0 = the next block) of the projected block holding `txid` of the request, if it is in the pool.
    public var txBlock: Int?
    public var mempoolSequence: UInt64

    public init(blocks: [MempoolBlock], txBlock: Int?, mempoolSequence: UInt64) {
        self.blocks = blocks; self.txBlock = txBlock; self.mempoolSequence = mempoolSequence
    }
}

// MARK: charts

/// `getblockstats`: the best chain's last `count` blocks up to `endHeight` (default: the tip).
public struct BlockStatsRequest: Codable, Sendable {
    public var count: Int
    public var endHeight: Int?
    public init(count: Int, endHeight: Int? = nil) { self.count = count; self.endHeight = endHeight }
}

/// One block's numbers for the explorer's charts.
public struct BlockStats: Codable, Sendable, Equatable {
    public var height: Int
    public var time: UInt32
    public var size: Int
    public var txCount: Int
    /// Sum of the fees of its transactions, base units.
    public var fees: UInt64
    public var difficulty: Double
    /// Expected hashes to find a block at its target (2^256 / (target + 1)).
    public var work: Double

    public init(height: Int, time: UInt32, size: Int, txCount: Int, fees: UInt64, difficulty: Double, work: Double) {
        self.height = height; self.time = time; self.size = size; self.txCount = txCount; self.fees = fees
        self.difficulty = difficulty; self.work = work
    }
}

/// `getmempoolsamples`: the mempool's recorded samples since a Unix time.
public struct MempoolSamplesRequest: Codable, Sendable {
    public var since: Double
    public init(since: Double) { self.since = since }
}

/// The mempool's size and fee rates at one moment (it records one every few seconds, keeping a day).
public struct MempoolSample: Codable, Sendable, Equatable {
    public var time: Double
    public var count: Int
    public var bytes: Int
    public var totalFee: UInt64
    /// Median and minimum fee rate of the projected next block (0 when the pool is empty).
    public var nextBlockMedianFee: Double
    public var nextBlockMinFee: Double

    public init(time: Double, count: Int, bytes: Int, totalFee: UInt64, nextBlockMedianFee: Double, nextBlockMinFee: Double) {
        self.time = time; self.count = count; self.bytes = bytes; self.totalFee = totalFee
        self.nextBlockMedianFee = nextBlockMedianFee; self.nextBlockMinFee = nextBlockMinFee
    }
}

// MARK: batched binary submissions (`submittxs`)

/// `submittxs`: many raw transactions in one binary bus request (docs/PROTOCOL.md, "Bus: batched
/// submissions"), one answer per transaction in order, each exactly what `submittx` would have
/// answered for it (its txid, fee and size, or its refusal's code and message). Each transaction
/// is admitted on its own, concurrently, and the reply leaves once every one of them is settled:
/// the accepted ones on disk (the group commit). All integers little-endian; counts and lengths
/// are CompactSize (PROTOCOL §1).
///
///     request: version (1) | count | count × (flags | [receivedAt: u64, IEEE-754 bits] | length | raw bytes)
///     reply:   version (1) | count | count × (0 | txid (32) | fee: u64 | size: u32)
///                                          or (1 | code length | code | message length | message)
///
/// `flags` bit 0: `receivedAt` follows (Unix seconds the edge received it, for the trace); other bits 0.
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
        public init(raw: [UInt8], receivedAt: Double?) { self.raw = raw; self.receivedAt = receivedAt }

        /// Its bytes in a request.
        public var encodedSize: Int { 1 + (receivedAt == nil ? 0 : 8) + ByteWriter.compactSizeLength(raw.count) + raw.count }
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
            w.write(UInt8(item.receivedAt == nil ? 0 : 1))
            if let at = item.receivedAt { w.write(at.bitPattern) }
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
                guard flags & ~1 == 0 else { throw DecodingError.invalid(what: "flags \(flags)") }
                let receivedAt = flags & 1 == 1 ? Double(bitPattern: try r.readUInt64("receivedAt")) : nil
                items.append(Item(raw: try r.readVarBytes("transaction length", limit: maxTransactionBytes), receivedAt: receivedAt))
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
