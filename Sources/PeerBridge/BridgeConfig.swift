import ChainCore

/// The bridge's limits and timings (flags fill a few; the rest are the defaults).
struct BridgeConfig: Sendable {
    var params: ChainParams
    var listenPort: UInt16
    var listenAddress: String
    var userAgent = "/cairn-peerbridge:0.1/"
    var maxInbound = 32
    var maxOutbound = 8
    var pingInterval: Duration = .seconds(20)
    var handshakeTimeout: Duration = .seconds(10)
    /// A peer still closing this long after its close began (twice the transport's own deadline)
    /// is let go of by `pingAll`.
    var closeDeadline: Duration = Connection.closeDeadline * 2
    var banDuration: Double = 3600
    var blocksInFlightPerPeer = 16
    var maxBlocksInFlight = 64
    var maxOrphans = 512
    /// The orphan pool's bound in bytes as well (blocks are up to 1 MB each).
    var maxOrphanBytes = 32 << 20
    /// Headers kept for the sync at most (blocks connected leave it); beyond, headers are ignored until some connect.
    var maxHeadersKnown = 100_000
    /// Blocks are fetched at most this many heights above the tip, so the blocks waiting for
    /// their parents stay few and the lowest missing one is always asked for first.
    var downloadWindow = 256
    var stallTimeout: Duration = .seconds(15)
    /// Transactions accepted locally are announced together after at most this long.
    var txAnnounceDelay: Duration = .milliseconds(100)
    /// A queued block is given up after this many peers answered `notfound` or stalled on it.
    var maxBlockAttempts = 8
    /// Messages per second a peer may send (burst: 4 s worth).
    var messageRate = 500.0
    /// Inventory items per second a peer may announce (burst: 4 s worth).
    var inventoryRate = 1000.0
    /// Seconds of rate a peer may spend at once.
    var burstSeconds = 4.0
}
