import ChainCore

/// Transaction download, after Bitcoin Core's `TxDownloadManager` (`src/node/txdownloadman.h`): which
/// transaction is asked of which peer, the other peers that announced it meanwhile (asked next when the
/// first answers `notfound`, disconnects or stays silent), and a cap on what one peer may have us ask for.
struct TxDownload {
    /// Transactions one peer may have requested of it at once (Core's `MAX_PEER_TX_ANNOUNCEMENTS`).
    static let maxPeerAnnouncements = 5000
    /// Other announcers remembered per transaction in flight.
    static let maxAnnouncers = 8

    enum Decision: Equatable {
        /// Ask this peer for it now (recorded as in flight from it).
        case request
        /// Seen already: nothing to ask (the peer is remembered as an alternative if it is in flight elsewhere).
        case noted
        /// The peer has `maxPeerAnnouncements` requests open: nothing more is asked of it in this announcement.
        case peerAtLimit
    }

    /// Transactions to ask again after a failure, by peer, and those nobody else announced (to forget as seen,
    /// so a later announcement fetches them).
    struct Reassigned: Equatable {
        var requests: [Int: [Hash256]] = [:]
        var forgotten: [Hash256] = []
    }

    private(set) var inFlight: [Hash256: (peer: Int, since: ContinuousClock.Instant)] = [:]
    private var announcers: [Hash256: [Int]] = [:]
    private var requested: [Int: Set<Hash256>] = [:]

    func requestedCount(of peer: Int) -> Int { requested[peer]?.count ?? 0 }
    func alternatives(for txid: Hash256) -> [Int] { announcers[txid] ?? [] }

    /// `peer` announced `txid`; `alreadySeen` when we have it or asked for it already.
    mutating func addAnnouncement(_ txid: Hash256, from peer: Int, alreadySeen: Bool, now: ContinuousClock.Instant = .now) -> Decision {
        if alreadySeen {
            // Asked of another peer and not delivered yet: this one is where to ask next if that fails.
            if let f = inFlight[txid], f.peer != peer {
                var list = announcers[txid] ?? []
                if list.count < Self.maxAnnouncers, !list.contains(peer) { list.append(peer); announcers[txid] = list }
            }
            return .noted
        }
        guard requestedCount(of: peer) < Self.maxPeerAnnouncements else { return .peerAtLimit }
        requested[peer, default: []].insert(txid)
        inFlight[txid] = (peer, now)
        return .request
    }

    /// `peer` delivered `txid`: nothing about it is pending any more, from this peer or the one it
    /// was asked of (another peer may deliver it first: it no longer counts against that one's cap).
    mutating func receivedTx(_ txid: Hash256, from peer: Int) {
        if let asked = inFlight.removeValue(forKey: txid) { requested[asked.peer]?.remove(txid) }
        requested[peer]?.remove(txid)
        announcers[txid] = nil
    }

    /// `peer` answered `notfound` for `txids`: each goes to the next peer that announced it.
    mutating func receivedNotFound(_ txids: [Hash256], from peer: Int, askable: Set<Int>, now: ContinuousClock.Instant = .now) -> Reassigned {
        for txid in txids { requested[peer]?.remove(txid) }
        return notDelivered(txids, by: peer, askable: askable, now: now)
    }

    /// `peer` is gone: what it was to deliver goes to the next announcers.
    mutating func disconnectedPeer(_ peer: Int, askable: Set<Int>, now: ContinuousClock.Instant = .now) -> Reassigned {
        let pending = inFlight.filter { $0.value.peer == peer }.map(\.key)
        let result = notDelivered(pending, by: peer, askable: askable.subtracting([peer]), now: now)
        requested[peer] = nil
        return result
    }

    /// Requests older than `timeout` go to the next announcers.
    mutating func stalled(now: ContinuousClock.Instant = .now, timeout: Duration, askable: Set<Int>) -> Reassigned {
        var out = Reassigned()
        let late = inFlight.filter { now - $0.value.since > timeout }
        for (peer, entries) in Dictionary(grouping: late, by: \.value.peer) {
            let r = notDelivered(entries.map(\.key), by: peer, askable: askable, now: now)
            for (id, txids) in r.requests { out.requests[id, default: []].append(contentsOf: txids) }
            out.forgotten += r.forgotten
        }
        return out
    }

    /// Transactions `peer` was asked for and did not deliver: asked of the next peer in `askable` that
    /// announced them and is under its cap, or given back as forgotten.
    private mutating func notDelivered(_ txids: [Hash256], by peer: Int, askable: Set<Int>, now: ContinuousClock.Instant) -> Reassigned {
        var out = Reassigned()
        for txid in txids where inFlight[txid]?.peer == peer {
            inFlight[txid] = nil
            requested[peer]?.remove(txid)
            var others = announcers.removeValue(forKey: txid) ?? []
            var asked = false
            while !others.isEmpty {
                let next = others.removeFirst()
                guard askable.contains(next), requestedCount(of: next) < Self.maxPeerAnnouncements else { continue }
                requested[next, default: []].insert(txid)
                inFlight[txid] = (next, now)
                if !others.isEmpty { announcers[txid] = others }
                out.requests[next, default: []].append(txid)
                asked = true
                break
            }
            if !asked { out.forgotten.append(txid) }
        }
        return out
    }
}
