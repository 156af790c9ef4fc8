import Bus
import ChainCore
import Foundation
import Logging
import NodeKit

/// Relay: inventory announcements and requests, the local node's new blocks and transactions
/// announced to peers, and transactions received from peers (rooms `SeenSets`, `TxDownload`, `Announcer`).
extension Bridge {
    // MARK: inventory

    func handleInv(_ conn: Connection, _ items: [Wire.InvItem]) async {
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
    /// for at most `blocksInFlightPerPeer` at a time). One round trip to the chain store looks them all up
    /// (`LocalNode.blocks`; more only when the blocks found are too many bytes for one reply).
    static let maxBlocksPerGetData = 64

    func handleGetData(_ conn: Connection, _ items: [Wire.InvItem]) async {
        var missing = [Wire.InvItem]()
        // The same item listed twice is answered once; blocks past the per-message bound are not looked up.
        var seen = Set<Wire.InvItem>()
        let unique = items.filter { seen.insert($0).inserted }
        let lookups = Array(unique.lazy.filter { $0.type == .block }.prefix(Self.maxBlocksPerGetData).map(\.hash))
        // Blocks looked up so far (`lookups[..<looked]`), the found ones not yet sent in `found`.
        var found = [Hash256: [UInt8]](), looked = 0, blockIndex = 0
        for i in unique {
            guard peers[conn.id] != nil, !conn.isClosing else { return }
            switch i.type {
            case .block:
                guard blockIndex < lookups.count else { missing.append(i); continue }
                blockIndex += 1
                if blockIndex > looked {
                    // In request order: the next blocks from this one on, in one round trip.
                    let page = try? await node.blocks(Array(lookups[looked...]))
                    guard peers[conn.id] != nil, !conn.isClosing else { return }
                    found = page?.found ?? [:]
                    looked += max(1, page?.looked ?? lookups.count - looked)
                }
                if let raw = found.removeValue(forKey: i.hash) {
                    sendRaw(conn.id, kind: .block, payload: raw)
                    peers[conn.id]?.knownInventory.insert(i.hash)
                    // A peer fetching our tip will have it: its best height is at least ours.
                    if i.hash == tipHash, let q = peers[conn.id] {
                        peers[conn.id]?.bestHeight = max(q.bestHeight, tipHeight)
                        peers[conn.id]?.shownHeight = max(q.shownHeight, tipHeight)
                    }
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
    func sendRaw(_ id: Int, kind: Wire.Kind, payload: [UInt8]) {
        send(id, bytes: [kind.rawValue, Wire.messageVersion] + payload)
    }

    /// Announces to every handshaken peer not known to have it; returns how many were told.
    @discardableResult
    func announce(_ item: Wire.InvItem) -> Int {
        let recipients = peers.recipients(of: item.hash)
        for id in recipients { send(id, .inv([item])) }
        return recipients.count
    }

    // MARK: local events (chain and mempool publications)

    func tipChanged(_ tip: ChainTip) {
        guard let h = Hash256(hex: tip.hash) else { return }
        tipChanges &+= 1
        tipHeight = tip.height
        tipHash = h
        headerTree.nextBits = (h, tip.nextBits)
        logProgress()
    }

    /// Asks the local node for its tip and takes it (at start-up, and when the chain store's feed
    /// reconnected or lost messages); throws when the node does not answer. A tip the feed delivered
    /// meanwhile is newer than this answer, which is then dropped.
    func refreshTip() async throws {
        let before = tipChanges
        let tip = try await node.tip()
        guard tipChanges == before else { return }
        tipChanged(tip)
    }

    func blockConnected(_ block: Block, height: Int) {
        let hash = block.hash
        seen.blocks.insert(hash)
        seen.storedBlocks.insert(hash)
        for tx in block.transactions { seen.txs.insert(tx.txid) }
        headerTree.remove(hash)
        // A tip moved forward counts as a change, so a `refreshTip` answer older than it is dropped.
        if height > tipHeight { tipHeight = height; tipHash = hash; tipChanges &+= 1 }
        // Peers that announced or sent it have it: their best height is at least this.
        for (id, p) in peers where p.knownInventory.contains(hash) && (p.bestHeight < height || p.shownHeight < height) {
            peers[id]?.bestHeight = max(p.bestHeight, height)
            peers[id]?.shownHeight = max(p.shownHeight, height)
        }
        let told = announce(Wire.InvItem(.block, hash))
        if told > 0 { trace?(hash.hex, .block, .relayed, "announced to \(told) peer(s)") }
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
        if !recipients.isEmpty { trace?(txid.hex, .tx, .relayed, "announced to \(recipients.count) peer(s)") }
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
    func requestAgain(_ r: TxDownload.Reassigned) {
        for txid in r.forgotten { seen.txs.remove(txid) }
        for (id, txids) in r.requests {
            let items = txids.map { Wire.InvItem(.tx, $0) }
            for start in stride(from: 0, to: items.count, by: Wire.maxInventory) {
                send(id, .getdata(Array(items[start..<min(start + Wire.maxInventory, items.count)])))
            }
        }
    }

    // MARK: transactions

    func handleTx(_ conn: Connection, _ tx: Transaction) async {
        let txid = tx.txid
        txDownload.receivedTx(txid, from: conn.id)
        peers[conn.id]?.knownInventory.insert(txid)
        seen.txs.insert(txid)
        counters.txsReceived += 1
        let from = peers[conn.id]?.announcedURL ?? conn.remote
        trace?(txid.hex, .tx, .received, "from peer \(from)")
        do {
            switch try await node.submitTx(tx) {
            case .success:
                counters.txsAccepted += 1
            case .failure(let e):
                if RejectReason(rawValue: e.code)?.provesInvalidTransaction == true { misbehaved(conn, .invalidTransaction, "\(txid.hex): \(e.code)") }
                else { logger.debug("peer tx not accepted", metadata: ["txid": "\(txid.hex)", "reason": "\(e.code)"]) }
            }
        } catch {
            // The mempool is down: forget we saw it, so a later announcement fetches it again.
            seen.txs.remove(txid)
            logger.warning("cannot reach the mempool", metadata: ["error": "\(error)"])
        }
    }
}
