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
///   getblocktemplatebin (binary) TemplateRequest → TemplateBinary payload (the node's miner's template, raw transactions)
///   getminers Empty → [MinerInfo]           gettrace TxRef → [TraceEvent]
///   getstatus Empty → ServiceStatus
///   getpace Empty → MiningPace              setpace PaceChange → MiningPace  (the learning mode, regtest only)

public struct SubmitTx: Codable, Sendable {
    public var hex: String
    /// When the edge received it (Unix seconds), for the trace.
    public var receivedAt: Double?
    /// The highest fee (base units) it may pay, else refused `max-fee-exceeded` (JSON-RPC
    /// `sendrawtransaction` and `testmempoolaccept`'s `maxfeerate` for its size); nil: no limit.
    public var maxFee: UInt64?
    public init(hex: String, receivedAt: Double?, maxFee: UInt64? = nil) { self.hex = hex; self.receivedAt = receivedAt; self.maxFee = maxFee }
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
