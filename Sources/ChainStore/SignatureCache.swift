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
/// verified; `follow(_:)`). Bounded by generations: inserts go to the current set; when it holds
/// half the capacity it becomes the previous one and the one before is dropped, so at most
/// `capacity` txids are held (32 bytes each; 300,000 take about 17 MB with the sets' tables) and the newest half always
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
    }

    private struct State {
        var current = Set<Hash256>()
        var previous = Set<Hash256>()
        var stats = Stats()
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
    /// coinbase, index 0, has none and is never looked up nor counted). One lock for the block.
    func verified(_ txids: [Hash256]) -> [Bool] {
        state.withLock { s in
            var out = [Bool](repeating: false, count: txids.count)
            var hits = 0
            for i in txids.indices.dropFirst() where s.current.contains(txids[i]) || s.previous.contains(txids[i]) {
                out[i] = true
                hits += 1
            }
            s.stats.hits += hits
            s.stats.misses += max(0, txids.count - 1) - hits
            return out
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
                "signatureCacheSize": "\(s.count)", "signatureCacheCapacity": "\(cache.capacity)", "signatureCacheIgnored": "\(s.ignored)"]
    }

    /// Fills the cache from a subscriber to the mempool's `hashtx` until its events end. A gap or a
    /// restart of the mempool is only publications missed: their transactions are verified in full.
    func follow(_ events: EventStream<SubscriberEvent>, logger: Logger) async {
        for await event in events {
            switch event {
            case let .message(topic, body, _):
                if topic == Topic.hashtx, !insert(hashtx: body) {
                    logger.debug("ignored a hashtx body of \(body.count) bytes")
                }
            case let .gap(topic, expected, received):
                logger.info("missed mempool publications: their transactions' signatures will be verified",
                            metadata: ["topic": "\(topic)", "missed": "\(received &- expected)"])
            case .reset:
                break
            }
        }
    }
}
