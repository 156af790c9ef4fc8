import ChainCore
import NodeKit

/// One peer as the bridge knows it: its connection, handshake, score, counters and rate buckets.
struct PeerState {
    let conn: Connection
    var hello: Wire.Hello?
    var verackReceived = false
    var handshaken: Bool { hello != nil && verackReceived }
    /// Handshaken and not on its way out: the peers that are asked, told and counted.
    var isLive: Bool { handshaken && !conn.isClosing }
    var score = 0
    /// The best height it claims (its version, raised by what it announces and sends): whom to ask for blocks.
    var bestHeight = -1
    /// The best height it has shown: the last of its headers that connected to ours (proof of work
    /// checked), or a block we have that it announced, sent or fetched. What the sync reports as the
    /// best peer height (`getsync`, the edge's initial-download checks): a version's claim costs
    /// nothing (a peer claiming 4 billion would hold `getblocktemplate` in "initial sync" on main
    /// for as long as it stayed connected).
    var shownHeight = -1
    /// Blocks and transactions it has (announced, sent, or was told of): never announced to it again.
    var knownInventory = RecentSet<Hash256>(limit: Self.knownInventoryLimit)
    /// Blocks we asked it for (getdata): only these, or blocks whose header we know, may be held as orphans.
    var blocksAsked = RecentSet<Hash256>(limit: Self.blocksAskedLimit)
    /// Per peer, so bounded tighter than the seen-sets (up to 40 peers): a flood's few seconds of
    /// transactions (thousands a second) and the blocks around them, after which an item already
    /// relayed is long out of every mempool's announcements (a repeat costs one `inv` entry).
    static let knownInventoryLimit = 20_000
    /// Sixteen download windows (`BridgeConfig.downloadWindow`, 256 heights) of blocks asked of one
    /// peer: a block we asked for is still recognised as asked when it arrives late, after its
    /// parent's sync moved on, at 32 bytes a hash.
    static let blocksAskedLimit = 4096
    var messages: TokenBucket
    var inventory: TokenBucket
    var pingNonce: UInt64?
    var pingSent: ContinuousClock.Instant?
    /// When the last ping went out (kept after its pong): the next goes out one `pingInterval` later.
    var lastPingAt: ContinuousClock.Instant?
    var pingTime: Double?
    var connectedAt = ServiceSupport.now()
    var lastMessageAt = ServiceSupport.now()
    var messagesIn = 0, messagesOut = 0, bytesIn = 0, bytesOut = 0
    var askedHeaders = false
    /// `getheaders` sent and not yet answered: a `headers` message beyond these was not asked for.
    var headersPending = 0
    var announcedURL: String?
    /// The listen port its version announced, even when the version was refused (for the ban).
    var listenPort: UInt16?
    /// The nonce its version claimed, even when the version was refused (for the ban on loopback).
    var claimedNonce: UInt64?

    init(conn: Connection, messages: TokenBucket, inventory: TokenBucket) {
        self.conn = conn
        self.messages = messages
        self.inventory = inventory
    }

    /// Whether this peer is the node at `url`, as far as we can tell: we dialled `url` on it, or we dialled
    /// the node found at `url` (`nodeAtURL`, learned only from our own dials) over another URL. An inbound
    /// peer's claimed nonce counts only when it also announced `url` as its listen address, so a
    /// stranger claiming a node's nonce does not stop us dialling that node.
    func isNode(at url: String, nodeAtURL: UInt64?) -> Bool {
        guard hello != nil, !conn.isClosing else { return false }
        if conn.dialURL == url { return true }
        guard let n = nodeAtURL, hello?.nonce == n else { return false }
        return conn.direction == .outbound || announcedURL == url
    }
}

extension Connection {
    /// The remote host as it appears in a URL (an IPv6 address bracketed).
    var urlHost: String { Endpoints.urlHost(remoteHost) }
}
