import ChainCore

// The edge's own JSON replies (not Esplora's) that the CLI reads: what the edge serves
// (`Sources/APIEdge`, Routes*.swift) and what `cairn` decodes (`Sources/CairnCLI`), defined once.

/// `GET /api/chain`: the chain and mempool summary.
public struct ChainReply: Codable, Sendable, Equatable {
    public var network: String
    public var height: Int
    public var tip: String
    public var tipTime: UInt32
    public var difficulty: Double
    public var bits: UInt32
    public var chainwork: String
    public var supply: UInt64
    public var supplyCRN: String
    public var utxoCount: Int
    public var mempoolSize: Int
    public var mempoolBytes: Int

    enum CodingKeys: String, CodingKey {
        case network, height, tip, difficulty, bits, chainwork, supply
        case tipTime = "tip_time", supplyCRN = "supply_crn", utxoCount = "utxo_count"
        case mempoolSize = "mempool_size", mempoolBytes = "mempool_bytes"
    }

    public init(network: String, height: Int, tip: String, tipTime: UInt32, difficulty: Double, bits: UInt32, chainwork: String,
                supply: UInt64, supplyCRN: String, utxoCount: Int, mempoolSize: Int, mempoolBytes: Int) {
        self.network = network; self.height = height; self.tip = tip; self.tipTime = tipTime; self.difficulty = difficulty
        self.bits = bits; self.chainwork = chainwork; self.supply = supply; self.supplyCRN = supplyCRN; self.utxoCount = utxoCount
        self.mempoolSize = mempoolSize; self.mempoolBytes = mempoolBytes
    }
}

/// One entry of `GET /api/miners` (and of `/healthz`'s `miners`): a miner that asked for work lately.
public struct MinerReply: Codable, Sendable, Equatable {
    public var id: String
    public var address: String
    public var hashrate: Double
    public var threads: Int
    public var lastSeen: Double
    enum CodingKeys: String, CodingKey { case id, address, hashrate, threads, lastSeen = "last_seen" }

    public init(id: String, address: String, hashrate: Double, threads: Int, lastSeen: Double) {
        self.id = id; self.address = address; self.hashrate = hashrate; self.threads = threads; self.lastSeen = lastSeen
    }

    public init(_ m: MinerInfo) { self.init(id: m.id, address: m.address, hashrate: m.hashrate, threads: m.threads, lastSeen: m.lastSeen) }
}

/// `GET /api/node`: the network, the edge's version and the service endpoints a miner attaches to.
public struct NodeReply: Codable, Sendable, Equatable {
    public struct EndpointsReply: Codable, Sendable, Equatable {
        public var chainRPC: String, chainPub: String, mempoolRPC: String, mempoolPub: String
        enum CodingKeys: String, CodingKey {
            case chainRPC = "chain_rpc", chainPub = "chain_pub", mempoolRPC = "mempool_rpc", mempoolPub = "mempool_pub"
        }
        public init(chainRPC: String, chainPub: String, mempoolRPC: String, mempoolPub: String) {
            self.chainRPC = chainRPC; self.chainPub = chainPub; self.mempoolRPC = mempoolRPC; self.mempoolPub = mempoolPub
        }
    }
    public var network: String
    public var version: String
    public var endpoints: EndpointsReply

    public init(network: String, version: String, endpoints: EndpointsReply) {
        self.network = network; self.version = version; self.endpoints = endpoints
    }
}

/// `GET /api/operator/verify` (`cairn verify`): the chain store's UTXO recomputation and the mempool's
/// consistency check, each with its result or why it could not be asked.
public struct VerifyReply: Codable, Sendable, Equatable {
    public struct Part<T: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
        public var ok: Bool
        public var result: T?
        public var error: String?
        public init(ok: Bool, result: T?, error: String?) { self.ok = ok; self.result = result; self.error = error }
    }
    public var ok: Bool
    public var chain: Part<UTXOCheck>
    public var mempool: Part<MempoolCheck>

    public init(ok: Bool, chain: Part<UTXOCheck>, mempool: Part<MempoolCheck>) { self.ok = ok; self.chain = chain; self.mempool = mempool }
}

/// `GET /api/operator/usage`, `GET /api/usage` (`cairn keys usage`): a key's usage, rows per method
/// and hour, and totals per UTC day.
public struct UsageReply: Codable, Sendable, Equatable {
    public struct Day: Codable, Sendable, Equatable {
        public var day: String
        public var key: String
        public var requests: Int
        public var errors: Int
        public var refused: Int
        public var credits = 0
        public init(day: String, key: String, requests: Int, errors: Int, refused: Int, credits: Int = 0) {
            self.day = day; self.key = key; self.requests = requests; self.errors = errors; self.refused = refused; self.credits = credits
        }
    }
    public var hours: [UsageRow]
    public var days: [Day]
    public init(hours: [UsageRow], days: [Day]) { self.hours = hours; self.days = days }
}

/// `GET /api/mining` and the operator's changes (`cairn mining`, the explorer): the mining pace as shown.
public struct MiningView: Codable, Sendable, Equatable {
    /// "running", "paused" or "stepping" (paused, one block let through).
    public var state: String
    /// Seconds after the tip's time before the next block may be mined (0: none).
    public var minInterval: Double
    /// While stepping: the height of the one block let through.
    public var stepHeight: Int?
    /// Whether the pace can be changed on this node (regtest only).
    public var available: Bool
    public var network: String
    public var revision: UInt64
    public var updatedAt: Double

    public init(_ p: MiningPace, network: Network) {
        state = p.display; minInterval = p.minInterval; stepHeight = p.stepHeight; available = network == .regtest
        self.network = network.rawValue; revision = p.revision; updatedAt = p.updatedAt
    }
}
