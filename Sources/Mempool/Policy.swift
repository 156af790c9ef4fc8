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
    /// Replacement (full-RBF, as Bitcoin Core's default since 28: no opt-in signal needed): the
    /// replacement pays at least the replaced fees plus this rate times its own size, units per byte
    /// (Core's -incrementalrelayfee, 1 sat/vB).
    var incrementalFeeRate: Double = 1.0
    /// Most transactions one replacement may evict, its direct conflicts and all their
    /// descendants together (BIP-125 rule 5, Core's MAX_REPLACEMENT_CANDIDATES).
    var maxReplacements = 100

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
        /// Too many admissions are waiting for the disk (the group commit's queue, GroupCommit.swift):
        /// nothing wrong with the transaction, retry shortly.
        case busy = "mempool-busy"
        // Replacement (Core's policy/rbf.cpp and MemPoolAccept::ReplacementChecks, in kebab case).
        /// Rule 3, 4 or 6: less than the replaced fees, not enough more to pay for its own relay,
        /// or a fee rate not above a directly conflicting transaction's.
        case insufficientFee = "insufficient-fee"
        /// Rule 5: it would evict more than `maxReplacements` transactions.
        case tooManyReplacements = "too-many-potential-replacements"
        /// Rule 2: it spends an unconfirmed output none of the replaced transactions spent.
        case addsUnconfirmed = "replacement-adds-unconfirmed"
        /// It spends an output of a transaction it would replace.
        case spendsConflicting = "bad-txns-spends-conflicting-tx"
    }
}
