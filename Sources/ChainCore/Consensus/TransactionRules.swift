/// Rules for one transaction: context-free sanity, then checks against the
/// coins it spends.
public enum TransactionRules {
    /// Checks that need nothing but the transaction.
    public static func checkSanity(_ tx: Transaction) throws(ValidationError) {
        guard tx.version == Transaction.currentVersion else {
            throw ValidationError(.txVersion, "version \(tx.version), expected \(Transaction.currentVersion)")
        }
        guard !tx.inputs.isEmpty else { throw ValidationError(.inputsEmpty, "transaction has no inputs") }
        guard !tx.outputs.isEmpty else { throw ValidationError(.outputsEmpty, "transaction has no outputs") }
        let size = tx.encodedSize
        guard size <= Limits.maxBlockSize else {
            throw ValidationError(.txOversize, "\(size) bytes, limit \(Limits.maxBlockSize)")
        }
        var total: Amount = 0
        for (i, output) in tx.outputs.enumerated() {
            guard output.value <= ChainParams.maxMoney else {
                throw ValidationError(.outputTooLarge, "output \(i) pays \(output.value), above the money supply")
            }
            total += output.value  // cannot overflow: each term <= maxMoney and the total is checked each step
            guard total <= ChainParams.maxMoney else {
                throw ValidationError(.outputTotalTooLarge, "outputs add up to more than the money supply")
            }
        }
        var seen = Set<OutPoint>()
        for input in tx.inputs where !seen.insert(input.previousOutput).inserted {
            throw ValidationError(.inputsDuplicate, "spends \(input.previousOutput) twice")
        }
        if tx.isCoinbase {
            let n = tx.inputs[0].payload.count
            guard n >= Limits.minCoinbasePayload && n <= Limits.maxPayloadSize else {
                throw ValidationError(.coinbaseLength, "coinbase data is \(n) bytes, must be \(Limits.minCoinbasePayload)-\(Limits.maxPayloadSize)")
            }
        } else {
            for (i, input) in tx.inputs.enumerated() {
                guard !input.previousOutput.isNull else {
                    throw ValidationError(.prevoutNull, "input \(i) names the null outpoint outside a coinbase")
                }
                guard input.payload.count == Limits.signatureSize else {
                    throw ValidationError(.signatureLength, "input \(i) carries \(input.payload.count) bytes, a signature is \(Limits.signatureSize)")
                }
            }
        }
    }

    /// Checks a non-coinbase transaction's amounts against the coins it spends
    /// (one per input, in order) and returns its fee.
    public static func checkInputs(_ tx: Transaction, coins: [Coin], spendHeight: Int, params: ChainParams) throws(ValidationError) -> Amount {
        var totalIn: Amount = 0
        for (i, coin) in coins.enumerated() {
            if coin.isCoinbase && spendHeight - coin.height < params.coinbaseMaturity {
                throw ValidationError(.prematureCoinbaseSpend,
                    "input \(i) spends a coinbase of height \(coin.height) at height \(spendHeight); it matures after \(params.coinbaseMaturity) blocks")
            }
            guard coin.output.value <= ChainParams.maxMoney else {
                throw ValidationError(.inputValuesOutOfRange, "input \(i) value is out of range")
            }
            totalIn += coin.output.value
            guard totalIn <= ChainParams.maxMoney else {
                throw ValidationError(.inputValuesOutOfRange, "inputs add up to more than the money supply")
            }
        }
        let totalOut = tx.outputs.reduce(Amount(0)) { $0 + $1.value }  // bounded by checkSanity
        guard totalIn >= totalOut else {
            throw ValidationError(.inBelowOut, "inputs \(Units.format(totalIn)) < outputs \(Units.format(totalOut))")
        }
        return totalIn - totalOut
    }

    /// The signature checks of a non-coinbase transaction.
    public static func signatureChecks(_ tx: Transaction, coins: [Coin], params: ChainParams, txIndex: Int = 0) -> [SignatureCheck] {
        let message = Sighash.compute(tx, spent: coins.map(\.output), params: params)
        return tx.inputs.enumerated().map { i, input in
            SignatureCheck(publicKey: coins[i].output.publicKey, message: message, signature: input.payload,
                           txIndex: txIndex, inputIndex: i)
        }
    }

    /// Looks up every input in `view`.
    public static func lookUpCoins(_ tx: Transaction, view: some CoinView) throws(ValidationError) -> [Coin] {
        var coins = [Coin]()
        coins.reserveCapacity(tx.inputs.count)
        for (i, input) in tx.inputs.enumerated() {
            guard let coin = view.coin(input.previousOutput) else {
                throw ValidationError(.inputsMissingOrSpent, "input \(i) spends \(input.previousOutput), which is missing or spent")
            }
            coins.append(coin)
        }
        return coins
    }

    /// Full check of a loose (non-coinbase) transaction as a block at
    /// `spendHeight` would make it, signatures included. Returns the fee.
    public static func validate(_ tx: Transaction, view: some CoinView, spendHeight: Int, params: ChainParams) async throws(ValidationError) -> Amount {
        try checkSanity(tx)
        guard !tx.isCoinbase else { throw ValidationError(.coinbaseMultiple, "a coinbase is only valid as a block's first transaction") }
        let coins = try lookUpCoins(tx, view: view)
        let fee = try checkInputs(tx, coins: coins, spendHeight: spendHeight, params: params)
        if let bad = await SignatureBatch.firstFailure(signatureChecks(tx, coins: coins, params: params)) {
            throw ValidationError(.badSignature, "input \(bad.inputIndex) signature does not verify")
        }
        return fee
    }
}
