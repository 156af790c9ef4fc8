import ChainCore

/// The mempool's view of the chain's unspent coins (issue 11's coin view; Bitcoin Core's
/// `CCoinsViewCache` over `pcoinsTip`, btcd's `UtxoViewpoint`), so an admission spending a coin the
/// pool already knows needs no chain store round trip. It holds only coins known unspent: those the
/// chain store answered (`remember`) and those created by blocks connected since
/// (`connected`); a coin it does not hold is asked of the chain store, as before.
///
/// Why it stays true: block events change it only behind the pool's gate, where admissions also
/// ask the chain store, so such an answer and a block event never interleave; an answer asked
/// before the gate is kept only under the generation rule below; blocks come in the order the chain
/// store connected them (`connected` removes what a block spends, `disconnected` what it
/// created; the coins a disconnected block spent are not added back, so they are asked again).
/// It starts disabled and is enabled once the subscription to `chain.pub` is synced (every later
/// loss shows as a gap); a gap or a restart of the chain store (revalidation) empties it. A
/// plain value: tested synchronously.
///
/// Its `generation` counts the block events and clearings applied: an answer of the chain store
/// asked outside the gate (an admission's stages before it, Admission.swift) is kept, or used
/// inside the gate, only if no block event came between the question and its use
/// (`remember(_:ifGeneration:)`), which is what asking behind the gate guarantees.
struct CoinCache: Sendable {
    /// Most coins held; past it the view empties and fills again (Core's cache flushes likewise).
    /// 200,000 coins are about 30 MB.
    static let defaultCapacity = 200_000

    private(set) var coins: [OutPoint: Coin] = [:]
    /// Answers only when enabled (the subscription is synced).
    private(set) var enabled = false
    var capacity = CoinCache.defaultCapacity
    /// Moves at every block event and clearing (also while disabled).
    private(set) var generation: UInt64 = 0

    var count: Int { coins.count }

    mutating func enable() { enabled = true }

    /// Forgets every coin (a gap in the chain's publications, a restart of the chain store).
    mutating func clear() {
        coins = [:]
        generation &+= 1
    }

    /// The coins of `outpoints` the view holds, and those it does not (to ask the chain store).
    func lookup(_ outpoints: [OutPoint]) -> (found: [OutPoint: Coin], missing: [OutPoint]) {
        guard enabled else { return ([:], outpoints) }
        var found = [OutPoint: Coin]()
        var missing = [OutPoint]()
        for op in outpoints {
            if let c = coins[op] { found[op] = c } else { missing.append(op) }
        }
        return (found, missing)
    }

    /// The chain store's answer, kept (only unspent coins are ever answered).
    mutating func remember(_ found: [OutPoint: Coin]) {
        guard enabled, !found.isEmpty else { return }
        if coins.count + found.count > capacity { coins = [:] }
        coins.merge(found) { _, new in new }
    }

    /// An answer asked while the view was at `generation`: kept only if no block event or
    /// clearing has come since (else it may hold a coin a block applied meanwhile has spent).
    mutating func remember(_ found: [OutPoint: Coin], ifGeneration asked: UInt64) {
        guard asked == generation else { return }
        remember(found)
    }

    /// A block joined the best chain at `height`: what its transactions spend is gone, what they
    /// create is unspent (in order, so a coin created and spent in the block ends up absent).
    /// `txids`: the block's, in order (`block.txids`), when the caller has them already.
    mutating func connected(_ block: Block, txids: [Hash256]? = nil, height: Int) {
        generation &+= 1
        guard enabled else { return }
        if coins.count + block.transactions.reduce(0, { $0 + $1.outputs.count }) > capacity { coins = [:] }
        let txids = txids ?? block.txids
        for (tx, txid) in zip(block.transactions, txids) {
            if !tx.isCoinbase {
                for input in tx.inputs { coins[input.previousOutput] = nil }
            }
            for (i, o) in tx.outputs.enumerated() {
                coins[OutPoint(txid: txid, index: UInt32(i))] = Coin(output: o, height: height, isCoinbase: tx.isCoinbase)
            }
        }
    }

    /// A block left the best chain: what it created is gone. What it spent is unspent again, but
    /// not known here: it is asked of the chain store when needed.
    mutating func disconnected(_ block: Block) {
        generation &+= 1
        for tx in block.transactions {
            let txid = tx.txid
            for i in tx.outputs.indices { coins[OutPoint(txid: txid, index: UInt32(i))] = nil }
        }
    }
}
