import ChainCore
import Foundation

/// PeerBridge (`peer.rpc`):
///   getpeers Empty → PeerList               getsync Empty → SyncStatus
///   addpeer AddPeer → Empty                 getstatus Empty → ServiceStatus
///   setnetworkactive NetworkActive → NetworkActive  (false: drop every peer, dial none, refuse inbound)

/// Bounds shared by the peer bridge and the chain store's peer queries.
public enum PeerLimits {
    /// Headers in one `headers` message (PROTOCOL §9) and so in one `getheaders` answer, and hashes in
    /// one `getblockstates` (the bridge asks the states of one message's headers at once): Bitcoin
    /// Core's `MAX_HEADERS_RESULTS`, 2000 × 80 bytes = 160 kB, well under a frame, and a sync of
    /// 100,000 blocks takes 50 round trips.
    public static let maxHeaders = 2000
}

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
    /// Bytes sent to it (counted in `bytesOut`) that its connection has not yet written: they pile up
    /// while the peer does not read.
    public var bytesQueued: Int

    public init(id: Int, address: String, direction: String, handshaken: Bool, userAgent: String, protocolVersion: UInt32,
                startHeight: Int, bestHeight: Int, score: Int, connectedAt: Double, lastMessageAt: Double, pingTime: Double?,
                messagesIn: Int, messagesOut: Int, bytesIn: Int, bytesOut: Int, blocksInFlight: Int, bytesQueued: Int = 0) {
        self.id = id; self.address = address; self.direction = direction; self.handshaken = handshaken
        self.userAgent = userAgent; self.protocolVersion = protocolVersion; self.startHeight = startHeight
        self.bestHeight = bestHeight; self.score = score; self.connectedAt = connectedAt; self.lastMessageAt = lastMessageAt
        self.pingTime = pingTime; self.messagesIn = messagesIn; self.messagesOut = messagesOut; self.bytesIn = bytesIn
        self.bytesOut = bytesOut; self.blocksInFlight = blocksInFlight; self.bytesQueued = bytesQueued
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
