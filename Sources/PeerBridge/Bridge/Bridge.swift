import Bus
import ChainCore
import Foundation
import Logging
import NodeKit

/// The peer bridge: decodes each peer's messages and dispatches them to its rooms, the plain values it
/// owns (`PeerTable`, `BanList`, `AddressBook`, `SeenSets`, `TxDownload`, `Announcer`, `HeaderTree`,
/// `BlockDownload`, `OrphanPool`; see docs/ARCHITECTURE.md, "The peer bridge's rooms"). The rooms are
/// changed only by synchronous calls; this actor is the only code that awaits the local node.
/// Messages of one peer are handled in order (its reader awaits each); several
/// peers interleave at awaits, so every check made before an await is made again after it.
actor Bridge {
    let config: BridgeConfig
    let node: any LocalNode
    let logger: Logger
    let trace: (@Sendable (String, TraceKind, TraceStage, String?) -> Void)?
    nonisolated let nonce = UInt64.random(in: 1...UInt64.max)
    private var nextID = 1
    var peers = PeerTable()
    var banList: BanList
    /// Addresses to dial: configured (kept forever) and learned.
    var addressBook = AddressBook()
    /// False after `setnetworkactive false`: no peers, no dialling, inbound refused (Bitcoin Core's `setnetworkactive`).
    var networkActive = true

    // Relay
    var seen = SeenSets()
    var txDownload = TxDownload()
    var announcer = Announcer()

    // Sync
    var tipHeight = 0
    var tipHash = Hash256.zero
    /// Counts `tipChanged` calls, so `refreshTip` can tell its answer was overtaken while it waited.
    var tipChanges = 0
    /// The best height shown by the peers connected now (their headers or blocks, not a version's
    /// claim; a peer gone takes it with it).
    var bestPeerHeight: Int { peers.bestShownHeight }
    var headerTree: HeaderTree
    var blockDownload: BlockDownload
    var orphans: OrphanPool
    var counters = (blocksReceived: 0, blocksAccepted: 0, txsReceived: 0, txsAccepted: 0)
    var lastProgressLog = ContinuousClock.now
    var lastLoggedHeight = 0

    init(config: BridgeConfig, node: any LocalNode, logger: Logger,
         trace: (@Sendable (String, TraceKind, TraceStage, String?) -> Void)? = nil) {
        self.config = config
        self.node = node
        self.logger = logger
        self.trace = trace
        banList = BanList(duration: config.banDuration)
        headerTree = HeaderTree(maxKnown: config.maxHeadersKnown)
        blockDownload = BlockDownload(perPeer: config.blocksInFlightPerPeer, maxInFlight: config.maxBlocksInFlight,
                                      window: config.downloadWindow, maxAttempts: config.maxBlockAttempts)
        orphans = OrphanPool(maxCount: config.maxOrphans, maxBytes: config.maxOrphanBytes)
    }

    // MARK: connections

    func newConnectionID() -> Int {
        defer { nextID += 1 }
        return nextID
    }

    /// A peer connected. Refused (with a reason) when banned or over the limits.
    func attach(_ conn: Connection) {
        var p = PeerState(conn: conn,
                          messages: TokenBucket(capacity: config.messageRate * config.burstSeconds, rate: config.messageRate),
                          inventory: TokenBucket(capacity: config.inventoryRate * config.burstSeconds, rate: config.inventoryRate))
        p.bestHeight = -1
        peers[conn.id] = p
        if !networkActive {
            reject(conn, .networkInactive, "this node's networking is switched off")
            return
        }
        if let ban = banList.active(for: banKeys(conn, listenPort: nil)) {
            reject(conn, .banned, "banned until \(Date(timeIntervalSince1970: ban.until)): \(ban.reason)")
            return
        }
        let count = peers.slotsTaken(conn.direction, besides: conn.id)
        let limit = conn.direction == .inbound ? config.maxInbound : config.maxOutbound + configuredCount
        if count >= limit {
            reject(conn, .tooManyPeers, "\(conn.direction.rawValue) peer limit \(limit) reached")
            return
        }
        logger.info("peer connected", metadata: ["peer": "\(conn.id)", "remote": "\(conn.remote)", "direction": "\(conn.direction.rawValue)"])
        sendHello(conn)
        let timeout = config.handshakeTimeout
        Task { [weak self] in
            try? await Task.sleep(for: timeout)
            await self?.checkHandshake(conn)
        }
    }

    private var configuredCount: Int { addressBook.configuredCount }

    func detach(_ conn: Connection) {
        guard let p = peers.removeValue(forKey: conn.id) else { return }
        // Blocks it was to send go back to the queue, in height order.
        requeue(blockDownload.disconnectedPeer(conn.id))
        requestAgain(txDownload.disconnectedPeer(conn.id, askable: Set(peers.liveIDs)))
        announcer.drop(conn.id)
        logger.info("peer disconnected", metadata: ["peer": "\(conn.id)", "remote": "\(conn.remote)",
                                                   "handshaken": "\(p.handshaken)", "score": "\(p.score)"])
        scheduleDownloads()
    }

    func send(_ id: Int, _ message: Wire.Message) { send(id, bytes: Wire.encode(message)) }

    /// Sends an encoded message to a peer still in the table, counting it.
    func send(_ id: Int, bytes: [UInt8]) {
        guard var p = peers[id] else { return }
        if p.conn.send(raw: bytes) {
            p.messagesOut += 1
            p.bytesOut += bytes.count
            peers[id] = p
        }
    }

    func reject(_ conn: Connection, _ code: RejectCode, _ reason: String) {
        logger.notice("peer refused", metadata: ["peer": "\(conn.id)", "remote": "\(conn.remote)", "code": "\(code.rawValue)", "reason": "\(reason)"])
        conn.send(.reject(code: code.rawValue, reason: reason))
        conn.close("\(code.rawValue): \(reason)")
    }

    // MARK: misbehaviour

    func banKeys(_ conn: Connection, listenPort: UInt16?, nonce claimed: UInt64? = nil) -> [String] {
        BanList.keys(host: conn.remoteHost, port: conn.direction == .outbound ? conn.remotePort : nil, dialURL: conn.dialURL, listenPort: listenPort, nonce: claimed)
    }

    func misbehaved(_ conn: Connection, _ offence: Offence, _ detail: String) {
        banList.record(offence)
        guard var p = peers[conn.id] else { return }
        p.score += offence.score
        peers[conn.id] = p
        logger.warning("peer misbehaved", metadata: ["peer": "\(conn.id)", "remote": "\(conn.remote)", "offence": "\(offence.rawValue)",
                                                    "score": "\(p.score)", "detail": "\(detail.prefix(200))"])
        if p.score >= Offence.banThreshold {
            banList.ban(banKeys(conn, listenPort: p.listenPort, nonce: p.claimedNonce), reason: "\(offence.rawValue): \(detail.prefix(120))")
            reject(conn, .misbehaving, "\(offence.rawValue), score \(p.score)")
        }
    }

    // MARK: receiving

    func received(_ conn: Connection, _ bytes: [UInt8]) async {
        guard var p = peers[conn.id], !conn.isClosing else { return }
        p.messagesIn += 1
        p.bytesIn += bytes.count
        p.lastMessageAt = ServiceSupport.now()
        let withinRate = p.messages.take(1)
        peers[conn.id] = p
        guard withinRate else {
            misbehaved(conn, .rateLimited, "over \(Int(config.messageRate)) messages/s")
            return
        }
        let message: Wire.Message
        do {
            message = try Wire.decode(bytes)
        } catch {
            misbehaved(conn, error.offence, error.description)
            return
        }
        if case .version(let hello) = message {
            await handleHello(conn, hello)
            return
        }
        if case .reject(let code, let reason) = message {
            logger.notice("peer rejected us", metadata: ["peer": "\(conn.id)", "code": "\(code)", "reason": "\(reason)"])
            if code == RejectCode.selfConnection.rawValue, let url = conn.dialURL { addressBook.found(nonce, at: url) }
            conn.close("rejected: \(code)")
            return
        }
        guard let state = peers[conn.id], state.hello != nil else {
            misbehaved(conn, .beforeHandshake, "\(message.kind.name) before version")
            return
        }
        if case .verack = message {
            if !state.verackReceived { peers[conn.id]?.verackReceived = true; await handshakeComplete(conn) }
            return
        }
        guard state.handshaken else {
            misbehaved(conn, .beforeHandshake, "\(message.kind.name) before verack")
            return
        }
        switch message {
        case .version, .verack, .reject: break
        case .ping(let n): send(conn.id, .pong(n))
        case .pong(let n):
            if var q = peers[conn.id], q.pingNonce == n, let sent = q.pingSent {
                q.pingTime = (ContinuousClock.now - sent) / .seconds(1)
                q.pingNonce = nil
                q.pingSent = nil
                peers[conn.id] = q
            }
        case .getaddr: send(conn.id, .addr(addresses(excluding: conn.id)))
        case .addr(let list): addressBook.learn(list, ownNonce: nonce)
        case .inv(let items): await handleInv(conn, items)
        case .getdata(let items): await handleGetData(conn, items)
        case .notfound(let items):
            for i in items where i.type == .block && blockDownload.notFound(i.hash, from: conn.id) {
                requeue([i.hash])
            }
            requestAgain(txDownload.receivedNotFound(items.filter { $0.type == .tx }.map(\.hash), from: conn.id,
                                                     askable: Set(peers.liveIDs)))
            scheduleDownloads()
        case .getheaders(let locator, let stop): await handleGetHeaders(conn, locator, stop)
        case .headers(let headers): await handleHeaders(conn, headers)
        case .block(let block): await handleBlock(conn, block)
        case .tx(let tx): await handleTx(conn, tx)
        }
    }
}
