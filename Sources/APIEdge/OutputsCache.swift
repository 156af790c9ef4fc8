import ChainCore

/// The outputs of transactions the edge has seen lately, by txid (a txid fixes its outputs
/// forever), for the explorer's and JSON-RPC's fees and addresses (`Backend.prevouts`) without a
/// bus round trip per spent transaction. Two generations: when the newer one holds `generation`
/// transactions it becomes the older and the older is dropped, so the last `generation` to
/// `2 × generation` transactions seen are always there. (It used to be one dictionary emptied at
/// once when full: in a flood, every few seconds, a block's page then asked again for every parent.)
struct OutputsCache: Sendable {
    let generation: Int
    private var newer: [Hash256: [TxOutput]] = [:]
    private var older: [Hash256: [TxOutput]] = [:]

    init(generation: Int) { self.generation = max(1, generation) }

    var count: Int { newer.count + older.count }

    mutating func insert(_ outputs: [TxOutput], of txid: Hash256) {
        if newer[txid] == nil, newer.count >= generation {
            older = newer
            newer = [:]
            newer.reserveCapacity(generation)
        }
        newer[txid] = outputs
    }

    func outputs(of txid: Hash256) -> [TxOutput]? { newer[txid] ?? older[txid] }
}
