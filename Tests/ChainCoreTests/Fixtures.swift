import Crypto
import Foundation
@testable import ChainCore

/// Builds keys, signed transactions and mined regtest blocks for the tests.
struct Wallet {
    let key: Curve25519.Signing.PrivateKey
    var publicKey: [UInt8] { Array(key.publicKey.rawRepresentation) }

    init() { key = Curve25519.Signing.PrivateKey() }

    func output(_ value: Amount) -> TxOutput { TxOutput(value: value, publicKey: publicKey) }

    /// Signs every input (all spent by this wallet) over the sighash.
    func sign(_ tx: Transaction, spent: [TxOutput], params: ChainParams = .regtest) -> Transaction {
        var signed = tx
        let message = Sighash.compute(tx, spent: spent, params: params)
        let sig = Array(try! key.signature(for: message.bytes))
        for i in signed.inputs.indices { signed.inputs[i].payload = sig }
        return signed
    }

    func spend(_ coins: [(OutPoint, TxOutput)], to outputs: [TxOutput], params: ChainParams = .regtest) -> Transaction {
        let tx = Transaction(inputs: coins.map { TxInput(previousOutput: $0.0, payload: []) }, outputs: outputs)
        return sign(tx, spent: coins.map(\.1), params: params)
    }
}

enum Fixtures {
    static func coinbase(height: Int, outputs: [TxOutput], extra: [UInt8] = []) -> Transaction {
        let h = UInt32(height)
        let payload = [UInt8(h & 0xff), UInt8(h >> 8 & 0xff), UInt8(h >> 16 & 0xff), UInt8(h >> 24)] + extra
        return Transaction(inputs: [TxInput(previousOutput: .null, payload: payload)], outputs: outputs)
    }

    /// Assembles a block with a correct merkle root and mines it on regtest.
    static func block(parent: BlockHeader, transactions: [Transaction], time: UInt32? = nil,
                      bits: UInt32 = ChainParams.regtest.powLimitBits, mine: Bool = true) -> Block {
        var header = BlockHeader(version: 1, previousHash: parent.hash,
                                 merkleRoot: Merkle.root(transactions.map(\.txid)).root,
                                 time: time ?? parent.time + 1, bits: bits, nonce: 0)
        if mine { header = Self.mine(header) }
        return Block(header: header, transactions: transactions)
    }

    static func mine(_ header: BlockHeader) -> BlockHeader {
        var h = header
        let target = CompactTarget.hashValue(CompactTarget.decode(h.bits).target)
        while h.hash > target { h.nonce += 1 }
        return h
    }

    /// Re-mines after the caller changed the header.
    static func remine(_ block: Block) -> Block {
        Block(header: mine(block.header), transactions: block.transactions)
    }

    /// A small chain on regtest: `count` blocks after genesis paying `wallet`,
    /// applied to a coin view. Returns the blocks and the view.
    static func chain(_ count: Int, paying wallet: Wallet) async throws -> (blocks: [Block], view: MemoryCoinView) {
        let params = ChainParams.regtest
        var view = MemoryCoinView()
        var blocks = [params.genesis]
        for height in 1...count {
            let cb = coinbase(height: height, outputs: [wallet.output(params.subsidy(height: height))])
            let b = block(parent: blocks.last!.header, transactions: [cb])
            let c = try await BlockRules.connect(b, height: height, view: view, params: params)
            view.apply(c)
            blocks.append(b)
        }
        return (blocks, view)
    }
}

func expectReason(_ reason: RejectReason, _ body: () throws -> Void,
                  sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        try body()
        Issue.record("expected \(reason.rawValue), but it was accepted", sourceLocation: sourceLocation)
    } catch let error as ValidationError {
        #expect(error.reason == reason, "got \(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(reason.rawValue), got \(error)", sourceLocation: sourceLocation)
    }
}

func expectReasonAsync(_ reason: RejectReason, _ body: () async throws -> Void,
                       sourceLocation: SourceLocation = #_sourceLocation) async {
    do {
        try await body()
        Issue.record("expected \(reason.rawValue), but it was accepted", sourceLocation: sourceLocation)
    } catch let error as ValidationError {
        #expect(error.reason == reason, "got \(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(reason.rawValue), got \(error)", sourceLocation: sourceLocation)
    }
}

import Testing
