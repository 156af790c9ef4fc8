import ChainCore

/// Block download (btcd's `netsync` block requests): the queue of blocks to fetch, lowest first; the
/// requests in flight; the peers that failed each block; and the round-robin scheduler that hands queued
/// blocks to peers whose best height reaches them, a few each, within a window above our tip.
struct BlockDownload {
    /// Blocks asked of one peer at once, at most.
    let perPeer: Int
    /// Blocks in flight over all peers, at most.
    let maxInFlight: Int
    /// Blocks are fetched at most this many heights above the tip.
    let window: Int
    /// A queued block is given up after this many peers answered `notfound` or stalled on it.
    let maxAttempts: Int

    private(set) var queue: [Hash256] = []
    private var queued = Set<Hash256>()
    private(set) var inFlight: [Hash256: (peer: Int, since: ContinuousClock.Instant)] = [:]
    /// Peers that answered `notfound` for a queued block or let its request stall: never asked for it again.
    private var misses: [Hash256: Set<Int>] = [:]
    /// Round-robin position kept across scheduling rounds, so requests spread over peers.
    private var cursor = 0

    init(perPeer: Int, maxInFlight: Int, window: Int, maxAttempts: Int) {
        self.perPeer = perPeer
        self.maxInFlight = maxInFlight
        self.window = window
        self.maxAttempts = maxAttempts
    }

    var isIdle: Bool { queue.isEmpty && inFlight.isEmpty }
    func isQueued(_ hash: Hash256) -> Bool { queued.contains(hash) }
    func isInFlight(_ hash: Hash256) -> Bool { inFlight[hash] != nil }
    /// Queued or in flight.
    func isPending(_ hash: Hash256) -> Bool { queued.contains(hash) || inFlight[hash] != nil }
    func peer(asked hash: Hash256) -> Int? { inFlight[hash]?.peer }
    func load(of peer: Int) -> Int { inFlight.values.filter { $0.peer == peer }.count }
    func misses(of hash: Hash256) -> Set<Int> { misses[hash] ?? [] }

    /// Appends a block learned from headers (the caller checked it is not pending or seen).
    mutating func enqueue(_ hash: Hash256) {
        queue.append(hash)
        queued.insert(hash)
    }

    /// Puts blocks back at the front of the queue, in height order (`isSeen` ones and queued ones are skipped).
    mutating func requeue(_ hashes: [Hash256], tree: HeaderTree, isSeen: (Hash256) -> Bool) {
        let fresh = hashes.filter { !queued.contains($0) && !isSeen($0) }
        guard !fresh.isEmpty else { return }
        for h in fresh { queued.insert(h) }
        queue.insert(contentsOf: fresh, at: 0)
        queue.sort(by: tree.byHeight)
    }

    /// Asked of `peer` directly (an announced block, not through the queue).
    mutating func asked(_ hash: Hash256, of peer: Int, now: ContinuousClock.Instant = .now) { inFlight[hash] = (peer, now) }

    /// `peer` delivered `hash`: its request is done.
    mutating func received(_ hash: Hash256, from peer: Int) {
        if inFlight[hash]?.peer == peer { inFlight[hash] = nil }
    }

    /// `peer` answered `notfound` for `hash`: true when it was asked for it (then it is never asked again;
    /// the caller requeues the block).
    mutating func notFound(_ hash: Hash256, from peer: Int) -> Bool {
        guard inFlight[hash]?.peer == peer else { return false }
        inFlight[hash] = nil
        misses[hash, default: []].insert(peer)
        return true
    }

    /// `peer` is gone: the blocks it was to send (for the caller to requeue).
    mutating func disconnectedPeer(_ peer: Int) -> [Hash256] {
        let lost = inFlight.filter { $0.value.peer == peer }.map(\.key)
        for h in lost { inFlight[h] = nil }
        return lost
    }

    /// Requests older than `timeout`: each peer is marked as having failed its block, and the blocks come
    /// back for the caller to requeue.
    mutating func stalled(now: ContinuousClock.Instant = .now, timeout: Duration) -> [Hash256] {
        let late = inFlight.filter { now - $0.value.since > timeout }.map(\.key)
        for h in late {
            if let peer = inFlight[h]?.peer { misses[h, default: []].insert(peer) }
            inFlight[h] = nil
        }
        return late
    }

    /// The chain store answered for `hash`: it leaves the queue and its failures are forgotten.
    mutating func settled(_ hash: Hash256) {
        queued.remove(hash)
        misses[hash] = nil
    }

    /// One scheduling round over the live peers (`bestHeight` by id). Returns the requests to send per peer
    /// (now in flight) and the blocks given up: every live peer (or `maxAttempts` peers over time) failed
    /// them; they leave the queue until announced again.
    mutating func schedule(live: [(id: Int, bestHeight: Int)], tipHeight: Int, tree: HeaderTree,
                           now: ContinuousClock.Instant = .now) -> (requests: [Int: [Hash256]], givenUp: [Hash256]) {
        guard !queue.isEmpty else { return ([:], []) }
        var requests = [Int: [Hash256]]()
        var load = [Int: Int]()
        for f in inFlight.values { load[f.peer, default: 0] += 1 }
        let connected = live.map(\.id).sorted()
        let best = Dictionary(live.map { ($0.id, $0.bestHeight) }, uniquingKeysWith: max)
        var candidates = connected
        guard !candidates.isEmpty else { return ([:], []) }
        var remaining = [Hash256]()
        var givenUp = [Hash256]()
        for h in queue {
            if let missed = misses[h], missed.count >= maxAttempts || connected.allSatisfy(missed.contains) {
                givenUp.append(h)
                continue
            }
            if inFlight.count >= maxInFlight || candidates.isEmpty { remaining.append(h); continue }
            let height = tree.height(of: h) ?? 0
            if height > tipHeight + window { remaining.append(h); continue }
            // Round robin over peers whose best height reaches the block and that have not failed it.
            var chosen: Int?
            for k in 0..<candidates.count {
                let id = candidates[(cursor + k) % candidates.count]
                if load[id, default: 0] < perPeer, (best[id] ?? -1) >= height, !(misses[h]?.contains(id) ?? false) {
                    chosen = id
                    cursor = (cursor + k + 1) % candidates.count
                    break
                }
            }
            guard let id = chosen else {
                remaining.append(h)
                candidates.removeAll { load[$0, default: 0] >= perPeer }
                continue
            }
            load[id, default: 0] += 1
            inFlight[h] = (id, now)
            requests[id, default: []].append(h)
        }
        queue = remaining
        queued = Set(remaining)
        for h in givenUp { misses[h] = nil }
        return (requests, givenUp)
    }
}
