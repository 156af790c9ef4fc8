import ChainCore
import Foundation

// Esplora-shaped response bodies (snake_case field names, amounts in base units): what the edge
// serves (`Sources/APIEdge`) and what `cairn wallet` reads (`Sources/CairnCLI`), defined once.

public struct EsploraBlock: Codable, Sendable, Equatable {
    public var id: String
    public var height: Int
    public var version: Int32
    public var timestamp: UInt32
    public var txCount: Int
    public var size: Int
    public var merkleRoot: String
    /// nil (JSON null) for the genesis block.
    public var previousblockhash: String?
    public var nonce: UInt32
    public var bits: UInt32
    public var difficulty: Double
    public var chainwork: String
    public var inBestChain: Bool

    enum CodingKeys: String, CodingKey {
        case id, height, version, timestamp, size, nonce, bits, difficulty, chainwork, previousblockhash
        case txCount = "tx_count", merkleRoot = "merkle_root", inBestChain = "in_best_chain"
    }

    public init(_ h: HeaderInfo) {
        id = h.hash; height = h.height; version = h.version; timestamp = h.time; txCount = h.txCount; size = h.size
        merkleRoot = h.merkleRoot
        previousblockhash = (h.height == 0 || h.previousHash.allSatisfy { $0 == "0" }) ? nil : h.previousHash
        nonce = h.nonce; bits = h.bits; difficulty = h.difficulty; chainwork = h.chainwork; inBestChain = h.inBestChain
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id); try c.encode(height, forKey: .height); try c.encode(version, forKey: .version)
        try c.encode(timestamp, forKey: .timestamp); try c.encode(txCount, forKey: .txCount); try c.encode(size, forKey: .size)
        try c.encode(merkleRoot, forKey: .merkleRoot); try c.encode(previousblockhash, forKey: .previousblockhash)
        try c.encode(nonce, forKey: .nonce); try c.encode(bits, forKey: .bits); try c.encode(difficulty, forKey: .difficulty)
        try c.encode(chainwork, forKey: .chainwork); try c.encode(inBestChain, forKey: .inBestChain)
    }
}

public struct EsploraBlockStatus: Codable, Sendable, Equatable {
    public var inBestChain: Bool
    public var height: Int
    public var nextBest: String?


    public init(inBestChain: Bool, height: Int, nextBest: String?) {
        self.inBestChain = inBestChain; self.height = height; self.nextBest = nextBest
    }
    enum CodingKeys: String, CodingKey { case inBestChain = "in_best_chain", height, nextBest = "next_best" }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(inBestChain, forKey: .inBestChain); try c.encode(height, forKey: .height); try c.encode(nextBest, forKey: .nextBest)
    }
}

/// `{confirmed, block_height?, block_hash?, block_time?}` (only `confirmed` when unconfirmed, as Esplora).
public struct EsploraTxStatus: Codable, Sendable, Equatable {
    public var confirmed: Bool
    public var blockHeight: Int?
    public var blockHash: String?
    public var blockTime: UInt32?


    public init(confirmed: Bool, blockHeight: Int? = nil, blockHash: String? = nil, blockTime: UInt32? = nil) {
        self.confirmed = confirmed; self.blockHeight = blockHeight; self.blockHash = blockHash; self.blockTime = blockTime
    }
    enum CodingKeys: String, CodingKey { case confirmed, blockHeight = "block_height", blockHash = "block_hash", blockTime = "block_time" }

    public static let unconfirmed = EsploraTxStatus(confirmed: false)

    public static func confirmed(height: Int, hash: String?, time: UInt32?) -> EsploraTxStatus {
        EsploraTxStatus(confirmed: true, blockHeight: height, blockHash: hash, blockTime: time)
    }
}

public struct EsploraOutput: Codable, Sendable, Equatable {
    public var value: UInt64
    public var pubkey: String
    public var address: String

    public init(value: UInt64, pubkey: String, address: String) { self.value = value; self.pubkey = pubkey; self.address = address }

    public init(_ o: TxOutput, network: Network) {
        value = o.value
        pubkey = Hex.encode(o.publicKey)
        address = o.publicKey.count == Limits.publicKeySize ? Address(publicKey: o.publicKey, network: network).string : ""
    }
}

