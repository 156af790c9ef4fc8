import Bus
import ChainCore
import Foundation
import Logging
import NodeKit

/// Liveness and addresses: pings, the address book's dial list and what dials report back.
extension Bridge {
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

    func addresses(excluding id: Int) -> [String] {
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
        if lasted.map({ $0 < config.learnedDialMinimum }) ?? true { forgetLearned(url) }
    }

    func logProgress() {
        let now = ContinuousClock.now
        let syncing = !blockDownload.isIdle || !orphans.isEmpty
        guard syncing || tipHeight != lastLoggedHeight, now - lastProgressLog >= config.progressLogInterval else { return }
        lastProgressLog = now
        lastLoggedHeight = tipHeight
        let s = syncStatus()
        logger.log(level: syncing ? .notice : .info, "sync progress", metadata: ["height": "\(s.height)", "best peer height": "\(s.bestPeerHeight)",
                                                 "progress": "\(String(format: "%.1f%%", s.progress * 100))",
                                                 "queued": "\(s.blocksQueued)", "in flight": "\(s.blocksInFlight)",
                                                 "orphans": "\(s.orphans)", "peers": "\(peers.values.filter(\.handshaken).count)"])
    }
}
