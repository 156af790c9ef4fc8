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
