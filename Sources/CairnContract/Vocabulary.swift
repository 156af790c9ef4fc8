import ChainCore

/// What the chain store knows of a block, as `chain.rpc getblockstates` answers it per hash
/// (null: unknown). The peer bridge decides from it whether to ask for, score or ignore a block.
public enum BlockState: String, Codable, Sendable, CaseIterable {
    /// On the best chain.
    case active
    /// Stored on a side branch (valid so far, less work than the tip).
    case stored
    /// Failed validation, or descends from a block that did.
    case invalid
}

/// What became of a block submitted to the chain store (`submitblock`), decided once from its
/// `SubmitBlockResult`. The wire keeps Bitcoin Core's strings (BIP 22: null, "duplicate",
/// "duplicate-invalid", "inconclusive", or the rule broken); code decides on this.
public enum SubmitOutcome: Equatable, Sendable {
    /// Connected: now the tip or on the best chain.
    case accepted
    /// Valid so far and stored, on a branch with less work than the tip ("inconclusive").
    case sideBranch
    /// Already known and not invalid.
    case duplicate
    /// Already known to be invalid.
    case duplicateInvalid
    /// Refused for a reason that may not hold later: the chain store's own trouble ("internal"),
    /// or a timestamp too far in the future.
    case transient(String)
    /// Its parent is not stored here.
    case unknownParent
    /// Broke a consensus rule.
    case invalid(RejectReason)
    /// A reason this code does not know (a newer chain store): treated as a refusal of unknown blame.
    case other(String)

    public static let duplicateCode = "duplicate"
    public static let duplicateInvalidCode = "duplicate-invalid"
    public static let sideBranchCode = "inconclusive"
    public static let internalCode = "internal"

    /// The `reason` text the chain store sends for this outcome (nil when accepted).
    public var code: String? {
        switch self {
        case .accepted: return nil
        case .sideBranch: return Self.sideBranchCode
        case .duplicate: return Self.duplicateCode
        case .duplicateInvalid: return Self.duplicateInvalidCode
        case .transient(let code), .other(let code): return code
        case .unknownParent: return RejectReason.badPrevBlock.rawValue
        case .invalid(let r): return r.rawValue
        }
    }

    /// Whether the block itself is known to break the rules: the sender of such a block is at fault
    /// (the peer bridge scores `invalid-block`), a re-sent known-invalid block included, as Bitcoin
    /// Core punishes a block it has cached as invalid.
    public var provesInvalidBlock: Bool {
        switch self {
        case .duplicateInvalid, .invalid: return true
        case .accepted, .sideBranch, .duplicate, .transient, .unknownParent, .other: return false
        }
    }
}

extension SubmitBlockResult {
    public var outcome: SubmitOutcome {
        if accepted { return .accepted }
        guard let reason else { return .other("") }
        switch reason {
        case SubmitOutcome.sideBranchCode: return .sideBranch
        case SubmitOutcome.duplicateCode: return .duplicate
        case SubmitOutcome.duplicateInvalidCode: return .duplicateInvalid
        case SubmitOutcome.internalCode: return .transient(reason)
        default:
            switch RejectReason(rawValue: reason) {
            case .timeTooNew?: return .transient(reason)
            case .badPrevBlock?: return .unknownParent
            case let r?: return .invalid(r)
            case nil: return .other(reason)
            }
        }
    }
}

extension RejectReason {
    /// Whether a transaction refused for this reason is invalid whatever the receiver's chain and
    /// pool: its sender could have known (the peer bridge scores `invalid-transaction`). Refusals
    /// that depend on the receiver's view (inputs missing or spent, coinbase maturity) are not.
    public var provesInvalidTransaction: Bool {
        switch self {
        case .txVersion, .inputsEmpty, .outputsEmpty, .txOversize, .outputTooLarge, .outputTotalTooLarge,
             .inputsDuplicate, .prevoutNull, .signatureLength, .badSignature, .inBelowOut, .inputValuesOutOfRange,
             .coinbaseMultiple, .coinbaseLength:
            return true
        case .inputsMissingOrSpent, .prematureCoinbaseSpend, .feeOutOfRange,
             .malformed, .badVersion, .badDiffBits, .highHash, .timeTooOld, .timeTooNew, .badPrevBlock,
             .badBlockLength, .badMerkleRoot, .duplicateTransaction, .coinbaseMissing, .coinbaseHeight, .coinbaseAmount,
             .blockInputsDuplicate:
            return false
        }
    }
}

/// What a trace event follows.
public enum TraceKind: String, Codable, Sendable, CaseIterable {
    case tx, block
}

/// One step of a path (docs/ARCHITECTURE.md, "The path of a transaction"). The wire and the
/// `trace` tables carry the raw values.
public enum TraceStage: String, Codable, Sendable, CaseIterable {
    /// Seen first by this service (the edge's POST, a peer, the chain store's submit).
    case received
    /// Admitted to the mempool.
    case accepted
    /// Refused (by the mempool's policy or consensus, or a block found invalid on connect).
    case rejected
    /// Put in a block template for the first time (with the asking miner).
    case template
    /// Included in a block the mempool learned of.
    case mined
    /// Connected to / disconnected from the best chain.
    case connected, disconnected
    /// Left the mempool for a reason other than a block (expiry, eviction, a conflict).
    case removed
    /// Back in the pool: its block was disconnected.
    case returned
    /// Evicted by a fee bump.
    case replaced
    /// Announced to peers.
    case relayed
}

/// The node's processes, by the names that stamp trace events, name bus certificates (`NAME.key`,
/// `NAME.pub`), the children of `cairn up` and their executables (`cairn-NAME`). A miner stamps as
/// `miner:<id>`. The wallet front serves the browser wallet and is not on the bus.
public enum ServiceName: String, Codable, Sendable, CaseIterable {
    case edge, mempool, chainstore, peerbridge, accounts, miner, walletfront

    /// The `service` text of a miner's stamp.
    public static func miner(id: String) -> String { "\(ServiceName.miner.rawValue):\(id)" }

    /// What messages call it: "chain store", "peer bridge", …
    public var title: String {
        switch self {
        case .edge: "edge"
        case .mempool: "mempool"
        case .chainstore: "chain store"
        case .peerbridge: "peer bridge"
        case .accounts: "the accounts service"
        case .miner: "miner"
        case .walletfront: "wallet front"
        }
    }
}
