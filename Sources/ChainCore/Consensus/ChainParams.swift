import BigInt

/// The three networks Cairn knows.
public enum Network: String, CaseIterable, Sendable, Codable {
    case main
    case testnet
    case regtest

    public var params: ChainParams {
        switch self {
        case .main: return .main
        case .testnet: return .testnet
        case .regtest: return .regtest
        }
    }
}

/// Every per-network consensus parameter, in one place.
public struct ChainParams: Sendable {
    public let network: Network
    /// Four bytes that start every peer message and enter every signature hash.
    public let magic: [UInt8]
    /// bech32m human-readable prefix of addresses.
    public let addressPrefix: String
    /// Easiest allowed target (minimum difficulty), as compact bits.
    public let powLimitBits: UInt32
    /// Intended seconds between blocks.
    public let targetSpacing: Int64
    /// Blocks between difficulty adjustments.
    public let retargetInterval: Int
    /// Regtest: the difficulty never changes.
    public let noRetargeting: Bool
    /// Blocks before a coinbase output can be spent.
    public let coinbaseMaturity: Int
    /// Blocks between subsidy halvings.
    public let halvingInterval: Int
    public let initialSubsidy: Amount
    /// The genesis block (its coinbase outputs are never spendable).
    public let genesis: Block

    public var powLimit: BigUInt { CompactTarget.decode(powLimitBits).target }
    public var genesisHash: Hash256 { genesis.hash }
    /// Seconds a block's time may be ahead of the validating node's clock.
    public static let maxFutureBlockTime: Int64 = 2 * 60 * 60
    /// Blocks whose median time a new block must exceed.
    public static let medianTimeSpan = 11
    /// No amount anywhere may exceed this (21 million CRN).
    public static let maxMoney: Amount = 21_000_000 * Units.perCoin

    /// Block subsidy at a height: halves every `halvingInterval`, zero after 64 halvings.
    public func subsidy(height: Int) -> Amount {
        let halvings = height / halvingInterval
        return halvings >= 64 ? 0 : initialSubsidy >> UInt64(halvings)
    }

    /// Total coins that can ever be created by subsidies (genesis pays nothing).
    public var maxSupply: Amount {
        var total: Amount = 0
        var h = 1
        while true {
            let s = subsidy(height: h)
            if s == 0 { break }
            let nextHalving = (h / halvingInterval + 1) * halvingInterval
            total += s * Amount(nextHalving - h)
            h = nextHalving
        }
        return total
    }

    public static func named(_ name: String) -> ChainParams? { Network(rawValue: name)?.params }
}

extension ChainParams {
    public static let main = ChainParams(
        network: .main, magic: [0xc4, 0x1e, 0x52, 0x4e], addressPrefix: "crn",
        powLimitBits: 0x1e0f_ffff, targetSpacing: 60, retargetInterval: 720, noRetargeting: false,
        coinbaseMaturity: 100, halvingInterval: 210_000, initialSubsidy: 50 * Units.perCoin,
        genesis: Genesis.block(network: .main, time: Genesis.time, bits: 0x1e0f_ffff, nonce: Genesis.nonces[.main]!))

    public static let testnet = ChainParams(
        network: .testnet, magic: [0xc4, 0x1e, 0x54, 0x4e], addressPrefix: "tcrn",
        powLimitBits: 0x1f00_ffff, targetSpacing: 30, retargetInterval: 120, noRetargeting: false,
        coinbaseMaturity: 20, halvingInterval: 210_000, initialSubsidy: 50 * Units.perCoin,
        genesis: Genesis.block(network: .testnet, time: Genesis.time, bits: 0x1f00_ffff, nonce: Genesis.nonces[.testnet]!))

    public static let regtest = ChainParams(
        network: .regtest, magic: [0xc4, 0x1e, 0x72, 0x4e], addressPrefix: "rcrn",
        powLimitBits: 0x207f_ffff, targetSpacing: 1, retargetInterval: 1, noRetargeting: true,
        coinbaseMaturity: 10, halvingInterval: 150, initialSubsidy: 50 * Units.perCoin,
        genesis: Genesis.block(network: .regtest, time: Genesis.time, bits: 0x207f_ffff, nonce: Genesis.nonces[.regtest]!))
}

/// How the genesis blocks are built. `docs/PROTOCOL.md` gives the same recipe.
public enum Genesis {
    /// 2026-11-25 00:00:00 UTC.
    public static let time: UInt32 = 1_795_564_800
    /// Found once by scanning nonces from 0 (see the test that re-checks them).
    public static let nonces: [Network: UInt32] = [.main: 213_765, .testnet: 29_185, .regtest: 0]

    public static func message(network: Network) -> String {
        "Cairn \(network.rawValue) genesis 2026-11-25: keys stay in the browser"
    }

    public static func coinbase(network: Network) -> Transaction {
        var payload: [UInt8] = [0, 0, 0, 0]  // height 0
        payload += Array(message(network: network).utf8)
        return Transaction(
            inputs: [TxInput(previousOutput: .null, payload: payload)],
            outputs: [TxOutput(value: 0, publicKey: [UInt8](repeating: 0, count: 32))])
    }

    public static func block(network: Network, time: UInt32, bits: UInt32, nonce: UInt32) -> Block {
        let cb = coinbase(network: network)
        let header = BlockHeader(version: 1, previousHash: .zero, merkleRoot: Merkle.root([cb.txid]).root,
                                 time: time, bits: bits, nonce: nonce)
        return Block(header: header, transactions: [cb])
    }
}
