/// JSON message types of the services' request methods and internal topics.
/// Hashes and txids are display hex (byte-reversed); raw blocks and
/// transactions are hex of the canonical encoding; amounts are base units.
///
/// ChainStore (`chain.rpc`):
///   getchaininfo Empty → ChainInfo          submitblock SubmitBlock → SubmitBlockResult
///   getheader BlockRef → HeaderInfo         getblock BlockRef → BlockInfo
///   getblocks BlockRange → [HeaderInfo]     gettx TxRef → ConfirmedTx
///   getcoins OutpointList → [CoinInfo?]     getaddress AddressRef → AddressStats
///   getaddressutxos AddressRef → [CoinInfo] getaddresstxs AddressTxsParams → [AddressTx]
///   getlocator Empty → [String]             gettrace TxRef → [TraceEvent]
///   verifyutxo Empty → UTXOCheck            getstatus Empty → ServiceStatus
///   getheaders HeadersRequest → HeadersReply  (best-chain headers after a block locator, for peers)
///   getblockstates HashList → [BlockState?]  ("active", "stored", "invalid" or null per hash)
/// Mempool (`mempool.rpc`):
///   submittx SubmitTx → SubmitTxResult      getmempoolinfo Empty → MempoolInfo
///   testtx SubmitTx → SubmitTxResult        (the same checks as submittx; nothing stored: JSON-RPC testmempoolaccept)
///   getrawmempool Empty → RawMempool        getentry TxRef → MempoolEntry
///   getaddressmempool AddressRef → [MempoolEntry]
///   getblocktemplate TemplateRequest → BlockTemplate
///   getminers Empty → [MinerInfo]           gettrace TxRef → [TraceEvent]
///   getstatus Empty → ServiceStatus
///   getpace Empty → MiningPace              setpace PaceChange → MiningPace  (the learning mode, regtest only)
/// PeerBridge (`peer.rpc`):
///   getpeers Empty → PeerList               getsync Empty → SyncStatus
///   addpeer AddPeer → Empty                 getstatus Empty → ServiceStatus
///   setnetworkactive NetworkActive → NetworkActive  (false: drop every peer, dial none, refuse inbound)

public struct ChainInfo: Codable, Sendable, Equatable {
    public var network: String
    public var height: Int
    public var tipHash: String
    public var tipTime: UInt32
    public var bits: UInt32
    public var difficulty: Double
    public var chainwork: String
    /// Coins created so far (sum of subsidies actually claimed), base units.
    public var supply: UInt64
    public var utxoCount: Int
    public var nextBits: UInt32
    public var medianTimePast: UInt32

    public init(network: String, height: Int, tipHash: String, tipTime: UInt32, bits: UInt32, difficulty: Double,
                chainwork: String, supply: UInt64, utxoCount: Int, nextBits: UInt32, medianTimePast: UInt32) {
        self.network = network; self.height = height; self.tipHash = tipHash; self.tipTime = tipTime
        self.bits = bits; self.difficulty = difficulty; self.chainwork = chainwork; self.supply = supply
        self.utxoCount = utxoCount; self.nextBits = nextBits; self.medianTimePast = medianTimePast
    }
}

/// Published on `tip` after every change of the best chain.
public struct ChainTip: Codable, Sendable, Equatable {
    public var height: Int
    public var hash: String
    public var time: UInt32
    /// Bits and minimum time the next block must have.
    public var nextBits: UInt32
    public var medianTimePast: UInt32

    public init(height: Int, hash: String, time: UInt32, nextBits: UInt32, medianTimePast: UInt32) {
        self.height = height; self.hash = hash; self.time = time; self.nextBits = nextBits; self.medianTimePast = medianTimePast
    }
}

public struct SubmitBlock: Codable, Sendable {
    public var hex: String
    /// Who sends it: "miner:<id>", "peer:<addr>", "cli".
    public var source: String
    public init(hex: String, source: String) { self.hex = hex; self.source = source }
}

public struct SubmitBlockResult: Codable, Sendable, Equatable {
    public var hash: String
    public var accepted: Bool
    /// Why not: a consensus reason code, or "duplicate", "inconclusive" (stored on a side chain).
    public var reason: String?
    public var message: String?
    public var height: Int?
    /// Whether the block is now the tip of the best chain.
    public var isTip: Bool

    public init(hash: String, accepted: Bool, reason: String? = nil, message: String? = nil, height: Int? = nil, isTip: Bool) {
        self.hash = hash; self.accepted = accepted; self.reason = reason; self.message = message; self.height = height; self.isTip = isTip
    }
}

