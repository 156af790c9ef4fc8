import ChainCore
import Crypto
import Foundation

/// A key pair that signs regtest transactions, for tests.
public struct TestWallet: Sendable {
    public let key: Curve25519.Signing.PrivateKey
    public var publicKey: [UInt8] { Array(key.publicKey.rawRepresentation) }

    public init() { key = Curve25519.Signing.PrivateKey() }

    public func output(_ value: Amount) -> TxOutput { TxOutput(value: value, publicKey: publicKey) }

    public func address(_ network: Network = .regtest) -> Address { Address(publicKey: publicKey, network: network) }

    /// Signs every input (all spent by this wallet) over the sighash.
    public func sign(_ tx: Transaction, spent: [TxOutput], params: ChainParams = .regtest) -> Transaction {
        var signed = tx
        let message = Sighash.compute(tx, spent: spent, params: params)
        let sig = Array(try! key.signature(for: message.bytes))
        for i in signed.inputs.indices { signed.inputs[i].payload = sig }
        return signed
    }

    public func spend(_ coins: [(OutPoint, TxOutput)], to outputs: [TxOutput], params: ChainParams = .regtest) -> Transaction {
        let tx = Transaction(inputs: coins.map { TxInput(previousOutput: $0.0, payload: []) }, outputs: outputs)
        return sign(tx, spent: coins.map(\.1), params: params)
    }
}

public enum ChainFixtures {
    public static func coinbase(height: Int, outputs: [TxOutput], extra: [UInt8] = []) -> Transaction {
        let h = UInt32(height)
        let payload = [UInt8(h & 0xff), UInt8(h >> 8 & 0xff), UInt8(h >> 16 & 0xff), UInt8(h >> 24)] + extra
        return Transaction(inputs: [TxInput(previousOutput: .null, payload: payload)], outputs: outputs)
    }

    /// Assembles a block with a correct merkle root and mines it.
    public static func block(parent: BlockHeader, transactions: [Transaction], time: UInt32? = nil,
                             bits: UInt32 = ChainParams.regtest.powLimitBits, mine: Bool = true) -> Block {
        var header = BlockHeader(version: 1, previousHash: parent.hash,
                                 merkleRoot: Merkle.root(transactions.map(\.txid)).root,
                                 time: time ?? parent.time + 1, bits: bits, nonce: 0)
        if mine { header = Self.mine(header) }
        return Block(header: header, transactions: transactions)
    }

    public static func mine(_ header: BlockHeader) -> BlockHeader {
        var h = header
        let target = CompactTarget.hashValue(CompactTarget.decode(h.bits).target)
        while h.hash > target { h.nonce += 1 }
        return h
    }

    /// Re-mines after the caller changed the header.
    public static func remine(_ block: Block) -> Block {
        Block(header: mine(block.header), transactions: block.transactions)
    }

    /// The next block on top of `parent` at `height`, paying `wallet` the subsidy plus `fees`.
    public static func next(after parent: BlockHeader, height: Int, paying wallet: TestWallet, transactions: [Transaction] = [],
                            fees: Amount = 0, extra: [UInt8] = [], params: ChainParams = .regtest) -> Block {
        let cb = coinbase(height: height, outputs: [wallet.output(params.subsidy(height: height) + fees)], extra: extra)
        return block(parent: parent, transactions: [cb] + transactions)
    }

    /// `count` blocks after genesis paying `wallet`, applied to a coin view.
    public static func chain(_ count: Int, paying wallet: TestWallet) async throws -> (blocks: [Block], view: MemoryCoinView) {
        let params = ChainParams.regtest
        var view = MemoryCoinView()
        var blocks = [params.genesis]
        for height in 1...count {
            let b = next(after: blocks.last!.header, height: height, paying: wallet)
            let c = try await BlockRules.connect(b, height: height, view: view, params: params)
            view.apply(c)
            blocks.append(b)
        }
        return (blocks, view)
    }
}
