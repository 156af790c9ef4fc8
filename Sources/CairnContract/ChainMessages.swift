import ChainCore
import Foundation

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
///   getrawblocks RawBlocksRequest → RawBlocks  (stored blocks by hash in one round trip, for a peer's getdata)
//
// The chain store's spends (`getspends`) answer `SpendInfo` (Messages.swift).

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
    /// The most outpoints one `getcoins` or `getspends` call takes; a caller with more splits them.
    public static let maxCount = 10_000
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

/// `getrawblocks`: stored blocks by hash (display hex), looked up in order in one call (the peer
/// bridge's answer to a peer's `getdata`). At most `maxHashes` hashes.
public struct RawBlocksRequest: Codable, Sendable {
    /// Hashes per call at most (a longer list is refused `bad-params`).
    public static let maxHashes = 64
    /// The blocks of one reply hold at most this many bytes (raw), except that a reply holds at least the
    /// first block found however large: the lookup stops before a block that would go past it.
    public static let maxBytes = 4_000_000
    public var hashes: [String]
    public init(hashes: [String]) { self.hashes = hashes }
}

public struct RawBlocks: Codable, Sendable, Equatable {
    /// The blocks found among the hashes looked at, in request order.
    public var blocks: [RawBlock]
    /// How many of the hashes asked, from the first, were looked at: all of them unless the byte bound
    /// stopped the lookup (ask again for the rest). Those looked at and not in `blocks` are unknown
    /// or have no stored body.
    public var looked: Int
    public init(blocks: [RawBlock], looked: Int) { self.blocks = blocks; self.looked = looked }
}

/// A stored block: its hash (display hex) and its bytes (hex).
public struct RawBlock: Codable, Sendable, Equatable {
    public var hash: String
    public var hex: String
    public init(hash: String, hex: String) { self.hash = hash; self.hex = hex }
}
