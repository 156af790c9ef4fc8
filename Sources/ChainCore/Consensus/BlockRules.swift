/// What a header is checked against: facts about the chain it extends.
public struct HeaderContext: Sendable {
    /// Height the new block would have.
    public let height: Int
    /// The bits the difficulty rule requires at that height.
    public let expectedBits: UInt32
    /// Median time of the last 11 blocks before it.
    public let medianTimePast: UInt32

    public init(height: Int, expectedBits: UInt32, medianTimePast: UInt32) {
        self.height = height
        self.expectedBits = expectedBits
        self.medianTimePast = medianTimePast
    }
}

public struct SpentCoin: Hashable, Sendable {
    public let outpoint: OutPoint
    public let coin: Coin
    public init(outpoint: OutPoint, coin: Coin) { self.outpoint = outpoint; self.coin = coin }
}

public struct CreatedCoin: Hashable, Sendable {
    public let outpoint: OutPoint
    public let coin: Coin
    public init(outpoint: OutPoint, coin: Coin) { self.outpoint = outpoint; self.coin = coin }
}

/// The effect of connecting a block on the UTXO set. `spent` doubles as the
/// undo data: restoring it and removing `created` disconnects the block.
public struct BlockConnection: Hashable, Sendable {
    public let spent: [SpentCoin]
    public let created: [CreatedCoin]
    public let fees: Amount
    public let subsidy: Amount
}

public enum BlockRules {
    /// Proof of work: valid bits within the network's limit, and hash ≤ target.
    public static func checkProofOfWork(_ header: BlockHeader, params: ChainParams) throws(ValidationError) {
        guard let target = CompactTarget.target(bits: header.bits, limit: params.powLimit) else {
            throw ValidationError(.badDiffBits, "bits \(hex8(header.bits)) are negative, overflow, zero or below the minimum difficulty")
        }
        guard header.hash <= CompactTarget.hashValue(target) else {
            throw ValidationError(.highHash, "hash \(header.hash.hex) is above the target")
        }
    }

    /// Header checks against its parent chain; `now` is the validating node's clock (Unix seconds).
    public static func checkHeader(_ header: BlockHeader, context: HeaderContext, now: Int64, params: ChainParams) throws(ValidationError) {
        guard header.version >= 1 else { throw ValidationError(.badVersion, "version \(header.version) < 1") }
        guard header.bits == context.expectedBits else {
            throw ValidationError(.badDiffBits, "bits \(hex8(header.bits)), the difficulty rule requires \(hex8(context.expectedBits))")
        }
        try checkProofOfWork(header, params: params)
        guard header.time > context.medianTimePast else {
            throw ValidationError(.timeTooOld, "time \(header.time) is not after the median time past \(context.medianTimePast)")
        }
        guard Int64(header.time) <= now + ChainParams.maxFutureBlockTime else {
            throw ValidationError(.timeTooNew, "time \(header.time) is more than 2 hours ahead of \(now)")
        }
    }

    /// Checks that need only the block itself.
    /// `txids`, when given, are the block's (`block.txids`).
    public static func checkBlock(_ block: Block, params: ChainParams, txids: [Hash256]? = nil) throws(ValidationError) {
        let size = block.encodedSize
        guard size <= Limits.maxBlockSize else {
            throw ValidationError(.badBlockLength, "\(size) bytes, limit \(Limits.maxBlockSize)")
        }
        guard let first = block.transactions.first, first.isCoinbase else {
            throw ValidationError(.coinbaseMissing, "the first transaction is not a coinbase")
        }
        try checkProofOfWork(block.header, params: params)
        let txids = txids ?? block.txids
        precondition(txids.count == block.transactions.count, "one txid per transaction")
        let (root, mutated) = Merkle.root(txids)
        guard root == block.header.merkleRoot else {
            throw ValidationError(.badMerkleRoot, "merkle root \(root.hex) does not match the header's \(block.header.merkleRoot.hex)")
        }
        guard !mutated else {
            throw ValidationError(.duplicateTransaction, "the merkle tree pairs identical hashes (CVE-2012-2459)")
        }
        for (i, tx) in block.transactions.enumerated() {
            if i > 0 && tx.isCoinbase { throw ValidationError(.coinbaseMultiple, "transaction \(i) is a second coinbase") }
            try TransactionRules.checkSanity(tx)
        }
        guard Set(txids).count == txids.count else {
            throw ValidationError(.duplicateTransaction, "a transaction appears twice")
        }
        var spends = Set<OutPoint>()
        for tx in block.transactions.dropFirst() {
            for input in tx.inputs where !spends.insert(input.previousOutput).inserted {
                throw ValidationError(.blockInputsDuplicate, "\(input.previousOutput) is spent twice in the block")
            }
        }
    }

    /// The height a coinbase commits to (its first 4 payload bytes, little-endian).
    public static func coinbaseHeight(_ coinbase: Transaction) -> Int? {
        guard coinbase.isCoinbase, coinbase.inputs[0].payload.count >= 4 else { return nil }
        let p = coinbase.inputs[0].payload
        return Int(UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16 | UInt32(p[3]) << 24)
    }

    /// Connects a block at `height` to the UTXO set `view`: every input exists,
    /// is unspent and mature; no transaction creates money; the coinbase
    /// commits to the height and claims at most subsidy + fees; every signature
    /// verifies (in parallel). Does not modify `view`; returns the changes.
    /// Expects `checkBlock` to have passed. `txids`, when given, are the block's (`block.txids`).
    public static func connect(_ block: Block, height: Int, view: some CoinView, params: ChainParams,
                               txids: [Hash256]? = nil) async throws(ValidationError) -> BlockConnection {
        let pending = try connectDeferringSignatures(block, height: height, view: view, params: params, txids: txids)
        if let bad = await SignatureBatch.firstFailure(pending.checks) { throw signatureError(bad) }
        return pending.connection
    }

