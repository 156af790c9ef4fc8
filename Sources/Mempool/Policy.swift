import ChainCore
import NodeKit

/// Relay policy: what this node's mempool accepts beyond the consensus rules.
/// Each refusal has a stable code, as Bitcoin Core's.
struct Policy: Sendable {
    /// Largest transaction accepted into the pool, bytes.
    var maxTxSize = 100_000
    /// Minimum fee rate, base units per byte.
    var minFeeRate: Double = 1.0
    /// Outputs smaller than this are dust.
    var dustLimit: Amount = 1_000
    /// Most unconfirmed ancestors (a chain of unconfirmed spends) a transaction may have.
    var maxAncestors = 25
    /// Pool size cap, bytes of transactions; past it the lowest fee rates are evicted.
    var maxPoolBytes = 64 * 1_000_000
    /// Replacement (full-RBF, as Bitcoin Core's default since 28: no opt-in signal needed): the
    /// replacement pays at least the replaced fees plus this rate times its own size, units per byte
    /// (Core's -incrementalrelayfee, 1 sat/vB).
    var incrementalFeeRate: Double = 1.0
    /// Most transactions one replacement may evict, its direct conflicts and all their
    /// descendants together (BIP-125 rule 5, Core's MAX_REPLACEMENT_CANDIDATES).
    var maxReplacements = 100

    /// The refusal codes (in the contract: the edge maps them to HTTP and JSON-RPC answers).
    typealias Reason = MempoolRefusal
}