/// A block named by hash or by height on the best chain (exactly one of them).
public struct BlockRef: Codable, Sendable {
    public var hash: String?
    public var height: Int?
    public init(hash: String? = nil, height: Int? = nil) { self.hash = hash; self.height = height }
}

public struct BlockRange: Codable, Sendable {
    /// Newest height to list (default: the tip); lists downwards.
    public var startHeight: Int?
    public var count: Int
    public init(startHeight: Int?, count: Int) { self.startHeight = startHeight; self.count = count }
}

public struct HeaderInfo: Codable, Sendable, Equatable {
    public var hash: String
    public var height: Int
    public var version: Int32
    public var previousHash: String
    public var merkleRoot: String
    public var time: UInt32
    public var bits: UInt32
    public var nonce: UInt32
    public var difficulty: Double
    public var chainwork: String
    public var txCount: Int
    public var size: Int
    /// Whether it is on the best chain (false for a stale branch).
    public var inBestChain: Bool
    public var nextHash: String?

    public init(hash: String, height: Int, version: Int32, previousHash: String, merkleRoot: String, time: UInt32,
                bits: UInt32, nonce: UInt32, difficulty: Double, chainwork: String, txCount: Int, size: Int,
                inBestChain: Bool, nextHash: String?) {
        self.hash = hash; self.height = height; self.version = version; self.previousHash = previousHash
        self.merkleRoot = merkleRoot; self.time = time; self.bits = bits; self.nonce = nonce
        self.difficulty = difficulty; self.chainwork = chainwork; self.txCount = txCount; self.size = size
        self.inBestChain = inBestChain; self.nextHash = nextHash
    }
}

public struct BlockInfo: Codable, Sendable, Equatable {
    public var header: HeaderInfo
    public var hex: String
    public init(header: HeaderInfo, hex: String) { self.header = header; self.hex = hex }
}

public struct TxRef: Codable, Sendable {
    public var txid: String
    public init(txid: String) { self.txid = txid }
}

public struct ConfirmedTx: Codable, Sendable, Equatable {
    public var txid: String
    public var hex: String
    public var blockHash: String
    public var height: Int
    public var position: Int
    public var blockTime: UInt32
    /// Fee paid (0 for a coinbase).
    public var fee: UInt64

    public init(txid: String, hex: String, blockHash: String, height: Int, position: Int, blockTime: UInt32, fee: UInt64) {
        self.txid = txid; self.hex = hex; self.blockHash = blockHash; self.height = height
        self.position = position; self.blockTime = blockTime; self.fee = fee
    }
}

/// Outpoints as "txid:index".
public struct OutpointList: Codable, Sendable {
    public var outpoints: [String]
    public init(outpoints: [String]) { self.outpoints = outpoints }
}

public struct CoinInfo: Codable, Sendable, Equatable {
    public var txid: String
    public var index: UInt32
    public var value: UInt64
    public var publicKey: String
    public var height: Int
    public var coinbase: Bool

    public init(txid: String, index: UInt32, value: UInt64, publicKey: String, height: Int, coinbase: Bool) {
        self.txid = txid; self.index = index; self.value = value; self.publicKey = publicKey
        self.height = height; self.coinbase = coinbase
    }
}

/// An address's 32-byte public key, hex.
public struct AddressRef: Codable, Sendable {
    public var publicKey: String
    public init(publicKey: String) { self.publicKey = publicKey }
}

public struct AddressStats: Codable, Sendable, Equatable {
    public var fundedTxoCount: Int
    public var fundedTxoSum: UInt64
    public var spentTxoCount: Int
    public var spentTxoSum: UInt64
    public var txCount: Int

    public init(fundedTxoCount: Int, fundedTxoSum: UInt64, spentTxoCount: Int, spentTxoSum: UInt64, txCount: Int) {
        self.fundedTxoCount = fundedTxoCount; self.fundedTxoSum = fundedTxoSum
        self.spentTxoCount = spentTxoCount; self.spentTxoSum = spentTxoSum; self.txCount = txCount
    }
}

public struct AddressTxsParams: Codable, Sendable {
    public var publicKey: String
    /// Page after this txid (Esplora's `last_seen_txid`).
    public var afterTxid: String?
    public var limit: Int
    public init(publicKey: String, afterTxid: String?, limit: Int) {
        self.publicKey = publicKey; self.afterTxid = afterTxid; self.limit = limit
    }
}

public struct AddressTx: Codable, Sendable, Equatable {
    public var txid: String
    public var height: Int
    public var blockHash: String
    public var blockTime: UInt32
    public init(txid: String, height: Int, blockHash: String, blockTime: UInt32) {
        self.txid = txid; self.height = height; self.blockHash = blockHash; self.blockTime = blockTime
    }
}

