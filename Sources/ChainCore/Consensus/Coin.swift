/// An unspent output as the UTXO set keeps it.
public struct Coin: Hashable, Sendable {
    public var output: TxOutput
    /// Height of the block that created it.
    public var height: Int
    public var isCoinbase: Bool

    public init(output: TxOutput, height: Int, isCoinbase: Bool) {
        self.output = output
        self.height = height
        self.isCoinbase = isCoinbase
    }
}

/// Read access to the UTXO set a block or transaction is checked against.
public protocol CoinView {
    func coin(_ outpoint: OutPoint) -> Coin?
}

/// A plain in-memory UTXO set: tests, tools and the mempool's overlay.
public struct MemoryCoinView: CoinView, Sendable {
    public var coins: [OutPoint: Coin]

    public init(_ coins: [OutPoint: Coin] = [:]) { self.coins = coins }

    public func coin(_ outpoint: OutPoint) -> Coin? { coins[outpoint] }

    /// Applies a connected block: spends its inputs, adds its outputs.
    public mutating func apply(_ connection: BlockConnection) {
        for s in connection.spent { coins[s.outpoint] = nil }
        for c in connection.created { coins[c.outpoint] = c.coin }
    }

    /// Undoes a connected block.
    public mutating func undo(_ connection: BlockConnection) {
        for c in connection.created { coins[c.outpoint] = nil }
        for s in connection.spent { coins[s.outpoint] = s.coin }
    }
}