    /// Every rule of `connect` but the signatures, checked in the same order; the signature checks
    /// come back (in block order) for the caller to verify, where a failure is `signatureError(_:)`
    /// of the first failing one. A block is valid only once they all verify.
    ///
    /// `signaturesVerified`, when given (one per transaction), marks the transactions whose every
    /// signature is already known to verify (the chain store's signature cache, keyed by txid, which
    /// covers the signatures and, through the outpoints, the outputs they spend): their checks are
    /// not made, their sighash not even computed; every other rule applies to them as to the rest.
    public static func connectDeferringSignatures(_ block: Block, height: Int, view: some CoinView, params: ChainParams,
                                                  txids: [Hash256]? = nil,
                                                  signaturesVerified: [Bool]? = nil) throws(ValidationError) -> PendingConnection {
        let txids = txids ?? block.txids
        precondition(txids.count == block.transactions.count, "one txid per transaction")
        precondition(signaturesVerified.map { $0.count == block.transactions.count } ?? true, "one mark per transaction")
        let coinbase = block.transactions[0]
        guard coinbaseHeight(coinbase) == height else {
            throw ValidationError(.coinbaseHeight, "coinbase commits to height \(coinbaseHeight(coinbase).map(String.init) ?? "none"), block is at \(height)")
        }
        let outputCount = block.transactions.reduce(0) { $0 + $1.outputs.count }
        let inputCount = block.transactions.reduce(0) { $0 + $1.inputs.count } - 1
        var createdInBlock = [OutPoint: Coin](minimumCapacity: outputCount)
        var createdOrder = [OutPoint]()
        createdOrder.reserveCapacity(outputCount)
        var spent = [SpentCoin]()
        spent.reserveCapacity(inputCount)
        var spentInBlock = Set<OutPoint>(minimumCapacity: inputCount)
        var checks = [SignatureCheck]()
        checks.reserveCapacity(inputCount)
        var fees: Amount = 0
        var txFees = [Amount]()
        txFees.reserveCapacity(block.transactions.count)
        txFees.append(0)

        func addOutputs(_ tx: Transaction, txid: Hash256, isCoinbase: Bool) {
            for (i, output) in tx.outputs.enumerated() {
                let op = OutPoint(txid: txid, index: UInt32(i))
                createdInBlock[op] = Coin(output: output, height: height, isCoinbase: isCoinbase)
                createdOrder.append(op)
            }
        }
        addOutputs(coinbase, txid: txids[0], isCoinbase: true)

        var coins = [Coin]()
        for (index, tx) in block.transactions.enumerated().dropFirst() {
            coins.removeAll(keepingCapacity: true)
            for (i, input) in tx.inputs.enumerated() {
                let op = input.previousOutput
                if let coin = createdInBlock.removeValue(forKey: op) {
                    coins.append(coin)
                } else if !spentInBlock.contains(op), let coin = view.coin(op) {
                    coins.append(coin)
                    spentInBlock.insert(op)
                    spent.append(SpentCoin(outpoint: op, coin: coin))
                } else {
                    throw ValidationError(.inputsMissingOrSpent, "transaction \(index) input \(i) spends \(op), which is missing or spent")
                }
            }
            let fee = try TransactionRules.checkInputs(tx, coins: coins, spendHeight: height, params: params)
            fees += fee
            txFees.append(fee)
            guard fees <= ChainParams.maxMoney else { throw ValidationError(.feeOutOfRange, "fees add up to more than the money supply") }
            if signaturesVerified?[index] != true {
                checks += TransactionRules.signatureChecks(tx, coins: coins, params: params, txIndex: index)
            }
            addOutputs(tx, txid: txids[index], isCoinbase: false)
        }

        let subsidy = params.subsidy(height: height)
        let claimed = coinbase.outputs.reduce(Amount(0)) { $0 + $1.value }
        guard claimed <= subsidy + fees else {
            throw ValidationError(.coinbaseAmount, "coinbase pays \(Units.format(claimed)), limit is subsidy \(Units.format(subsidy)) + fees \(Units.format(fees))")
        }
        let created = createdOrder.compactMap { op in createdInBlock[op].map { CreatedCoin(outpoint: op, coin: $0) } }
        return PendingConnection(connection: BlockConnection(spent: spent, created: created, fees: fees, subsidy: subsidy), checks: checks,
                                 txFees: txFees)
    }

    /// The refusal of a block whose check `bad` (its first failing one) does not verify.
    public static func signatureError(_ bad: SignatureCheck) -> ValidationError {
        ValidationError(.badSignature, "transaction \(bad.txIndex) input \(bad.inputIndex) signature does not verify")
    }
}

/// A block's effect on the UTXO set, valid once its signature checks verify (`BlockRules.connectDeferringSignatures`).
public struct PendingConnection: Sendable {
    public let connection: BlockConnection
    /// One per input of every non-coinbase transaction not marked as verified, in block order.
    public let checks: [SignatureCheck]
    /// Each transaction's fee, in block order (the coinbase's 0).
    public let txFees: [Amount]
}

/// Eight hex digits, as compact bits are usually shown.
public func hex8(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: max(0, 8 - s.count)) + s
}
