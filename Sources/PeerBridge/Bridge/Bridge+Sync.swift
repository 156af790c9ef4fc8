import Bus
import ChainCore
import Foundation
import Logging
import NodeKit

/// Headers-first sync and blocks: header tree, block download, orphan pool, and submitting
/// peers' blocks to the chain store (rooms `HeaderTree`, `BlockDownload`, `OrphanPool`).
extension Bridge {
    // MARK: headers-first sync

    func askHeaders(_ id: Int, from start: Hash256? = nil) async {
        guard peers[id] != nil else { return }
        var locator = (try? await node.locator()) ?? [config.params.genesisHash]
        if let start { locator.insert(start, at: 0) }
        peers[id]?.askedHeaders = true
        peers[id]?.headersPending += 1
        send(id, .getheaders(locator: Array(locator.prefix(Wire.maxLocator)), stop: .zero))
    }

    func handleGetHeaders(_ conn: Connection, _ locator: [Hash256], _ stop: Hash256) async {
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

    func handleHeaders(_ conn: Connection, _ headers: [BlockHeader]) async {
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
            if states[i] == .invalid {
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
        if let p = peers[conn.id] {
            peers[conn.id]?.bestHeight = max(p.bestHeight, last)
            peers[conn.id]?.shownHeight = max(p.shownHeight, last)
        }
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

    func requeue(_ hashes: [Hash256]) {
        let seenBlocks = seen.blocks
        blockDownload.requeue(hashes, tree: headerTree) { seenBlocks.contains($0) }
    }

    /// Hands queued blocks to peers that have them, a few each, lowest heights first.
    func scheduleDownloads() {
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

    /// Our chain store did not answer about a block: nobody's fault; one whose header we know goes back to the queue.
    private func chainStoreUnreachable(_ hash: Hash256) {
        if headerTree.contains(hash) { requeue([hash]) }
    }

    func handleBlock(_ conn: Connection, _ block: Block) async {
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
        trace?(hash.hex, .block, .received, "from peer \(from)")
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
        let parentState: BlockState?
        if parent == tipHash || seen.storedBlocks.contains(parent) {
            parentState = .active
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
        let outcome = result.outcome
        switch outcome {
        case .transient(let reason):
            // Not the block's fault and maybe not for good (clock skew, a database hiccup): not marked
            // seen, so a later announcement or headers message fetches it again; its children stay held.
            logger.notice("block refused for now", metadata: ["hash": "\(hash.hex)", "reason": "\(reason)"])
            return
        case .unknownParent:
            // The chain store does not have the parent after all: hold it until the parent is stored.
            seen.storedBlocks.remove(parent)
            holdOrphan(block)
            return
        case .accepted, .sideBranch, .duplicate:
            seen.blocks.insert(hash)
            seen.storedBlocks.insert(hash)
            if outcome == .accepted { counters.blocksAccepted += 1 }
            if let h = result.height { headerTree.add(hash, parent: parent, height: h) }
        case .invalid, .duplicateInvalid:
            seen.blocks.insert(hash)
            if let conn { misbehaved(conn, .invalidBlock, "\(hash.hex): \(outcome.code ?? "") \(result.message ?? "")") }
            orphans.dropDescendants(of: hash)
            return
        case .other(let reason):
            seen.blocks.insert(hash)
            logger.notice("block refused for a reason this bridge does not know", metadata: ["hash": "\(hash.hex)", "reason": "\(reason)"])
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
}
