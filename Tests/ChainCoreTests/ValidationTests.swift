import Testing
@testable import ChainCore

/// One test per consensus rule: a block or transaction breaking it is refused with its reason.
@Suite struct BlockValidation {
    let params = ChainParams.regtest

    /// A chain of `maturity + 2` blocks paying `wallet`, so block 1's coinbase is spendable.
    func setup() async throws -> (wallet: Wallet, blocks: [Block], view: MemoryCoinView, spendable: (OutPoint, TxOutput)) {
        let wallet = Wallet()
        let (blocks, view) = try await Fixtures.chain(params.coinbaseMaturity + 1, paying: wallet)
        let cb = blocks[1].transactions[0]
        return (wallet, blocks, view, (OutPoint(txid: cb.txid, index: 0), cb.outputs[0]))
    }

    func next(_ blocks: [Block], _ txs: [Transaction], coinbaseValue: Amount? = nil, to wallet: Wallet) -> Block {
        let height = blocks.count
        let cb = Fixtures.coinbase(height: height, outputs: [wallet.output(coinbaseValue ?? params.subsidy(height: height))])
        return Fixtures.block(parent: blocks.last!.header, transactions: [cb] + txs)
    }

    func context(_ blocks: [Block]) -> HeaderContext {
        HeaderContext(height: blocks.count, expectedBits: params.powLimitBits,
                      medianTimePast: Difficulty.medianTimePast(blocks.map(\.header.time)))
    }

    // MARK: a valid block first, so every rejection below is the rule's doing

    @Test func aValidBlockWithASpendConnects() async throws {
        let s = try await setup()
        let tx = s.wallet.spend([s.spendable], to: [Wallet().output(1 * Units.perCoin), s.wallet.output(s.spendable.1.value - Units.perCoin - 1000)])
        let block = next(s.blocks, [tx], coinbaseValue: params.subsidy(height: s.blocks.count) + 1000, to: s.wallet)
        try BlockRules.checkHeader(block.header, context: context(s.blocks), now: Int64(block.header.time), params: params)
        try BlockRules.checkBlock(block, params: params)
        let c = try await BlockRules.connect(block, height: s.blocks.count, view: s.view, params: params)
        #expect(c.fees == 1000)
        #expect(c.spent.map(\.outpoint) == [s.spendable.0])
        #expect(c.created.count == 3)
        var view = s.view
        view.apply(c)
        #expect(view.coin(s.spendable.0) == nil)
        view.undo(c)
        #expect(view.coins == s.view.coins)
    }

    // MARK: header

    @Test func highHash() async throws {
        let s = try await setup()
        var block = next(s.blocks, [], to: s.wallet)
        let target = CompactTarget.hashValue(CompactTarget.decode(block.header.bits).target)
        while block.header.hash <= target { block.header.nonce += 1 }
        expectReason(.highHash) { try BlockRules.checkBlock(block, params: params) }
    }

    @Test func badDiffBitsUnexpectedOrInvalid() async throws {
        let s = try await setup()
        var block = next(s.blocks, [], to: s.wallet)
        block.header.bits = 0x2000_ffff
        block = Fixtures.remine(block)
        expectReason(.badDiffBits) {
            try BlockRules.checkHeader(block.header, context: context(s.blocks), now: Int64(block.header.time), params: params)
        }
        block.header.bits = 0x0480_0000 | 0x0012_3456 // negative
        expectReason(.badDiffBits) { try BlockRules.checkProofOfWork(block.header, params: params) }
        block.header.bits = 0x2100_ffff // easier than the network's minimum difficulty
        expectReason(.badDiffBits) { try BlockRules.checkProofOfWork(block.header, params: params) }
    }

    @Test func timeNotAboveMedianOfLastElevenIsTooOld() async throws {
        let s = try await setup()
        let mtp = Difficulty.medianTimePast(s.blocks.map(\.header.time))
        var block = next(s.blocks, [], to: s.wallet)
        block.header.time = mtp
        block = Fixtures.remine(block)
        expectReason(.timeTooOld) {
            try BlockRules.checkHeader(block.header, context: context(s.blocks), now: Int64(mtp) + 100, params: params)
        }
        block.header.time = mtp + 1
        block = Fixtures.remine(block)
        try BlockRules.checkHeader(block.header, context: context(s.blocks), now: Int64(mtp) + 100, params: params)
    }

    @Test func timeMoreThanTwoHoursAheadIsTooNew() async throws {
        let s = try await setup()
        var block = next(s.blocks, [], to: s.wallet)
        let now = Int64(block.header.time)
        block.header.time = UInt32(now + 2 * 3600 + 1)
        block = Fixtures.remine(block)
        expectReason(.timeTooNew) { try BlockRules.checkHeader(block.header, context: context(s.blocks), now: now, params: params) }
        block.header.time = UInt32(now + 2 * 3600)
        block = Fixtures.remine(block)
        try BlockRules.checkHeader(block.header, context: context(s.blocks), now: now, params: params)
    }

