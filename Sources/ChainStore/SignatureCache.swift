import Bus
import ChainCore
import Logging
import NodeKit
import Synchronization

/// The txids of transactions whose every signature this node's mempool verified: Bitcoin Core's
/// script execution cache (`m_script_execution_cache` in validation.cpp, filled when a transaction
/// passes mempool acceptance and consulted by `ConnectBlock`), across our process boundary.
///
/// It is sound keyed by txid alone: a txid is the SHA-256d of the whole transaction, signatures
/// included (PROTOCOL §3), and each input's outpoint names by txid the output it spends, so its value
/// and key (all a signature covers besides the transaction itself, PROTOCOL §5) are fixed too:
/// "every signature of X verifies" is a fact about X. Connecting a block still checks everything
/// else (coins exist and are unspent, amounts, maturity, the coinbase, the merkle root...); only the
/// signature checks of the transactions held here are skipped.
///
/// Filled from the mempool's `hashtx` publications (on entry to the pool, after its signatures
/// verified; `follow(_:vouch:logger:)`), once that mempool has answered `getnodeid` as this node's
/// and on this network: a signature commits to the network's genesis hash (PROTOCOL §5), so "every
/// signature of X verifies" holds on one network only, and another network's mempool (say a second
/// node's whose ports collide with ours) must not fill this cache. Asked again after the publisher
/// restarts (a `reset`); while not vouched for, its publications are dropped and counted.
///
/// Bounded by generations: inserts go to the current set; when it holds half the capacity it
/// becomes the previous one and the one before is dropped, so at most `capacity` txids are held
/// (32 bytes each; 300,000 take about 17 MB with the sets' tables) and the newest half always
/// stays. A miss only means the signatures are verified, as without the cache; a lost publication, a
/// mempool that restarted or none at all changes nothing but the hit rate, and nothing here waits.
final class SignatureCache: Sendable {
    /// The default bound: a few minutes of a 5,000 transactions a second flood.
    static let defaultCapacity = 300_000

    struct Stats: Sendable, Equatable {
        /// Transactions of connected blocks whose signature checks were skipped / verified.
        var hits = 0
        var misses = 0
        /// txids held now.
        var count = 0
        /// `hashtx` bodies ignored (not 32 bytes).
        var ignored = 0
        /// `hashtx` publications dropped while their publisher was not vouched for.
        var unvouched = 0
        /// The publisher is vouched for now.
        var vouched = false
    }