public struct EsploraInput: Codable, Sendable, Equatable {
    public var txid: String
    public var vout: UInt32
    public var isCoinbase: Bool
    public var prevout: EsploraOutput?
    /// Hex of the 64-byte signature (ordinary input).
    public var signature: String?
    /// Hex of the coinbase payload (coinbase input).
    public var coinbase: String?


    public init(txid: String, vout: UInt32, isCoinbase: Bool, prevout: EsploraOutput?, signature: String? = nil, coinbase: String? = nil) {
        self.txid = txid; self.vout = vout; self.isCoinbase = isCoinbase; self.prevout = prevout; self.signature = signature; self.coinbase = coinbase
    }
    enum CodingKeys: String, CodingKey { case txid, vout, isCoinbase = "is_coinbase", prevout, signature, coinbase }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(txid, forKey: .txid); try c.encode(vout, forKey: .vout); try c.encode(isCoinbase, forKey: .isCoinbase)
        try c.encode(prevout, forKey: .prevout)
        try c.encodeIfPresent(signature, forKey: .signature); try c.encodeIfPresent(coinbase, forKey: .coinbase)
    }
}

public struct EsploraTx: Codable, Sendable, Equatable {
    public var txid: String
    public var version: UInt32
    public var size: Int
    public var fee: UInt64
    public var vin: [EsploraInput]
    public var vout: [EsploraOutput]
    public var status: EsploraTxStatus

    public init(txid: String, version: UInt32, size: Int, fee: UInt64, vin: [EsploraInput], vout: [EsploraOutput], status: EsploraTxStatus) {
        self.txid = txid; self.version = version; self.size = size; self.fee = fee; self.vin = vin; self.vout = vout; self.status = status
    }

    /// Builds the Esplora object; `fee` nil means "compute from the prevouts" (0 if one is unknown).
    public init(_ tx: Transaction, txid: Hash256, fee: UInt64?, status: EsploraTxStatus, prevouts: [OutPoint: TxOutput], network: Network) {
        self.txid = txid.hex
        version = tx.version
        size = tx.encodedSize
        vin = tx.inputs.map { input in
            let cb = input.previousOutput.isNull
            return EsploraInput(txid: input.previousOutput.txid.hex, vout: input.previousOutput.index, isCoinbase: cb,
                                prevout: prevouts[input.previousOutput].map { EsploraOutput($0, network: network) },
                                signature: cb ? nil : Hex.encode(input.payload), coinbase: cb ? Hex.encode(input.payload) : nil)
        }
        vout = tx.outputs.map { EsploraOutput($0, network: network) }
        if let fee {
            self.fee = fee
        } else if tx.isCoinbase {
            self.fee = 0
        } else {
            let ins = tx.inputs.compactMap { prevouts[$0.previousOutput]?.value }
            let inSum = ins.reduce(UInt64(0)) { $0 &+ $1 }
            let outSum = tx.outputs.reduce(UInt64(0)) { $0 &+ $1.value }
            self.fee = ins.count == tx.inputs.count && inSum >= outSum ? inSum - outSum : 0
        }
        self.status = status
    }
}

public struct EsploraAddressStats: Codable, Sendable, Equatable {
    public var fundedTxoCount: Int
    public var fundedTxoSum: UInt64
    public var spentTxoCount: Int
    public var spentTxoSum: UInt64
    public var txCount: Int

    enum CodingKeys: String, CodingKey {
        case fundedTxoCount = "funded_txo_count", fundedTxoSum = "funded_txo_sum"
        case spentTxoCount = "spent_txo_count", spentTxoSum = "spent_txo_sum", txCount = "tx_count"
    }

    public init(fundedTxoCount: Int, fundedTxoSum: UInt64, spentTxoCount: Int, spentTxoSum: UInt64, txCount: Int) {
        self.fundedTxoCount = fundedTxoCount; self.fundedTxoSum = fundedTxoSum
        self.spentTxoCount = spentTxoCount; self.spentTxoSum = spentTxoSum; self.txCount = txCount
    }