    @Test func versionBelowOne() async throws {
        let s = try await setup()
        var block = next(s.blocks, [], to: s.wallet)
        block.header.version = 0
        block = Fixtures.remine(block)
        expectReason(.badVersion) { try BlockRules.checkHeader(block.header, context: context(s.blocks), now: Int64(block.header.time), params: params) }
    }

    // MARK: block structure

    @Test func sizeLimit() async throws {
        let s = try await setup()
        // many outputs to push the coinbase over 1 MB
        let outputs = (0..<(Limits.maxBlockSize / Limits.outputSize + 10)).map { _ in s.wallet.output(1) }
        let cb = Fixtures.coinbase(height: s.blocks.count, outputs: outputs)
        let block = Fixtures.block(parent: s.blocks.last!.header, transactions: [cb])
        expectReason(.badBlockLength) { try BlockRules.checkBlock(block, params: params) }
    }

    @Test func merkleRootMustMatch() async throws {
        let s = try await setup()
        var block = next(s.blocks, [], to: s.wallet)
        block.header.merkleRoot = Hash256.sha256d([9])
        block = Fixtures.remine(block)
        expectReason(.badMerkleRoot) { try BlockRules.checkBlock(block, params: params) }
    }

    @Test func mutatedMerkleTreeIsRejected() async throws {
        let s = try await setup()
        let tx = s.wallet.spend([s.spendable], to: [s.wallet.output(s.spendable.1.value - 500)])
        let cb = Fixtures.coinbase(height: s.blocks.count, outputs: [s.wallet.output(1)])
        // [cb, tx, tx] has the same root as [cb, tx] extended by the odd-level rule
        let block = Fixtures.block(parent: s.blocks.last!.header, transactions: [cb, tx, tx])
        expectReason(.duplicateTransaction) { try BlockRules.checkBlock(block, params: params) }
    }

    @Test func coinbaseMustBeFirst() async throws {
        let s = try await setup()
        let tx = s.wallet.spend([s.spendable], to: [s.wallet.output(5)])
        let block = Fixtures.block(parent: s.blocks.last!.header, transactions: [tx])
        expectReason(.coinbaseMissing) { try BlockRules.checkBlock(block, params: params) }
    }

    @Test func onlyOneCoinbase() async throws {
        let s = try await setup()
        let h = s.blocks.count
        let block = Fixtures.block(parent: s.blocks.last!.header, transactions: [
            Fixtures.coinbase(height: h, outputs: [s.wallet.output(1)]),
            Fixtures.coinbase(height: h, outputs: [s.wallet.output(2)])])
        expectReason(.coinbaseMultiple) { try BlockRules.checkBlock(block, params: params) }
    }

    @Test func coinbaseDataLength() async throws {
        let s = try await setup()
        var cb = Fixtures.coinbase(height: s.blocks.count, outputs: [s.wallet.output(1)])
        cb.inputs[0].payload = [1, 2]
        let block = Fixtures.block(parent: s.blocks.last!.header, transactions: [cb])
        expectReason(.coinbaseLength) { try BlockRules.checkBlock(block, params: params) }
    }

    @Test func coinbaseCommitsToHeight() async throws {
        let s = try await setup()
        let cb = Fixtures.coinbase(height: s.blocks.count + 5, outputs: [s.wallet.output(1)])
        let block = Fixtures.block(parent: s.blocks.last!.header, transactions: [cb])
        try BlockRules.checkBlock(block, params: params)
        await expectReasonAsync(.coinbaseHeight) { _ = try await BlockRules.connect(block, height: s.blocks.count, view: s.view, params: params) }
    }

    @Test func coinbaseClaimsAtMostSubsidyPlusFees() async throws {
        let s = try await setup()
        let tx = s.wallet.spend([s.spendable], to: [s.wallet.output(s.spendable.1.value - 1000)])
        let block = next(s.blocks, [tx], coinbaseValue: params.subsidy(height: s.blocks.count) + 1001, to: s.wallet)
        try BlockRules.checkBlock(block, params: params)
        await expectReasonAsync(.coinbaseAmount) { _ = try await BlockRules.connect(block, height: s.blocks.count, view: s.view, params: params) }
    }

    @Test func noOutpointSpentTwiceInABlock() async throws {
        let s = try await setup()
        let a = s.wallet.spend([s.spendable], to: [s.wallet.output(10)])
        let b = s.wallet.spend([s.spendable], to: [s.wallet.output(20)])
        let block = next(s.blocks, [a, b], to: s.wallet)
        expectReason(.blockInputsDuplicate) { try BlockRules.checkBlock(block, params: params) }
    }

