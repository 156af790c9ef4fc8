/// The mempool's consistency check (`checkmempool` on mempool.rpc): its memory against itself
/// (links, spends, byte count), against its file, and its inputs against the chain's UTXO set.
public struct MempoolCheck: Codable, Sendable, Equatable {
    public var ok: Bool
    public var count: Int
    public var stored: Int
    /// False when the chain store did not answer (the inputs were not checked against it).
    public var chainChecked: Bool
    public var problems: [String]
    public init(ok: Bool, count: Int, stored: Int, chainChecked: Bool, problems: [String]) {
        self.ok = ok; self.count = count; self.stored = stored; self.chainChecked = chainChecked; self.problems = problems
    }
}
