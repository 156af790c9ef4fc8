import Dispatch
import Synchronization

/// A block's signatures verified on Dispatch's worker threads straight from its transactions and
/// the coins they spend, started before its rules are checked: each worker takes a run of
/// transactions, computes each one's signing hash (`Sighash`) and verifies its inputs. So the
/// signatures do not wait for the block's rules (`BlockRules.connectDeferringSignatures`), which
/// run meanwhile on the caller's thread, nor are the signing hashes made on that one thread.
///
/// A spent coin is the block's own output (an earlier transaction's) or one of `coins` (read from
/// the UTXO set). A transaction with an input found in neither is skipped: the rules refuse the
/// block for it, and a caller that gets a refusal from the rules cancels this verification. The
/// verdict is the failing check lowest in block order (transaction, then input), the one the
/// checks in order would report, as `SignatureVerification` gives for a block's list of checks.
public final class BlockSignatureVerification: Sendable {
    /// Transactions a worker takes at a time.
    public static let chunkSize = 32

    private let block: Block
    private let coins: [OutPoint: Coin]
    /// The block's outputs by txid (its transaction's position), for spends within the block.
    private let positions: [Hash256: Int]
    private let skip: [Bool]?
    private let params: ChainParams
    private let next = Atomic<Int>(1)
    /// Lowest failing (transaction << 32 | input) found so far (`Int.max`: none).
    private let lowestFailure = Atomic<Int>(.max)
    private let group = DispatchGroup()

    /// Starts verifying `block` (`txids` are its) at once. `skip[i] == true`: transaction `i`'s
    /// signatures were verified already (the signature cache).
    public init(_ block: Block, txids: [Hash256], coins: [OutPoint: Coin], skip: [Bool]?, params: ChainParams,
                parallelism: Int = SignatureBatch.defaultParallelism) {
        precondition(txids.count == block.transactions.count, "one txid per transaction")
        precondition(skip.map { $0.count == block.transactions.count } ?? true, "one mark per transaction")
        self.block = block
        self.coins = coins
        self.skip = skip
        self.params = params
        var positions = [Hash256: Int](minimumCapacity: txids.count)
        for (i, txid) in txids.enumerated() where positions[txid] == nil { positions[txid] = i }
        self.positions = positions
        let chunks = (block.transactions.count - 1 + Self.chunkSize - 1) / Self.chunkSize
        for _ in 0..<min(max(1, parallelism), chunks) {
            DispatchQueue.global(qos: .userInitiated).async(group: group) { [self] in work() }
        }
    }

    private func work() {
        var spent = [TxOutput]()
        let count = block.transactions.count
        while true {
            let start = next.add(Self.chunkSize, ordering: .relaxed).oldValue
            guard start < count, start << 32 < lowestFailure.load(ordering: .relaxed) else { return }
            for index in start..<min(start + Self.chunkSize, count) where skip?[index] != true {
                let tx = block.transactions[index]
                spent.removeAll(keepingCapacity: true)
                for input in tx.inputs {
                    guard let output = output(input.previousOutput, before: index) else { break }
                    spent.append(output)
                }
                guard spent.count == tx.inputs.count else { continue }   // the rules refuse it
                let message = Sighash.compute(tx, spent: spent, params: params)
                for (i, input) in tx.inputs.enumerated()
                where !SignatureCheck(publicKey: spent[i].publicKey, message: message, signature: input.payload,
                                      txIndex: index, inputIndex: i).verify() {
                    lowestFailure.min(index << 32 | i, ordering: .relaxed)
                    return
                }
            }
        }
    }

    /// The output `outpoint` names: an earlier transaction's of the block, or a coin read.
    private func output(_ outpoint: OutPoint, before index: Int) -> TxOutput? {
        if let p = positions[outpoint.txid], p < index {
            let outputs = block.transactions[p].outputs
            return Int(outpoint.index) < outputs.count ? outputs[Int(outpoint.index)] : nil
        }
        return coins[outpoint]?.output
    }

    /// Stops handing out transactions (those under way finish), for a caller that no longer needs
    /// the verdict, which is then meaningless.
    public func cancel() {
        next.store(block.transactions.count, ordering: .relaxed)
    }

    /// Blocks the calling thread until the verdict: the failing check lowest in block order, or nil
    /// when all verify. Never call it from the cooperative pool (a task's thread).
    public func wait() -> SignatureCheck? {
        group.wait()
        let found = lowestFailure.load(ordering: .acquiring)
        guard found != .max else { return nil }
        let index = found >> 32, input = found & 0xffff_ffff
        let tx = block.transactions[index]
        let spent = tx.inputs.map { output($0.previousOutput, before: index)! }
        return SignatureCheck(publicKey: spent[input].publicKey, message: Sighash.compute(tx, spent: spent, params: params),
                              signature: tx.inputs[input].payload, txIndex: index, inputIndex: input)
    }
}