    private struct State {
        var current = Set<Hash256>()
        var previous = Set<Hash256>()
        var stats = Stats()
        /// Moves at each reset of the publisher: a verdict on an earlier instance is not applied.
        var epoch = 0
    }

    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int = defaultCapacity) {
        precondition(capacity >= 2, "a capacity of at least 2")
        self.capacity = capacity
    }

    /// Remembers that every signature of `txid` verifies.
    func insert(_ txid: Hash256) {
        let half = capacity / 2
        state.withLock { s in
            guard !s.current.contains(txid) else { return }
            if s.current.count >= half {
                s.previous = s.current
                s.current = Set(minimumCapacity: half)
            }
            s.current.insert(txid)
        }
    }

    /// A `hashtx` body: the txid in display order, 32 bytes. Anything else is ignored (false).
    @discardableResult
    func insert(hashtx body: [UInt8]) -> Bool {
        guard body.count == 32 else {
            state.withLock { $0.stats.ignored += 1 }
            return false
        }
        insert(Hash256(bytes: body.reversed()))
        return true
    }

    func contains(_ txid: Hash256) -> Bool {
        state.withLock { $0.current.contains(txid) || $0.previous.contains(txid) }
    }

    /// For a block's `txids`: per transaction, whether its signatures are known to verify (the
    /// coinbase, index 0, has none and is never looked up). One lock for the block. Counted only
    /// by `connected(_:)`, once the block is connected: a block looked up and then connected
    /// another way (a prepared connection discarded) or refused is not counted.
    func verified(_ txids: [Hash256]) -> [Bool] {
        state.withLock { s in
            var out = [Bool](repeating: false, count: txids.count)
            for i in txids.indices.dropFirst() where s.current.contains(txids[i]) || s.previous.contains(txids[i]) {
                out[i] = true
            }
            return out
        }
    }

    /// A block connected with these `verified` flags: its transactions (but the coinbase) counted
    /// as hits (checks skipped) or misses (verified).
    func connected(_ flags: [Bool]) {
        let hits = flags.dropFirst().count { $0 }
        state.withLock { s in
            s.stats.hits += hits
            s.stats.misses += max(0, flags.count - 1) - hits
        }
    }

    var stats: Stats {
        state.withLock { s in
            var out = s.stats
            out.count = s.current.count + s.previous.count
            return out
        }
    }

    /// What `getstatus` says of `cache` (nil: turned off).
    static func statusDetails(_ cache: SignatureCache?) -> [String: String] {
        guard let cache else { return ["signatureCache": "off"] }
        let s = cache.stats
        return ["signatureCache": "on", "signatureCacheHits": "\(s.hits)", "signatureCacheMisses": "\(s.misses)",
                "signatureCacheSize": "\(s.count)", "signatureCacheCapacity": "\(cache.capacity)", "signatureCacheIgnored": "\(s.ignored)",
                "signatureCacheSource": s.vouched ? "vouched" : "not vouched", "signatureCacheUnvouched": "\(s.unvouched)"]
    }

    /// Fills the cache from a subscriber to the mempool's `hashtx` until its events end, taking a
    /// publication only while `vouch` has vouched for its publisher: asked at the start and again
    /// after each reset (a new publisher instance), every `retry` while it does not answer, never
    /// again until the next reset once it answered of another node or network. A gap or a restart
    /// of the mempool is only publications missed: their transactions are verified in full.
    func follow(_ events: some AsyncSequence<SubscriberEvent, Never>, vouch: @escaping @Sendable () async -> NodeIdentity.Verdict,
                retry: Duration = .seconds(1), logger: Logger) async {
        var asking = ask(vouch, epoch: 0, retry: retry, logger: logger)
        defer { asking.cancel() }
        for await event in events {
            switch event {
            case let .message(topic, body, _):
                guard topic == Topic.hashtx else { continue }
                let vouched = state.withLock { s in
                    if !s.stats.vouched { s.stats.unvouched += 1 }
                    return s.stats.vouched
                }
                if vouched, !insert(hashtx: body) {
                    logger.debug("ignored a hashtx body of \(body.count) bytes")
                }
            case let .gap(topic, expected, received):
                logger.info("missed mempool publications: their transactions' signatures will be verified",
                            metadata: ["topic": "\(topic)", "missed": "\(received &- expected)"])
            case .reset:
                // Another publisher instance: not trusted before it is asked again.
                let epoch = state.withLock { s in
                    s.stats.vouched = false
                    s.epoch += 1
                    return s.epoch
                }
                asking.cancel()
                asking = ask(vouch, epoch: epoch, retry: retry, logger: logger)
            }
        }
    }

    /// Asks `vouch` until it answers, and applies its verdict if no reset came meanwhile.
    private func ask(_ vouch: @escaping @Sendable () async -> NodeIdentity.Verdict, epoch: Int, retry: Duration,
                     logger: Logger) -> Task<Void, Never> {
        Task {
            var waited = 0
            while !Task.isCancelled {
                switch await vouch() {
                case .same:
                    let applied = state.withLock { s in
                        guard s.epoch == epoch else { return false }
                        s.stats.vouched = true
                        return true
                    }
                    if applied { logger.info("signature cache: the mempool publishing hashtx is this node's, on this network") }
                    return
                case let .other(why):
                    logger.warning("signature cache not filled: the mempool publishing hashtx is not this node's: \(why)")
                    return
                case let .unreachable(why):
                    waited += 1
                    if waited == 1 || waited % 30 == 0 {
                        logger.info("signature cache waits for the mempool to answer its node id", metadata: ["error": "\(why)"])
                    }
                    try? await Task.sleep(for: retry)
                }
            }
        }
    }
}
