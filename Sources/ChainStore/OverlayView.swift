import ChainCore

/// The UTXO view a branch is validated against: prefetched coins from the
/// database plus the changes of the blocks disconnected and connected so far.
struct OverlayView: CoinView {
    var base: [OutPoint: Coin] = [:]
    private var changes: [OutPoint: Coin?] = [:]

    func coin(_ outpoint: OutPoint) -> Coin? {
        if let change = changes[outpoint] { return change }
        return base[outpoint]
    }

    func knows(_ outpoint: OutPoint) -> Bool { changes[outpoint] != nil || base[outpoint] != nil }
    mutating func put(_ op: OutPoint, _ coin: Coin) { changes[op] = .some(coin) }
    mutating func remove(_ op: OutPoint) { changes[op] = .some(nil) }
}