    @Test func signatureChecksAcrossABlockFindTheBadOne() async throws {
        // 40 spends (enough to run in parallel) with one bad signature in the middle
        let wallet = Wallet()
        let (blocks, view) = try await Fixtures.chain(params.coinbaseMaturity + 1, paying: wallet)
        let cb = blocks[1].transactions[0]
        let fan = wallet.spend([(OutPoint(txid: cb.txid, index: 0), cb.outputs[0])],
                               to: (0..<40).map { _ in wallet.output(cb.outputs[0].value / 50) })
        let fanBlock = next(blocks, [fan], to: wallet)
        var v = view
        v.apply(try await BlockRules.connect(fanBlock, height: blocks.count, view: view, params: params))
        var txs = (0..<40).map { i in
            wallet.spend([(OutPoint(txid: fan.txid, index: UInt32(i)), fan.outputs[i])], to: [wallet.output(fan.outputs[i].value - 100)])
        }
        let chain2 = blocks + [fanBlock]
        let good = next(chain2, txs, to: wallet)
        let ok = try await BlockRules.connect(good, height: chain2.count, view: v, params: params)
        #expect(ok.fees == 4000)
        txs[23].inputs[0].payload[5] ^= 1
        let bad = next(chain2, txs, to: wallet)
        try BlockRules.checkBlock(bad, params: params)
        do {
            _ = try await BlockRules.connect(bad, height: chain2.count, view: v, params: params)
            Issue.record("accepted a bad signature")
        } catch {
            #expect(error.reason == .badSignature)
            #expect(error.detail.contains("transaction 24 input 0"))
        }
    }
}

@Suite struct TransactionValidation {
    let params = ChainParams.regtest

    func setup() async throws -> (Wallet, MemoryCoinView, (OutPoint, TxOutput), height: Int) {
        let wallet = Wallet()
        let (blocks, view) = try await Fixtures.chain(params.coinbaseMaturity + 1, paying: wallet)
        let cb = blocks[1].transactions[0]
        return (wallet, view, (OutPoint(txid: cb.txid, index: 0), cb.outputs[0]), blocks.count)
    }

    @Test func aValidSpendPasses() async throws {
        let (w, view, coin, h) = try await setup()
        let tx = w.spend([coin], to: [w.output(coin.1.value - 777)])
        #expect(try await TransactionRules.validate(tx, view: view, spendHeight: h, params: params) == 777)
    }

    @Test func sanityRules() {
        let w = Wallet()
        let op = OutPoint(txid: Hash256.sha256d([1]), index: 0)
        let sig = [UInt8](repeating: 1, count: 64)
        expectReason(.inputsEmpty) { try TransactionRules.checkSanity(Transaction(inputs: [], outputs: [w.output(1)])) }
        expectReason(.outputsEmpty) { try TransactionRules.checkSanity(Transaction(inputs: [TxInput(previousOutput: op, payload: sig)], outputs: [])) }
        expectReason(.txVersion) { try TransactionRules.checkSanity(Transaction(version: 2, inputs: [TxInput(previousOutput: op, payload: sig)], outputs: [w.output(1)])) }
        expectReason(.outputTooLarge) {
            try TransactionRules.checkSanity(Transaction(inputs: [TxInput(previousOutput: op, payload: sig)], outputs: [w.output(ChainParams.maxMoney + 1)]))
        }
        expectReason(.outputTotalTooLarge) {
            try TransactionRules.checkSanity(Transaction(inputs: [TxInput(previousOutput: op, payload: sig)],
                                                         outputs: [w.output(ChainParams.maxMoney), w.output(ChainParams.maxMoney)]))
        }
        // no overflow even with values that would wrap a UInt64
        expectReason(.outputTooLarge) {
            try TransactionRules.checkSanity(Transaction(inputs: [TxInput(previousOutput: op, payload: sig)], outputs: [w.output(.max), w.output(2)]))
        }
        expectReason(.inputsDuplicate) {
            try TransactionRules.checkSanity(Transaction(inputs: [TxInput(previousOutput: op, payload: sig), TxInput(previousOutput: op, payload: sig)], outputs: [w.output(1)]))
        }
        expectReason(.prevoutNull) {
            try TransactionRules.checkSanity(Transaction(inputs: [TxInput(previousOutput: op, payload: sig), TxInput(previousOutput: .null, payload: sig)], outputs: [w.output(1)]))
        }
        expectReason(.signatureLength) {
            try TransactionRules.checkSanity(Transaction(inputs: [TxInput(previousOutput: op, payload: [1, 2, 3])], outputs: [w.output(1)]))
        }
    }

