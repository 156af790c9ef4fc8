import ChainCore
import Foundation

/// JSON message types of the services' request methods and internal topics, one file per
/// service (ChainMessages, MempoolMessages, PeerMessages, AccountsMessages, PortalMessages) and
/// this one for what they share. Hashes and txids are display hex (byte-reversed); raw blocks and
/// transactions are hex of the canonical encoding; amounts are base units.

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

    public init(service: ServiceName, pid: Int32, startedAt: Double, tipHeight: Int, tipHash: String, details: [String: String]) {
        self.service = service.rawValue; self.pid = pid; self.startedAt = startedAt; self.tipHeight = tipHeight
        self.tipHash = tipHash; self.details = details
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
