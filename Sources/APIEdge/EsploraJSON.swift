import ChainCore
import Foundation
import NodeKit

// Esplora-shaped response bodies (snake_case field names, amounts in base units).

struct EsploraBlock: Codable, Sendable, Equatable {
    var id: String
    var height: Int
    var version: Int32
    var timestamp: UInt32
    var txCount: Int
    var size: Int
    var merkleRoot: String
    /// nil (JSON null) for the genesis block.
    var previousblockhash: String?
    var nonce: UInt32
    var bits: UInt32
    var difficulty: Double
    var chainwork: String
    var inBestChain: Bool

    enum CodingKeys: String, CodingKey {
        case id, height, version, timestamp, size, nonce, bits, difficulty, chainwork, previousblockhash
        case txCount = "tx_count", merkleRoot = "merkle_root", inBestChain = "in_best_chain"
    }

    init(_ h: HeaderInfo) {
        id = h.hash; height = h.height; version = h.version; timestamp = h.time; txCount = h.txCount; size = h.size
        merkleRoot = h.merkleRoot
        previousblockhash = (h.height == 0 || h.previousHash.allSatisfy { $0 == "0" }) ? nil : h.previousHash
        nonce = h.nonce; bits = h.bits; difficulty = h.difficulty; chainwork = h.chainwork; inBestChain = h.inBestChain
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id); try c.encode(height, forKey: .height); try c.encode(version, forKey: .version)
        try c.encode(timestamp, forKey: .timestamp); try c.encode(txCount, forKey: .txCount); try c.encode(size, forKey: .size)
        try c.encode(merkleRoot, forKey: .merkleRoot); try c.encode(previousblockhash, forKey: .previousblockhash)
        try c.encode(nonce, forKey: .nonce); try c.encode(bits, forKey: .bits); try c.encode(difficulty, forKey: .difficulty)
        try c.encode(chainwork, forKey: .chainwork); try c.encode(inBestChain, forKey: .inBestChain)
    }
}

struct EsploraBlockStatus: Codable, Sendable, Equatable {
    var inBestChain: Bool
    var height: Int
    var nextBest: String?

    enum CodingKeys: String, CodingKey { case inBestChain = "in_best_chain", height, nextBest = "next_best" }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(inBestChain, forKey: .inBestChain); try c.encode(height, forKey: .height); try c.encode(nextBest, forKey: .nextBest)
    }
}

/// `{confirmed, block_height?, block_hash?, block_time?}` (only `confirmed` when unconfirmed, as Esplora).
struct EsploraTxStatus: Codable, Sendable, Equatable {
    var confirmed: Bool
    var blockHeight: Int?
    var blockHash: String?
    var blockTime: UInt32?

    enum CodingKeys: String, CodingKey { case confirmed, blockHeight = "block_height", blockHash = "block_hash", blockTime = "block_time" }

    static let unconfirmed = EsploraTxStatus(confirmed: false)

    static func confirmed(height: Int, hash: String?, time: UInt32?) -> EsploraTxStatus {
        EsploraTxStatus(confirmed: true, blockHeight: height, blockHash: hash, blockTime: time)
    }
}

struct EsploraOutput: Codable, Sendable, Equatable {
    var value: UInt64
    var pubkey: String
    var address: String

    init(value: UInt64, pubkey: String, address: String) { self.value = value; self.pubkey = pubkey; self.address = address }

    init(_ o: TxOutput, network: Network) {
        value = o.value
        pubkey = Hex.encode(o.publicKey)
        address = o.publicKey.count == Limits.publicKeySize ? Address(publicKey: o.publicKey, network: network).string : ""
    }
}

struct EsploraInput: Codable, Sendable, Equatable {
    var txid: String
    var vout: UInt32
    var isCoinbase: Bool
    var prevout: EsploraOutput?
    /// Hex of the 64-byte signature (ordinary input).
    var signature: String?
    /// Hex of the coinbase payload (coinbase input).
    var coinbase: String?

    enum CodingKeys: String, CodingKey { case txid, vout, isCoinbase = "is_coinbase", prevout, signature, coinbase }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(txid, forKey: .txid); try c.encode(vout, forKey: .vout); try c.encode(isCoinbase, forKey: .isCoinbase)
        try c.encode(prevout, forKey: .prevout)
        try c.encodeIfPresent(signature, forKey: .signature); try c.encodeIfPresent(coinbase, forKey: .coinbase)
    }
}

struct EsploraTx: Codable, Sendable, Equatable {
    var txid: String
    var version: UInt32
    var size: Int
    var fee: UInt64
    var vin: [EsploraInput]
    var vout: [EsploraOutput]
    var status: EsploraTxStatus

