import Bus
import ChainCore
import Foundation
import Logging
import NodeKit

/// Reports for `peer.rpc` (`getsync`, `getpeers`) and operator switches (`setnetworkactive`).
extension Bridge {
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
                     blocksInFlight: blockDownload.load(of: p.conn.id), bytesQueued: max(0, p.conn.queuedBytes))
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
