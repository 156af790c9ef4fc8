import ChainCore

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

    enum Reason: String {
        case malformed = "bad-encoding"
        case oversize = "tx-size"
        case coinbase = "coinbase"
        case alreadyInPool = "txn-already-in-mempool"
        case alreadyKnown = "txn-already-known"
        case conflict = "txn-mempool-conflict"
        case tooLongChain = "too-long-mempool-chain"
        case lowFee = "min-relay-fee-not-met"
        case dust = "dust"
        case full = "mempool-full"
    }
}
