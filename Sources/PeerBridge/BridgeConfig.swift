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
    /// A learned address whose one dial did not keep a connection this long is forgotten (learned
    /// again if peers still announce it): a node that takes us and drops us within a minute is not
    /// worth a slot, while any healthy link outlasts several ping intervals (20 s each).
    var learnedDialMinimum: Duration = .seconds(60)
    /// The sync's progress is logged at most this often: a line a block would flood the log during a
    /// sync (hundreds of blocks a second), and five seconds still shows a stalled one.
    var progressLogInterval: Duration = .seconds(5)

    /// High-water mark of the bridge's subscriptions to the chain store's and the mempool's feeds
    /// (messages queued before ZeroMQ drops): a sync connects thousands of blocks and a flood relays
    /// thousands of transactions a second, and the bridge may be busy with peers meanwhile; what is
    /// dropped beyond it shows as a gap, after which the bridge asks the node its tip again.
    static let followerHWM: Int32 = 100_000
}
