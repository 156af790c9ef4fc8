import ChainCore
import Crypto
import Foundation

/// A signing key for regtest transactions.
struct Key: Sendable {
    let key = Curve25519.Signing.PrivateKey()
    var publicKey: [UInt8] { Array(key.publicKey.rawRepresentation) }
    var address: Address { Address(publicKey: publicKey, network: .regtest) }

    func spend(_ coins: [(OutPoint, TxOutput)], to outputs: [TxOutput]) -> Transaction {
        var tx = Transaction(inputs: coins.map { TxInput(previousOutput: $0.0, payload: []) }, outputs: outputs)
        let sighash = Sighash.compute(tx, spent: coins.map(\.1), params: .regtest)
        let sig = Array(try! key.signature(for: sighash.bytes))
        for i in tx.inputs.indices { tx.inputs[i].payload = sig }
        return tx
    }
}

/// A small real regtest chain: genesis, three blocks paying `alice`, a fourth in which alice pays
/// bob, and a mempool transaction in which alice pays bob again.
struct ChainFixture: Sendable {
    let alice = Key()
    let bob = Key()
    let blocks: [Block]
    /// Confirmed in block 4: alice → bob 10 CRN, change to alice.
    let payment: Transaction
    /// In the mempool: spends block 2's coinbase, alice → bob 5 CRN, change to alice, fee 10,000.
    let pending: Transaction
    /// Spends an output nobody has: the fake mempool refuses it.
    let orphan: Transaction
    let pendingFee: UInt64 = 10_000

    init() {
        let params = ChainParams.regtest
        var blocks = [params.genesis]
        var coinbases = [Transaction]()
        for height in 1...3 {
            let cb = Self.coinbase(height: height, outputs: [TxOutput(value: params.subsidy(height: height), publicKey: alice.publicKey)])
            coinbases.append(cb)
            blocks.append(Self.mine(parent: blocks.last!.header, [cb]))
        }
        let subsidy = params.subsidy(height: 1)
        payment = alice.spend([(OutPoint(txid: coinbases[0].txid, index: 0), coinbases[0].outputs[0])],
                              to: [TxOutput(value: 10 * Units.perCoin, publicKey: bob.publicKey),
                                   TxOutput(value: subsidy - 10 * Units.perCoin - 5_000, publicKey: alice.publicKey)])
        let cb4 = Self.coinbase(height: 4, outputs: [TxOutput(value: params.subsidy(height: 4) + 5_000, publicKey: alice.publicKey)])
        blocks.append(Self.mine(parent: blocks.last!.header, [cb4, payment]))
        pending = alice.spend([(OutPoint(txid: coinbases[1].txid, index: 0), coinbases[1].outputs[0])],
                              to: [TxOutput(value: 5 * Units.perCoin, publicKey: bob.publicKey),
                                   TxOutput(value: subsidy - 5 * Units.perCoin - 10_000, publicKey: alice.publicKey)])
        orphan = alice.spend([(OutPoint(txid: Hash256.sha256d([1, 2, 3]), index: 0), TxOutput(value: 1_000_000, publicKey: alice.publicKey))],
                             to: [TxOutput(value: 900_000, publicKey: bob.publicKey)])
        self.blocks = blocks
    }

    var tip: Block { blocks.last! }
    var height: Int { blocks.count - 1 }

    /// A further block on top (for tip notifications).
    func next(after parent: Block, height: Int) -> Block {
        Self.mine(parent: parent.header, [Self.coinbase(height: height, outputs: [TxOutput(value: 1, publicKey: bob.publicKey)])])
    }

    static func coinbase(height: Int, outputs: [TxOutput]) -> Transaction {
        let h = UInt32(height)
        return Transaction(inputs: [TxInput(previousOutput: .null, payload: [UInt8(h & 0xff), UInt8(h >> 8 & 0xff), UInt8(h >> 16 & 0xff), UInt8(h >> 24), 0xca, 0xfe])],
                           outputs: outputs)
    }

    static func mine(parent: BlockHeader, _ txs: [Transaction]) -> Block {
        var header = BlockHeader(version: 1, previousHash: parent.hash, merkleRoot: Merkle.root(txs.map(\.txid)).root,
                                 time: parent.time + 60, bits: ChainParams.regtest.powLimitBits, nonce: 0)
        let target = CompactTarget.hashValue(CompactTarget.decode(header.bits).target)
        while header.hash > target { header.nonce += 1 }
        return Block(header: header, transactions: txs)
    }
}
