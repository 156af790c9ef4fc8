import ChainCore

/// What a connected block's transactions spend and pay, for its stored rows.
extension Chain {
    static func spentOutpoints(_ block: Block) -> [OutPoint] {
        block.transactions.dropFirst().flatMap { $0.inputs.map(\.previousOutput) }
    }

    /// Per-transaction fees, from the coins spent (in the order `connect` spends them) and outputs created earlier in the block.
    static func fees(_ block: Block, txids: [Hash256], _ connection: BlockConnection) -> [Amount] {
        var values = [OutPoint: Amount](minimumCapacity: connection.spent.count + connection.created.count)
        for s in connection.spent { values[s.outpoint] = s.coin.output.value }
        var fees = [Amount]()
        fees.reserveCapacity(block.transactions.count)
        for (i, tx) in block.transactions.enumerated() {
            let txid = txids[i]
            if i == 0 {
                fees.append(0)
            } else {
                let inSum = tx.inputs.reduce(Amount(0)) { $0 + (values[$1.previousOutput] ?? 0) }
                let outSum = tx.outputs.reduce(Amount(0)) { $0 + $1.value }
                fees.append(inSum >= outSum ? inSum - outSum : 0)
            }
            for (j, o) in tx.outputs.enumerated() { values[OutPoint(txid: txid, index: UInt32(j))] = o.value }
        }
        return fees
    }
}