    public init(_ s: AddressStats) {
        self.init(fundedTxoCount: s.fundedTxoCount, fundedTxoSum: s.fundedTxoSum, spentTxoCount: s.spentTxoCount,
                  spentTxoSum: s.spentTxoSum, txCount: s.txCount)
    }

    /// Stats of an address's unconfirmed activity, from the mempool entries touching it.
    public init(mempool entries: [MempoolEntry], key: [UInt8]) {
        let keyHex = Hex.encode(key)
        var fn = 0, fs: UInt64 = 0, sn = 0, ss: UInt64 = 0
        for e in entries {
            if let raw = Hex.decode(e.hex), let tx = try? Transaction(bytes: raw) {
                for o in tx.outputs where o.publicKey == key { fn += 1; fs &+= o.value }
            }
            for c in e.spent where c.publicKey.lowercased() == keyHex { sn += 1; ss &+= c.value }
        }
        self.init(fundedTxoCount: fn, fundedTxoSum: fs, spentTxoCount: sn, spentTxoSum: ss, txCount: entries.count)
    }
}

public struct EsploraAddress: Codable, Sendable, Equatable {
    public var address: String
    public var chainStats: EsploraAddressStats
    public var mempoolStats: EsploraAddressStats


    public init(address: String, chainStats: EsploraAddressStats, mempoolStats: EsploraAddressStats) {
        self.address = address; self.chainStats = chainStats; self.mempoolStats = mempoolStats
    }
    enum CodingKeys: String, CodingKey { case address, chainStats = "chain_stats", mempoolStats = "mempool_stats" }
}

public struct EsploraUTXO: Codable, Sendable, Equatable {
    public var txid: String
    public var vout: UInt32
    public var value: UInt64
    public var status: EsploraTxStatus
    /// Cairn's addition to Esplora's shape: a coinbase output can't be spent until it matures
    /// (the network's coinbase maturity, PROTOCOL.md), so a wallet must know which coins are coinbases.
    public var coinbase: Bool

    public init(txid: String, vout: UInt32, value: UInt64, status: EsploraTxStatus, coinbase: Bool) {
        self.txid = txid; self.vout = vout; self.value = value; self.status = status; self.coinbase = coinbase
    }
}

public struct EsploraMempool: Codable, Sendable, Equatable {
    public var count: Int
    public var vsize: Int
    public var totalFee: UInt64
    public var feeHistogram: [[Double]]


    public init(count: Int, vsize: Int, totalFee: UInt64, feeHistogram: [[Double]]) {
        self.count = count; self.vsize = vsize; self.totalFee = totalFee; self.feeHistogram = feeHistogram
    }
    enum CodingKeys: String, CodingKey { case count, vsize, totalFee = "total_fee", feeHistogram = "fee_histogram" }
}

/// Esplora's `/tx/:txid/outspend/:vout`: `{spent: false}`, or `{spent: true, txid, vin, status}`
/// (status `{confirmed: false}` for a spender still in the mempool).
public struct EsploraOutspend: Codable, Sendable, Equatable {
    public var spent: Bool
    public var txid: String?
    public var vin: UInt32?
    public var status: EsploraTxStatus?

    public static let unspent = EsploraOutspend(spent: false)

    public init(spent: Bool, txid: String? = nil, vin: UInt32? = nil, status: EsploraTxStatus? = nil) {
        self.spent = spent; self.txid = txid; self.vin = vin; self.status = status
    }

    /// The chain's spender wins over the mempool's (a block can confirm one while the pool still lists it).
    public init(chain: SpendInfo?, mempool: SpendInfo?) {
        if let c = chain {
            self.init(spent: true, txid: c.txid, vin: c.vin,
                      status: c.height.map { .confirmed(height: $0, hash: c.blockHash, time: c.blockTime) } ?? .unconfirmed)
        } else if let m = mempool {
            self.init(spent: true, txid: m.txid, vin: m.vin, status: .unconfirmed)
        } else {
            self = .unspent
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(spent, forKey: .spent)
        try c.encodeIfPresent(txid, forKey: .txid); try c.encodeIfPresent(vin, forKey: .vin); try c.encodeIfPresent(status, forKey: .status)
    }
}
