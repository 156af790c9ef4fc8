/// Why the mempool refuses a transaction (its relay policy and its state; the consensus reasons are
/// `RejectReason`), each with a stable code as Bitcoin Core's. The mempool refuses with them
/// (`Policy.Reason`); the edge maps them to HTTP statuses and JSON-RPC errors: one list, on both
/// sides of the bus. (A policy refusal never scores a peer: only consensus reasons can,
/// `RejectReason.provesInvalidTransaction`.)
public enum MempoolRefusal: String, Sendable, CaseIterable, Codable {
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
    /// The mempool could not reach the chain store: nothing wrong with the transaction, retry later.
    case chainUnavailable = "chain-unavailable"
    /// Its fee is above the `maxFee` its submitter allowed (JSON-RPC `maxfeerate`; Core's
    /// `max-fee-exceeded`): checked after the transaction's own rules, the replacement rules and its
    /// signatures, as Core checks it after a test acceptance; before the pool makes room for it.
    case maxFeeExceeded = "max-fee-exceeded"
}