    /// Builds the Esplora object; `fee` nil means "compute from the prevouts" (0 if one is unknown).
    init(_ tx: Transaction, txid: Hash256, fee: UInt64?, status: EsploraTxStatus, prevouts: [OutPoint: TxOutput], network: Network) {
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

struct EsploraAddressStats: Codable, Sendable, Equatable {
    var fundedTxoCount: Int
    var fundedTxoSum: UInt64
    var spentTxoCount: Int
    var spentTxoSum: UInt64
    var txCount: Int

    enum CodingKeys: String, CodingKey {
        case fundedTxoCount = "funded_txo_count", fundedTxoSum = "funded_txo_sum"
        case spentTxoCount = "spent_txo_count", spentTxoSum = "spent_txo_sum", txCount = "tx_count"
    }

    init(fundedTxoCount: Int, fundedTxoSum: UInt64, spentTxoCount: Int, spentTxoSum: UInt64, txCount: Int) {
        self.fundedTxoCount = fundedTxoCount; self.fundedTxoSum = fundedTxoSum
        self.spentTxoCount = spentTxoCount; self.spentTxoSum = spentTxoSum; self.txCount = txCount
    }

    init(_ s: AddressStats) {
        self.init(fundedTxoCount: s.fundedTxoCount, fundedTxoSum: s.fundedTxoSum, spentTxoCount: s.spentTxoCount,
                  spentTxoSum: s.spentTxoSum, txCount: s.txCount)
    }

    /// Stats of an address's unconfirmed activity, from the mempool entries touching it.
    init(mempool entries: [MempoolEntry], key: [UInt8]) {
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

struct EsploraAddress: Codable, Sendable, Equatable {
    var address: String
    var chainStats: EsploraAddressStats
    var mempoolStats: EsploraAddressStats

    enum CodingKeys: String, CodingKey { case address, chainStats = "chain_stats", mempoolStats = "mempool_stats" }
}

struct EsploraUTXO: Codable, Sendable, Equatable {
    var txid: String
    var vout: UInt32
    var value: UInt64
    var status: EsploraTxStatus
    /// Cairn's addition to Esplora's shape: a coinbase output can't be spent until it matures
    /// (the network's coinbase maturity, PROTOCOL.md), so a wallet must know which coins are coinbases.
    var coinbase: Bool
}

struct EsploraMempool: Codable, Sendable, Equatable {
    var count: Int
    var vsize: Int
    var totalFee: UInt64
    var feeHistogram: [[Double]]

    enum CodingKeys: String, CodingKey { case count, vsize, totalFee = "total_fee", feeHistogram = "fee_histogram" }
}

/// Esplora's `/tx/:txid/outspend/:vout`: `{spent: false}`, or `{spent: true, txid, vin, status}`
/// (status `{confirmed: false}` for a spender still in the mempool).
struct EsploraOutspend: Codable, Sendable, Equatable {
    var spent: Bool
    var txid: String?
    var vin: UInt32?
    var status: EsploraTxStatus?

    static let unspent = EsploraOutspend(spent: false)

    init(spent: Bool, txid: String? = nil, vin: UInt32? = nil, status: EsploraTxStatus? = nil) {
        self.spent = spent; self.txid = txid; self.vin = vin; self.status = status
    }

    /// The chain's spender wins over the mempool's (a block can confirm one while the pool still lists it).
    init(chain: SpendInfo?, mempool: SpendInfo?) {
        if let c = chain {
            self.init(spent: true, txid: c.txid, vin: c.vin,
                      status: c.height.map { .confirmed(height: $0, hash: c.blockHash, time: c.blockTime) } ?? .unconfirmed)
        } else if let m = mempool {
            self.init(spent: true, txid: m.txid, vin: m.vin, status: .unconfirmed)
        } else {
            self = .unspent
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(spent, forKey: .spent)
        try c.encodeIfPresent(txid, forKey: .txid); try c.encodeIfPresent(vin, forKey: .vin); try c.encodeIfPresent(status, forKey: .status)
    }
}

/// Decodes a service's raw transaction hex.
func decodeTx(_ hex: String) throws -> Transaction {
    guard let raw = Hex.decode(hex) else { throw APIError(.badGateway, "backend-error", "a service returned a transaction that is not hex") }
    do {
        return try Transaction(bytes: raw)
    } catch {
        throw APIError(.badGateway, "backend-error", "a service returned an undecodable transaction: \(error)")
    }
}