public struct UTXOCheck: Codable, Sendable, Equatable {
    public var ok: Bool
    public var utxoCount: Int
    public var recomputedCount: Int
    public var mismatches: [String]
    public init(ok: Bool, utxoCount: Int, recomputedCount: Int, mismatches: [String]) {
        self.ok = ok; self.utxoCount = utxoCount; self.recomputedCount = recomputedCount; self.mismatches = mismatches
    }
}

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

    public init(height: Int, previousHash: String, bits: UInt32, time: UInt32, minTime: UInt32, coinbaseValue: UInt64,
                fees: UInt64, transactions: [String], txids: [String], mempoolSequence: UInt64,
                pace: MiningPace? = nil, notBefore: Double? = nil) {
        self.height = height; self.previousHash = previousHash; self.bits = bits; self.time = time; self.minTime = minTime
        self.coinbaseValue = coinbaseValue; self.fees = fees; self.transactions = transactions; self.txids = txids
        self.mempoolSequence = mempoolSequence; self.pace = pace; self.notBefore = notBefore
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

/// One step of a transaction's or block's path through the services.
public struct TraceEvent: Codable, Sendable, Equatable {
    /// txid or block hash (display hex).
    public var id: String
    public var kind: TraceKind
    public var stage: TraceStage
    /// A `ServiceName`'s raw value (edge, mempool, chainstore, peerbridge), or miner:<id>.
    public var service: String
    /// Unix seconds with fractions.
    public var time: Double
    public var detail: String?

    public init(id: String, kind: TraceKind, stage: TraceStage, service: String, time: Double, detail: String? = nil) {
        self.id = id; self.kind = kind; self.stage = stage; self.service = service; self.time = time; self.detail = detail
    }

    public init(id: String, kind: TraceKind, stage: TraceStage, service: ServiceName, time: Double, detail: String? = nil) {
        self.init(id: id, kind: kind, stage: stage, service: service.rawValue, time: time, detail: detail)
    }

    /// A row of a service's `trace` table (raw values as stored); nil for a kind or stage this
    /// code does not know.
    public init?(id: String, kind: String, stage: String, service: String, time: Double, detail: String?) {
        guard let k = TraceKind(rawValue: kind), let s = TraceStage(rawValue: stage) else { return nil }
        self.init(id: id, kind: k, stage: s, service: service, time: time, detail: detail)
    }
}

public struct ServiceStatus: Codable, Sendable, Equatable {
    public var service: String
    public var pid: Int32
    public var startedAt: Double
    public var tipHeight: Int
    public var tipHash: String
    public var details: [String: String]

    public init(service: String, pid: Int32, startedAt: Double, tipHeight: Int, tipHash: String, details: [String: String]) {
        self.service = service; self.pid = pid; self.startedAt = startedAt; self.tipHeight = tipHeight
        self.tipHash = tipHash; self.details = details
    }
}

// MARK: peer bridge

/// `getheaders`: a block locator (display hex, newest first), an optional stop hash, how many.
public struct HeadersRequest: Codable, Sendable {
    public var locator: [String]
    public var stop: String?
    public var count: Int
    public init(locator: [String], stop: String? = nil, count: Int) { self.locator = locator; self.stop = stop; self.count = count }
}

/// Raw 80-byte headers (hex) of the best chain, the first at `startHeight`.
public struct HeadersReply: Codable, Sendable, Equatable {
    public var startHeight: Int
    public var headers: [String]
    public init(startHeight: Int, headers: [String]) { self.startHeight = startHeight; self.headers = headers }
}

public struct HashList: Codable, Sendable {
    public var hashes: [String]
    public init(hashes: [String]) { self.hashes = hashes }
}

public struct AddPeer: Codable, Sendable {
    /// ws://host:port
    public var url: String
    public init(url: String) { self.url = url }
}

public struct NetworkActive: Codable, Sendable, Equatable {
    public var active: Bool
    public init(active: Bool) { self.active = active }
}

/// One connected peer, as `getpeers` and `GET /api/peers` show it.
public struct PeerInfo: Codable, Sendable, Equatable {
    public var id: Int
    /// ws://host:port the peer listens on, or its remote address for an inbound peer that announced none.
    public var address: String
    /// "inbound" or "outbound"
    public var direction: String
    public var handshaken: Bool
    public var userAgent: String
    public var protocolVersion: UInt32
    public var startHeight: Int
    public var bestHeight: Int
    public var score: Int
    public var connectedAt: Double
    public var lastMessageAt: Double
    /// Round trip of the last ping, seconds.
    public var pingTime: Double?
    public var messagesIn: Int
    public var messagesOut: Int
    public var bytesIn: Int
    public var bytesOut: Int
    public var blocksInFlight: Int

    public init(id: Int, address: String, direction: String, handshaken: Bool, userAgent: String, protocolVersion: UInt32,
                startHeight: Int, bestHeight: Int, score: Int, connectedAt: Double, lastMessageAt: Double, pingTime: Double?,
                messagesIn: Int, messagesOut: Int, bytesIn: Int, bytesOut: Int, blocksInFlight: Int) {
        self.id = id; self.address = address; self.direction = direction; self.handshaken = handshaken
        self.userAgent = userAgent; self.protocolVersion = protocolVersion; self.startHeight = startHeight
        self.bestHeight = bestHeight; self.score = score; self.connectedAt = connectedAt; self.lastMessageAt = lastMessageAt
        self.pingTime = pingTime; self.messagesIn = messagesIn; self.messagesOut = messagesOut; self.bytesIn = bytesIn
        self.bytesOut = bytesOut; self.blocksInFlight = blocksInFlight
    }
}

public struct BanInfo: Codable, Sendable, Equatable {
    /// The banned identity: an IP, or IP:port for loopback peers (several nodes share 127.0.0.1); the dialled
    /// URL for an outbound peer; `nonce:<hex>` for a peer known only by its handshake nonce.
    public var address: String
    public var reason: String
    public var until: Double
    public init(address: String, reason: String, until: Double) { self.address = address; self.reason = reason; self.until = until }
}

public struct PeerList: Codable, Sendable, Equatable {
    public var listen: String
    public var peers: [PeerInfo]
    public var banned: [BanInfo]
    /// Addresses learned from configuration and address exchange.
    public var known: [String]
    /// Misbehaviour events so far, by offence (e.g. "malformed-message": 2).
    public var offences: [String: Int]
    public init(listen: String, peers: [PeerInfo], banned: [BanInfo], known: [String], offences: [String: Int]) {
        self.listen = listen; self.peers = peers; self.banned = banned; self.known = known; self.offences = offences
    }
}

/// Headers-first sync progress.
public struct SyncStatus: Codable, Sendable, Equatable {
    /// "idle" (nothing to fetch), "headers" (asking for headers), "blocks" (fetching blocks)
    public var state: String
    public var height: Int
    public var tipHash: String
    /// Best height a handshaken peer announced or sent headers for.
    public var bestPeerHeight: Int
    public var headersKnown: Int
    public var blocksQueued: Int
    public var blocksInFlight: Int
    public var orphans: Int
    public var blocksReceived: Int
    public var blocksAccepted: Int
    public var txsReceived: Int
    public var txsAccepted: Int
    /// height / max(height, bestPeerHeight), 0…1
    public var progress: Double

    public init(state: String, height: Int, tipHash: String, bestPeerHeight: Int, headersKnown: Int, blocksQueued: Int,
                blocksInFlight: Int, orphans: Int, blocksReceived: Int, blocksAccepted: Int, txsReceived: Int, txsAccepted: Int,
                progress: Double) {
        self.state = state; self.height = height; self.tipHash = tipHash; self.bestPeerHeight = bestPeerHeight
        self.headersKnown = headersKnown; self.blocksQueued = blocksQueued; self.blocksInFlight = blocksInFlight
        self.orphans = orphans; self.blocksReceived = blocksReceived; self.blocksAccepted = blocksAccepted
        self.txsReceived = txsReceived; self.txsAccepted = txsAccepted; self.progress = progress
    }
}

// MARK: spends (the explorer's "spent by")

/// Which input of which transaction spends an outpoint: `getspends` (chain store, confirmed
/// spenders with their block) and `getspenders` (mempool, unconfirmed; no height or block).
public struct SpendInfo: Codable, Sendable, Equatable {
    /// The outpoint spent, "txid:index".
    public var outpoint: String
    /// The spending transaction and the index of its input.
    public var txid: String
    public var vin: UInt32
    /// The block holding the spender (chain store only).
    public var height: Int?
    public var blockHash: String?
    public var blockTime: UInt32?

    public init(outpoint: String, txid: String, vin: UInt32, height: Int? = nil, blockHash: String? = nil, blockTime: UInt32? = nil) {
        self.outpoint = outpoint; self.txid = txid; self.vin = vin
        self.height = height; self.blockHash = blockHash; self.blockTime = blockTime
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