    @Test func oversizeTransaction() {
        let w = Wallet()
        let op = OutPoint(txid: Hash256.sha256d([1]), index: 0)
        let tx = Transaction(inputs: [TxInput(previousOutput: op, payload: [UInt8](repeating: 0, count: 64))],
                             outputs: (0..<(Limits.maxBlockSize / Limits.outputSize + 1)).map { _ in w.output(1) })
        expectReason(.txOversize) { try TransactionRules.checkSanity(tx) }
    }

    @Test func inputsMustExistAndBeUnspent() async throws {
        let (w, view, coin, h) = try await setup()
        let missing = w.spend([(OutPoint(txid: Hash256.sha256d([42]), index: 0), coin.1)], to: [w.output(1)])
        await expectReasonAsync(.inputsMissingOrSpent) { _ = try await TransactionRules.validate(missing, view: view, spendHeight: h, params: params) }
        var spentView = view
        spentView.coins[coin.0] = nil
        let tx = w.spend([coin], to: [w.output(1)])
        await expectReasonAsync(.inputsMissingOrSpent) { _ = try await TransactionRules.validate(tx, view: spentView, spendHeight: h, params: params) }
    }

    @Test func coinbaseOutputsMatureAfterTheNetworksCount() async throws {
        let (w, view, _, h) = try await setup()
        // the coinbase of the newest block is immature
        let young = view.coins.first { $0.value.height == h - 1 }!
        let tx = w.spend([(young.key, young.value.output)], to: [w.output(1)])
        await expectReasonAsync(.prematureCoinbaseSpend) { _ = try await TransactionRules.validate(tx, view: view, spendHeight: h, params: params) }
        // and mature exactly `coinbaseMaturity` blocks after its own
        _ = try await TransactionRules.validate(tx, view: view, spendHeight: young.value.height + params.coinbaseMaturity, params: params)
    }

    @Test func outputsMayNotExceedInputs() async throws {
        let (w, view, coin, h) = try await setup()
        let tx = w.spend([coin], to: [w.output(coin.1.value + 1)])
        await expectReasonAsync(.inBelowOut) { _ = try await TransactionRules.validate(tx, view: view, spendHeight: h, params: params) }
    }

    @Test func inputValuesOutOfRange() throws {
        let w = Wallet()
        let op = OutPoint(txid: Hash256.sha256d([1]), index: 0)
        let tx = Transaction(inputs: [TxInput(previousOutput: op, payload: [])], outputs: [w.output(1)])
        expectReason(.inputValuesOutOfRange) {
            _ = try TransactionRules.checkInputs(tx, coins: [Coin(output: w.output(ChainParams.maxMoney + 1), height: 0, isCoinbase: false)],
                                                 spendHeight: 1, params: params)
        }
    }

    @Test func everySignatureMustVerify() async throws {
        let (w, view, coin, h) = try await setup()
        // signed by someone else
        let thief = Wallet()
        let stolen = thief.spend([coin], to: [thief.output(coin.1.value - 100)])
        await expectReasonAsync(.badSignature) { _ = try await TransactionRules.validate(stolen, view: view, spendHeight: h, params: params) }
        // changing an output after signing
        var tampered = w.spend([coin], to: [w.output(coin.1.value - 100)])
        tampered.outputs[0].publicKey = thief.publicKey
        await expectReasonAsync(.badSignature) { _ = try await TransactionRules.validate(tampered, view: view, spendHeight: h, params: params) }
    }

    @Test func signaturesDoNotReplayAcrossNetworksOrAmounts() async throws {
        let (w, view, coin, h) = try await setup()
        // signed for testnet, submitted on regtest
        let other = w.spend([coin], to: [w.output(coin.1.value - 100)], params: .testnet)
        await expectReasonAsync(.badSignature) { _ = try await TransactionRules.validate(other, view: view, spendHeight: h, params: params) }
        // the sighash commits to the amount spent
        let tx = Transaction(inputs: [TxInput(previousOutput: coin.0, payload: [])], outputs: [w.output(1)])
        var lying = coin.1
        lying.value += 1
        #expect(Sighash.compute(tx, spent: [coin.1], params: params) != Sighash.compute(tx, spent: [lying], params: params))
        #expect(Sighash.compute(tx, spent: [coin.1], params: .regtest) != Sighash.compute(tx, spent: [coin.1], params: .main))
    }

    @Test func aCoinbaseIsNotALooseTransaction() async throws {
        let (w, view, _, h) = try await setup()
        let cb = Fixtures.coinbase(height: h, outputs: [w.output(1)])
        await expectReasonAsync(.coinbaseMultiple) { _ = try await TransactionRules.validate(cb, view: view, spendHeight: h, params: params) }
    }

    @Test func everyReasonHasADistinctCode() {
        #expect(Set(RejectReason.allCases.map(\.rawValue)).count == RejectReason.allCases.count)
    }
}
