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
    let trace: (@Sendable (String, String, String, String?) -> Void)?
    nonisolated let nonce = UInt64.random(in: 1...UInt64.max)
    private var nextID = 1
    private(set) var peers = PeerTable()
    private var banList: BanList
    /// Addresses to dial: configured (kept forever) and learned.
    private(set) var addressBook = AddressBook()
    /// False after `setnetworkactive false`: no peers, no dialling, inbound refused (Bitcoin Core's `setnetworkactive`).
    private(set) var networkActive = true

    // Relay
    private var seen = SeenSets()
    private var txDownload = TxDownload()
    private var announcer = Announcer()

    // Sync
    private var tipHeight = 0
    private var tipHash = Hash256.zero
    /// The best height claimed by the peers connected now (a peer gone takes its claim with it).
    private var bestPeerHeight: Int { peers.bestHeight }
    private var headerTree: HeaderTree
    private var blockDownload: BlockDownload
    private var orphans: OrphanPool
    private var counters = (blocksReceived: 0, blocksAccepted: 0, txsReceived: 0, txsAccepted: 0)
    private var lastProgressLog = ContinuousClock.now
    private var lastLoggedHeight = 0

    init(config: BridgeConfig, node: any LocalNode, logger: Logger,
         trace: (@Sendable (String, String, String, String?) -> Void)? = nil) {
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

    private func checkHandshake(_ conn: Connection) {
        guard let p = peers[conn.id], !p.handshaken else { return }
        reject(conn, .handshakeTimeout, "no handshake within \(config.handshakeTimeout)")
    }

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

    private func sendHello(_ conn: Connection) {
        let hello = Wire.Hello(protocolVersion: Wire.protocolVersion, magic: config.params.magic, genesis: config.params.genesisHash,
                               bestHeight: UInt32(max(0, tipHeight)), bestHash: tipHash, nonce: nonce,
                               listenPort: config.listenPort, userAgent: config.userAgent)
        send(conn.id, .version(hello))
    }

    private func send(_ id: Int, _ message: Wire.Message) { send(id, bytes: Wire.encode(message)) }

    /// Sends an encoded message to a peer still in the table, counting it.
    private func send(_ id: Int, bytes: [UInt8]) {
        guard var p = peers[id] else { return }
        if p.conn.send(raw: bytes) {
            p.messagesOut += 1
            p.bytesOut += bytes.count
            peers[id] = p
        }
    }

    private func reject(_ conn: Connection, _ code: RejectCode, _ reason: String) {
        logger.notice("peer refused", metadata: ["peer": "\(conn.id)", "remote": "\(conn.remote)", "code": "\(code.rawValue)", "reason": "\(reason)"])
        conn.send(.reject(code: code.rawValue, reason: reason))
        conn.close("\(code.rawValue): \(reason)")
    }

    // MARK: misbehaviour

    private func banKeys(_ conn: Connection, listenPort: UInt16?, nonce claimed: UInt64? = nil) -> [String] {
        BanList.keys(host: conn.remoteHost, port: conn.remotePort, dialURL: conn.dialURL, listenPort: listenPort, nonce: claimed)
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

    private func handleHello(_ conn: Connection, _ hello: Wire.Hello) async {
        guard let p = peers[conn.id] else { return }
        if p.hello != nil {
            misbehaved(conn, .duplicateVersion, "a second version message")
            return
        }
        peers[conn.id]?.listenPort = hello.listenPort
        peers[conn.id]?.claimedNonce = hello.nonce
        if let (code, reason) = Handshake.check(hello, params: config.params, ownNonce: nonce) {
            if code == .selfConnection, let url = conn.dialURL { addressBook.found(nonce, at: url) }
            reject(conn, code, reason)
            if let offence = Handshake.offence(for: code) { misbehaved(conn, offence, reason) }
            return
        }
        if let ban = banList.active(for: banKeys(conn, listenPort: hello.listenPort, nonce: hello.nonce)) {
            reject(conn, .banned, "banned: \(ban.reason)")
            return
        }
        if let url = conn.dialURL { addressBook.found(hello.nonce, at: url) }
        // Another connection claiming the same node (nonce). Nonces are public (every `version` carries
        // one), so a claim alone never evicts an established connection: see `duplicateLoser`.
        if let other = peers.other(claiming: hello.nonce, besides: conn.id) {
            switch PeerTable.duplicateLoser(ownNonce: nonce, new: conn, newHello: hello, existing: other) {
            case .new?:
                reject(conn, .duplicateConnection, "already connected to node \(String(hello.nonce, radix: 16))")
                return
            case .existing?:
                reject(other.conn, .duplicateConnection, "already connected to node \(String(hello.nonce, radix: 16))")
            case nil:
                break
            }
        }
        var q = p
        q.hello = hello
        q.listenPort = hello.listenPort
        q.claimedNonce = hello.nonce
        q.bestHeight = Int(hello.bestHeight)
        if hello.listenPort > 0 {
            q.announcedURL = conn.dialURL ?? "ws://\(conn.urlHost):\(hello.listenPort)"
        }
        peers[conn.id] = q
        send(conn.id, .verack)
        if q.verackReceived { await handshakeComplete(conn) }
    }

    private func handshakeComplete(_ conn: Connection) async {
        guard let p = peers[conn.id], p.handshaken, let hello = p.hello else { return }
        logger.notice("peer handshaken", metadata: ["peer": "\(conn.id)", "remote": "\(conn.remote)", "direction": "\(conn.direction.rawValue)",
                                                   "agent": "\(hello.userAgent)", "height": "\(hello.bestHeight)"])
        send(conn.id, .getaddr)
        // Address relay: the other peers learn where this one listens.
        if let url = p.announcedURL {
            for (id, q) in peers where id != conn.id && q.handshaken && !q.conn.isClosing && q.announcedURL != url {
                send(id, .addr([url]))
            }
        }
        // Sync from any peer whose best block we do not have (higher, or an equal-height fork).
        if Int(hello.bestHeight) >= tipHeight, hello.bestHash != tipHash {
            let states = (try? await node.blockStates([hello.bestHash])) ?? [nil]
            if states.first ?? nil == nil { await askHeaders(conn.id) }
        }
    }

    // MARK: inventory

    private func handleInv(_ conn: Connection, _ items: [Wire.InvItem]) async {
        guard var p = peers[conn.id] else { return }
        let ok = p.inventory.take(Double(items.count))
        for i in items { p.knownInventory.insert(i.hash) }
        peers[conn.id] = p
        guard ok else {
            misbehaved(conn, .rateLimited, "over \(Int(config.inventoryRate)) announcements/s")
            return
        }
        let blocks = items.filter { $0.type == .block }.map(\.hash)
            .filter { !seen.blocks.contains($0) && !blockDownload.isPending($0) && !orphans.contains($0) }
        if !blocks.isEmpty {
            let states = (try? await node.blockStates(blocks)) ?? []
            let unknown = zip(blocks, states).filter { $0.1 == nil }.map(\.0)
            if unknown.count > config.blocksInFlightPerPeer {
                await askHeaders(conn.id)
            } else if !unknown.isEmpty {
                var want = [Wire.InvItem]()
                for h in unknown where !blockDownload.isPending(h) {
                    blockDownload.asked(h, of: conn.id)
                    peers[conn.id]?.blocksAsked.insert(h)
                    want.append(Wire.InvItem(.block, h))
                }
                if !want.isEmpty { send(conn.id, .getdata(want)) }
            }
        }
        var txs = [Wire.InvItem]()
        announcements: for i in items where i.type == .tx {
            let alreadySeen = seen.txs.contains(i.hash)
            if !alreadySeen, peers[conn.id] == nil { break }
            switch txDownload.addAnnouncement(i.hash, from: conn.id, alreadySeen: alreadySeen) {
            case .noted: continue
            case .peerAtLimit: break announcements
            case .request:
                seen.txs.insert(i.hash)
                txs.append(Wire.InvItem(.tx, i.hash))
            }
        }
        if !txs.isEmpty { send(conn.id, .getdata(txs)) }
    }

    /// Blocks looked up for one `getdata` at most (more are answered `notfound` unread; a node asks
    /// for at most `blocksInFlightPerPeer` at a time).
    static let maxBlocksPerGetData = 64

    private func handleGetData(_ conn: Connection, _ items: [Wire.InvItem]) async {
        var missing = [Wire.InvItem]()
        // The same item listed twice is looked up once; blocks past the per-message bound are not looked up.
        var seen = Set<Wire.InvItem>()
        var blockLookups = 0
        for i in items {
            guard peers[conn.id] != nil, !conn.isClosing else { return }
            guard seen.insert(i).inserted else { continue }
            switch i.type {
            case .block:
                guard blockLookups < Self.maxBlocksPerGetData else { missing.append(i); continue }
                blockLookups += 1
                if let raw = try? await node.block(i.hash) {
                    sendRaw(conn.id, kind: .block, payload: raw)
                    peers[conn.id]?.knownInventory.insert(i.hash)
                    // A peer fetching our tip will have it: its best height is at least ours.
                    if i.hash == tipHash, let q = peers[conn.id], q.bestHeight < tipHeight { peers[conn.id]?.bestHeight = tipHeight }
                } else {
                    missing.append(i)
                }
            case .tx:
                if let raw = try? await node.mempoolTx(i.hash) {
                    sendRaw(conn.id, kind: .tx, payload: raw)
                    peers[conn.id]?.knownInventory.insert(i.hash)
                } else {
                    missing.append(i)
                }
            }
        }
        if !missing.isEmpty { send(conn.id, .notfound(missing)) }
    }

    /// Sends a payload already encoded (a block or transaction as the node stores it) as a `kind` message.
    private func sendRaw(_ id: Int, kind: Wire.Kind, payload: [UInt8]) {
        send(id, bytes: [kind.rawValue, Wire.messageVersion] + payload)
    }

    /// Announces to every handshaken peer not known to have it; returns how many were told.
    @discardableResult
    private func announce(_ item: Wire.InvItem) -> Int {
        let recipients = peers.recipients(of: item.hash)
        for id in recipients { send(id, .inv([item])) }
        return recipients.count
    }

    // MARK: local events (chain and mempool publications)

    func tipChanged(_ tip: ChainTip) {
        guard let h = Hash256(hex: tip.hash) else { return }
        tipHeight = tip.height
        tipHash = h
        headerTree.nextBits = (h, tip.nextBits)
        logProgress()
    }

    func blockConnected(_ block: Block, height: Int) {
        let hash = block.hash
        seen.blocks.insert(hash)
        seen.storedBlocks.insert(hash)
        for tx in block.transactions { seen.txs.insert(tx.txid) }
        headerTree.remove(hash)
        if height > tipHeight { tipHeight = height; tipHash = hash }
        // Peers that announced or sent it have it: their best height is at least this.
        for (id, p) in peers where p.knownInventory.contains(hash) && p.bestHeight < height { peers[id]?.bestHeight = height }
        let told = announce(Wire.InvItem(.block, hash))
        if told > 0 { trace?(hash.hex, "block", "relayed", "announced to \(told) peer(s)") }
    }

    func txAdded(_ raw: [UInt8]) {
        let txid = Hash256.sha256d(raw)
        seen.txs.insert(txid)
        // Batched: a burst of transactions goes out as a few `inv`s, not one message each (which would
        // run into the peers' message-rate limit).
        let recipients = peers.recipients(of: txid)
        for id in recipients {
            if let full = announcer.queue(Wire.InvItem(.tx, txid), for: id) { send(id, .inv(full)) }
        }
        if !recipients.isEmpty { trace?(txid.hex, "tx", "relayed", "announced to \(recipients.count) peer(s)") }
        if announcer.needsFlush() {
            let delay = config.txAnnounceDelay
            Task { [weak self] in
                try? await Task.sleep(for: delay)
                await self?.flushAnnouncements()
            }
        }
    }

    /// Sends the transaction announcements waiting, one `inv` per peer.
    func flushAnnouncements() {
        for (id, items) in announcer.flush() { send(id, .inv(items)) }
    }

    /// Transactions a peer did not deliver, asked of the next peers that announced them (one `getdata`
    /// per peer and `Wire.maxInventory` items); those nobody else announced are forgotten as seen, so a
    /// later announcement fetches them.
    private func requestAgain(_ r: TxDownload.Reassigned) {
        for txid in r.forgotten { seen.txs.remove(txid) }
        for (id, txids) in r.requests {
            let items = txids.map { Wire.InvItem(.tx, $0) }
            for start in stride(from: 0, to: items.count, by: Wire.maxInventory) {
                send(id, .getdata(Array(items[start..<min(start + Wire.maxInventory, items.count)])))
            }
        }
    }

    // MARK: transactions

    private static let invalidTxReasons: Set<String> = [
        "bad-txns-version", "bad-txns-vin-empty", "bad-txns-vout-empty", "bad-txns-oversize", "bad-txns-vout-toolarge",
        "bad-txns-txouttotal-toolarge", "bad-txns-inputs-duplicate", "bad-txns-prevout-null", "bad-txns-sig-length",
        "bad-txns-signature", "bad-txns-in-belowout", "bad-txns-inputvalues-outofrange", "bad-cb-multiple", "bad-cb-length",
    ]

    private func handleTx(_ conn: Connection, _ tx: Transaction) async {
        let txid = tx.txid
        txDownload.receivedTx(txid, from: conn.id)
        peers[conn.id]?.knownInventory.insert(txid)
        seen.txs.insert(txid)
        counters.txsReceived += 1
        let from = peers[conn.id]?.announcedURL ?? conn.remote
        trace?(txid.hex, "tx", "received", "from peer \(from)")
        do {
            switch try await node.submitTx(tx) {
            case .success:
                counters.txsAccepted += 1
            case .failure(let e):
                if Self.invalidTxReasons.contains(e.code) { misbehaved(conn, .invalidTransaction, "\(txid.hex): \(e.code)") }
                else { logger.debug("peer tx not accepted", metadata: ["txid": "\(txid.hex)", "reason": "\(e.code)"]) }
            }
        } catch {
            // The mempool is down: forget we saw it, so a later announcement fetches it again.
            seen.txs.remove(txid)
            logger.warning("cannot reach the mempool", metadata: ["error": "\(error)"])
        }
    }

    // MARK: headers-first sync

    private func askHeaders(_ id: Int, from start: Hash256? = nil) async {
        guard peers[id] != nil else { return }
        var locator = (try? await node.locator()) ?? [config.params.genesisHash]
        if let start { locator.insert(start, at: 0) }
        peers[id]?.askedHeaders = true
        peers[id]?.headersPending += 1
        send(id, .getheaders(locator: Array(locator.prefix(Wire.maxLocator)), stop: .zero))
    }

    private func handleGetHeaders(_ conn: Connection, _ locator: [Hash256], _ stop: Hash256) async {
        let headers = (try? await node.headers(after: locator, stop: stop.isZero ? nil : stop, count: Wire.maxHeaders)) ?? []
        send(conn.id, .headers(headers))
    }

    /// Height of a known block: in our header tree or in the chain store (nil: unknown; throws when
    /// the chain store cannot be asked, which is nobody's fault).
    private func height(of hash: Hash256) async throws -> Int? {
        if let h = headerTree.height(of: hash) { return h }
        if hash == tipHash { return tipHeight }
        if try await node.blockStates([hash]).first ?? nil != nil {
            return try await node.heightOf(hash)
        }
        return nil
    }

    private func handleHeaders(_ conn: Connection, _ headers: [BlockHeader]) async {
        guard let pending = peers[conn.id]?.headersPending else { return }
        guard pending > 0 else {
            misbehaved(conn, .unrequestedData, "\(headers.count) headers not asked for")
            return
        }
        peers[conn.id]?.headersPending = pending - 1
        peers[conn.id]?.askedHeaders = pending > 1
        guard let first = headers.first else { return }
        // Linked, each with valid proof of work.
        for (i, h) in headers.enumerated() {
            if i > 0, h.previousHash != headers[i - 1].hash {
                misbehaved(conn, .invalidHeader, "headers not in a chain at position \(i)")
                return
            }
            do { try BlockRules.checkProofOfWork(h, params: config.params) } catch {
                misbehaved(conn, .invalidHeader, "header \(h.hash.hex): \(error.reason.rawValue)")
                return
            }
        }
        let startHeight: Int
        do {
            guard let h = try await height(of: first.previousHash) else {
                misbehaved(conn, .unconnectedHeaders, "headers start after unknown block \(first.previousHash.hex)")
                return
            }
            startHeight = h
        } catch {
            logger.warning("cannot reach the chain store: headers ignored", metadata: ["peer": "\(conn.id)", "error": "\(error)"])
            return
        }
        for (i, h) in headers.enumerated() {
            if let want = headerTree.expectedBits(h, height: startHeight + 1 + i, parent: i > 0 ? headers[i - 1] : nil, params: config.params),
               h.bits != want {
                misbehaved(conn, .invalidHeader, "header \(h.hash.hex) has bits \(String(h.bits, radix: 16)), expected \(String(want, radix: 16))")
                return
            }
        }
        if !headerTree.hasRoom(for: headers.count) {
            logger.notice("header tree full: headers ignored until blocks connect", metadata: ["peer": "\(conn.id)", "known": "\(headerTree.count)"])
            return
        }
        let last = startHeight + headers.count
        // A branch is fetched only once it claims more than our tip (equal difficulty: more work); a full
        // batch means more are coming, so its headers are kept and queued when a later batch gets there.
        let reachesBeyondTip = last > tipHeight
        let hashes = headers.map(\.hash)
        let states = (try? await node.blockStates(hashes)) ?? Array(repeating: nil, count: hashes.count)
        var prev = first.previousHash
        var added = 0
        for (i, h) in hashes.enumerated() {
            let height = startHeight + 1 + i
            if states[i] == "invalid" {
                misbehaved(conn, .invalidHeader, "header \(h.hex) is of a block known to be invalid")
                return
            }
            headerTree.add(h, parent: prev, height: height)
            prev = h
            if reachesBeyondTip, states[i] == nil, !blockDownload.isPending(h), !orphans.contains(h), !seen.blocks.contains(h) {
                blockDownload.enqueue(h)
                added += 1
            }
        }
        if reachesBeyondTip { added += await queueAncestors(of: first.previousHash) }
        let known = peers[conn.id]?.bestHeight ?? 0
        peers[conn.id]?.bestHeight = max(known, last)
        if added > 0 {
            logger.info("headers received", metadata: ["peer": "\(conn.id)", "count": "\(headers.count)", "new": "\(added)",
                                                       "up to": "\(last)", "queued": "\(blockDownload.queue.count)"])
        }
        if headers.count == Wire.maxHeaders { await askHeaders(conn.id, from: hashes.last) }
        scheduleDownloads()
    }

    /// Headers of earlier batches of a branch, kept but not queued while the branch did not reach above
    /// our tip: queued now that it does (those the chain store does not have).
    private func queueAncestors(of start: Hash256) async -> Int {
        let missing = headerTree.ancestors(from: start) { h in
            !seen.blocks.contains(h) && !seen.storedBlocks.contains(h) && !blockDownload.isPending(h) && !orphans.contains(h)
        }
        guard !missing.isEmpty, let states = try? await node.blockStates(missing) else { return 0 }
        let fresh = zip(missing, states).filter { $0.1 == nil }.map(\.0)
        requeue(fresh)
        return fresh.count
    }

    private func requeue(_ hashes: [Hash256]) {
        let seenBlocks = seen.blocks
        blockDownload.requeue(hashes, tree: headerTree) { seenBlocks.contains($0) }
    }

    /// Hands queued blocks to peers that have them, a few each, lowest heights first.
    private func scheduleDownloads() {
        let live = peers.liveIDs.compactMap { id in peers[id].map { (id: id, bestHeight: $0.bestHeight) } }
        let (requests, givenUp) = blockDownload.schedule(live: live, tipHeight: tipHeight, tree: headerTree)
        for h in givenUp { headerTree.remove(h) }
        if !givenUp.isEmpty {
            logger.notice("blocks no peer could serve: given up until announced again", metadata: ["count": "\(givenUp.count)"])
        }
        for (id, hashes) in requests {
            for h in hashes { peers[id]?.blocksAsked.insert(h) }
            send(id, .getdata(hashes.map { Wire.InvItem(.block, $0) }))
        }
    }

    /// Blocks asked for too long ago go to another peer.
    func checkStalls() {
        let now = ContinuousClock.now
        requestAgain(txDownload.stalled(now: now, timeout: config.stallTimeout, askable: Set(peers.liveIDs)))
        let stalled = blockDownload.stalled(now: now, timeout: config.stallTimeout)
        guard !stalled.isEmpty else { return }
        logger.info("block requests stalled; asking other peers", metadata: ["count": "\(stalled.count)"])
        requeue(stalled)
        scheduleDownloads()
    }

    // MARK: blocks

    private static let noFaultReasons: Set<String> = ["duplicate", "inconclusive", "internal", "time-too-new", "bad-prevblk"]
    /// Refusals that may not hold later: the block is not marked seen.
    private static let transientReasons: Set<String> = ["internal", "time-too-new"]

    /// Our chain store did not answer about a block: nobody's fault; one whose header we know goes back to the queue.
    private func chainStoreUnreachable(_ hash: Hash256) {
        if headerTree.contains(hash) { requeue([hash]) }
    }

    private func handleBlock(_ conn: Connection, _ block: Block) async {
        let hash = block.hash
        counters.blocksReceived += 1
        // Proof of work first (one hash): a block without it is never held, submitted or relayed.
        do { try BlockRules.checkProofOfWork(block.header, params: config.params) } catch {
            misbehaved(conn, .invalidBlock, "\(hash.hex): \(error.reason.rawValue)")
            return
        }
        let requested = peers[conn.id]?.blocksAsked.contains(hash) == true || headerTree.contains(hash)
        peers[conn.id]?.blocksAsked.remove(hash)
        blockDownload.received(hash, from: conn.id)
        peers[conn.id]?.knownInventory.insert(hash)
        let from = peers[conn.id]?.announcedURL ?? conn.remote
        trace?(hash.hex, "block", "received", "from peer \(from)")
        if seen.blocks.contains(hash) || orphans.contains(hash) {
            scheduleDownloads()
            return
        }
        if !requested { misbehaved(conn, .unrequestedData, "block \(hash.hex) not asked for") }
        guard peers[conn.id] != nil, !conn.isClosing else { return }
        await process(block, from: conn, source: "peer:\(from)", mayHold: requested)
        scheduleDownloads()
    }

    /// Submits a block whose parent is known; holds it otherwise and fetches what is missing.
    /// A block nobody asked for (`mayHold` false) is submitted when its parent is stored, never held.
    private func process(_ block: Block, from conn: Connection?, source: String, mayHold: Bool = true) async {
        let hash = block.hash
        let parent = block.header.previousHash
        let parentState: String?
        if parent == tipHash || seen.storedBlocks.contains(parent) {
            parentState = "active"
        } else {
            guard let s = try? await node.blockStates([parent]) else {
                chainStoreUnreachable(hash)
                return
            }
            parentState = s.first ?? nil
        }
        if parentState == nil {
            guard mayHold else {
                logger.info("unrequested block with an unknown parent dropped", metadata: ["hash": "\(hash.hex)"])
                return
            }
            holdOrphan(block)
            if let conn, !blockDownload.isPending(parent), !orphans.contains(parent) {
                await askHeaders(conn.id)
            }
            return
        }
        let result: SubmitBlockResult
        do {
            result = try await node.submitBlock(block, source: source)
        } catch {
            logger.warning("cannot reach the chain store", metadata: ["error": "\(error)"])
            chainStoreUnreachable(hash)
            return
        }
        blockDownload.settled(hash)
        if let reason = result.reason, Self.transientReasons.contains(reason) {
            // Not the block's fault and maybe not for good (clock skew, a database hiccup): not marked
            // seen, so a later announcement or headers message fetches it again; its children stay held.
            logger.notice("block refused for now", metadata: ["hash": "\(hash.hex)", "reason": "\(reason)"])
            return
        }
        if result.reason == "bad-prevblk" {
            // The chain store does not have the parent after all: hold it until the parent is stored.
            seen.storedBlocks.remove(parent)
            holdOrphan(block)
            return
        }
        seen.blocks.insert(hash)
        if result.accepted || result.reason == "inconclusive" || result.reason == "duplicate" {
            seen.storedBlocks.insert(hash)
            if result.accepted { counters.blocksAccepted += 1 }
            if let h = result.height { headerTree.add(hash, parent: parent, height: h) }
        } else if let reason = result.reason, !Self.noFaultReasons.contains(reason) {
            if let conn { misbehaved(conn, .invalidBlock, "\(hash.hex): \(reason) \(result.message ?? "")") }
            orphans.dropDescendants(of: hash)
            return
        }
        // Children that were waiting for this one.
        let waiting = orphans.removeChildren(of: hash)
        if !waiting.isEmpty {
            for child in waiting {
                orphans.forget(child.hash)
                await process(child, from: nil, source: source)
            }
        }
    }

    /// Holds a block until its parent is stored. Over the pool's bound the highest are dropped; one we
    /// have a header for goes back to the download queue, so nothing needed is lost.
    private func holdOrphan(_ block: Block) {
        for victim in orphans.hold(block, tree: headerTree) where headerTree.contains(victim) { requeue([victim]) }
    }

    // MARK: liveness and addresses

    func pingAll() {
        let now = ContinuousClock.now
        // A peer closing for longer than the transport's deadline (its writer stuck on a peer that never
        // reads) is let go of here too, so it keeps no slot and no state.
        for p in peers.values {
            if let since = p.conn.closingSince, now - since > config.closeDeadline { detach(p.conn) }
        }
        for (id, var p) in peers where p.handshaken && !p.conn.isClosing {
            if let sent = p.pingSent, now - sent > config.pingInterval * 2 {
                reject(p.conn, .pingTimeout, "no pong within \(config.pingInterval * 2)")
                continue
            }
            if p.pingNonce == nil, p.lastPingAt.map({ now - $0 >= config.pingInterval }) ?? true {
                let n = UInt64.random(in: 0...UInt64.max)
                p.pingNonce = n
                p.pingSent = now
                p.lastPingAt = now
                peers[id] = p
                send(id, .ping(n))
            }
        }
        logProgress()
    }

    private func addresses(excluding id: Int) -> [String] {
        var out = Set<String>()
        for (pid, p) in peers where pid != id && p.handshaken { if let u = p.announcedURL { out.insert(u) } }
        for u in addressBook.urls { out.insert(u) }
        if let asker = peers[id]?.announcedURL { out.remove(asker) }
        // Only what a receiver accepts (a configured URL may be longer than `addr` allows); a random
        // sample when there are more than fit.
        return Array(out.filter { AddressBook.isDiallable($0) }.shuffled().prefix(Wire.maxAddresses))
    }

    func addConfigured(_ url: String) { addressBook.addConfigured(url) }

    /// Learned addresses worth dialling now: not configured (those have their own loop),
    /// not ourselves, not a node already connected, within the outbound limit.
    func addressesToDial() -> [String] {
        guard networkActive else { return [] }
        let outbound = peers.outboundCount
        guard outbound < config.maxOutbound else { return [] }
        let dialling = Set(peers.values.compactMap { $0.conn.dialURL })
        return addressBook.learned.filter { url in
            if dialling.contains(url) || addressBook.node(at: url) == nonce { return false }
            return !peers.connects(url, nodeAtURL: addressBook.node(at: url))
        }.shuffled().prefix(config.maxOutbound - outbound).map { $0 }
    }

    /// Whether dialling `url` is pointless now (it is us, or that node is already connected).
    func shouldSkipDial(_ url: String) -> Bool {
        guard networkActive else { return true }
        if banList.active(for: [url]) != nil { return true }
        if addressBook.node(at: url) == nonce { return true }
        return peers.connects(url, nodeAtURL: addressBook.node(at: url))
    }

    func forgetLearned(_ url: String) { addressBook.forgetLearned(url, ownNonce: nonce) }

    /// A learned address's one dial ended after `lasted` (nil: it never connected): one that did not
    /// keep a connection for a minute is forgotten (it is learned again if peers still announce it).
    func learnedDialEnded(_ url: String, lasted: Duration?) {
        guard addressBook.node(at: url) != nonce else { return }
        // A node we are connected to another way (it dialled us; our dial was the duplicate) is alive: keep it.
        if peers.connects(url, nodeAtURL: addressBook.node(at: url)) { return }
        if lasted.map({ $0 < .seconds(60) }) ?? true { forgetLearned(url) }
    }

    private func logProgress() {
        let now = ContinuousClock.now
        let syncing = !blockDownload.isIdle || !orphans.isEmpty
        guard syncing || tipHeight != lastLoggedHeight, now - lastProgressLog >= .seconds(5) else { return }
        lastProgressLog = now
        lastLoggedHeight = tipHeight
        let s = syncStatus()
        logger.log(level: syncing ? .notice : .info, "sync progress", metadata: ["height": "\(s.height)", "best peer height": "\(s.bestPeerHeight)",
                                                 "progress": "\(String(format: "%.1f%%", s.progress * 100))",
                                                 "queued": "\(s.blocksQueued)", "in flight": "\(s.blocksInFlight)",
                                                 "orphans": "\(s.orphans)", "peers": "\(peers.values.filter(\.handshaken).count)"])
    }

    // MARK: reports

    func syncStatus() -> SyncStatus {
        let best = max(bestPeerHeight, tipHeight)
        let state = !blockDownload.isIdle || !orphans.isEmpty ? "blocks"
            : peers.values.contains(where: \.askedHeaders) ? "headers" : "idle"
        return SyncStatus(state: state, height: tipHeight, tipHash: tipHash.hex, bestPeerHeight: best,
                          headersKnown: headerTree.count, blocksQueued: blockDownload.queue.count,
                          blocksInFlight: blockDownload.inFlight.count, orphans: orphans.count,
                          blocksReceived: counters.blocksReceived, blocksAccepted: counters.blocksAccepted,
                          txsReceived: counters.txsReceived, txsAccepted: counters.txsAccepted,
                          progress: best == 0 ? 1 : Double(tipHeight) / Double(best))
    }

    func peerList() -> PeerList {
        let now = ServiceSupport.now()
        let list = peers.values.sorted { $0.conn.id < $1.conn.id }.map { p in
            PeerInfo(id: p.conn.id, address: p.announcedURL ?? p.conn.dialURL ?? p.conn.remote, direction: p.conn.direction.rawValue,
                     handshaken: p.handshaken, userAgent: p.hello?.userAgent ?? "", protocolVersion: p.hello?.protocolVersion ?? 0,
                     startHeight: Int(p.hello?.bestHeight ?? 0), bestHeight: p.bestHeight, score: p.score,
                     connectedAt: p.connectedAt, lastMessageAt: p.lastMessageAt, pingTime: p.pingTime,
                     messagesIn: p.messagesIn, messagesOut: p.messagesOut, bytesIn: p.bytesIn, bytesOut: p.bytesOut,
                     blocksInFlight: blockDownload.load(of: p.conn.id))
        }
        return PeerList(listen: config.listenAddress, peers: list, banned: banList.current(now: now), known: addressBook.urls,
                        offences: banList.offences)
    }

    /// Switches networking off (every peer is disconnected) or back on (configured peers are dialled again).
    func setNetworkActive(_ active: Bool) {
        guard active != networkActive else { return }
        networkActive = active
        logger.notice(active ? "networking switched on" : "networking switched off: disconnecting every peer")
        if !active {
            for p in peers.values { reject(p.conn, .networkInactive, "networking switched off") }
        }
    }

    func shutdown() {
        for p in peers.values { p.conn.send(.reject(code: RejectCode.shuttingDown.rawValue, reason: "node stopping")); p.conn.close("shutting down") }
    }
}
