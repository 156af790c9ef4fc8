import ChainCore
import Crypto
import Foundation
import Hummingbird
import NodeKit
import Wallet
import Synchronization

/// The regtest faucet: pays a fixed amount from the node key's own mined coins to whoever asks,
/// rate-limited per address and overall. It exists only on regtest, where coins cost nothing.
///
/// Coin choice: the node key's confirmed, mature coins that no pool transaction spends, less the
/// coins this faucet reserved for a payment in the last minute (a second request can read the
/// pool before the first one's payment is in it).
final class Faucet: Sendable {
    let key: Curve25519.Signing.PrivateKey
    let publicKey: [UInt8]
    let address: String
    let amount: Amount
    let cooldown: Double
    let params: ChainParams

    /// Global token bucket: `burst` payments at once, then one per `refill` seconds.
    static let burst = 5.0
    static let refill = 6.0
    static let reservationSeconds = 60.0

    private struct State {
        var lastPaid: [String: Double] = [:]
        var tokens = Faucet.burst
        var tokensAt = 0.0
        var reserved: [OutPoint: Double] = [:]
    }
    private let state = Mutex(State())

    init(key: Curve25519.Signing.PrivateKey, params: ChainParams, amount: Amount, cooldown: Double) {
        self.key = key
        self.publicKey = Array(key.publicKey.rawRepresentation)
        self.address = Address(publicKey: publicKey, network: params.network).string
        self.amount = amount
        self.cooldown = cooldown
        self.params = params
    }

    /// Reads the node key file (raw 32-byte Ed25519 private key) for the faucet.
    static func load(path: String, params: ChainParams, amount: Amount, cooldown: Double) throws -> Faucet {
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw ValidationErrorText("--faucet-key: cannot read \(path)")
        }
        guard bytes.count == 32, let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: bytes) else {
            throw ValidationErrorText("--faucet-key: \(path) is not a raw 32-byte Ed25519 key")
        }
        return Faucet(key: key, params: params, amount: amount, cooldown: cooldown)
    }

    /// Takes a token for `recipient`, or says how long to wait.
    func admit(_ recipient: String, now: Double = ServiceSupport.now()) -> Double? {
        state.withLock { s in
            if let last = s.lastPaid[recipient], now - last < cooldown { return (cooldown - (now - last)).rounded(.up) }
            s.tokens = min(Self.burst, s.tokens + max(0, now - s.tokensAt) / Self.refill)
            s.tokensAt = now
            if s.tokens < 1 { return ((1 - s.tokens) * Self.refill).rounded(.up) }
            s.tokens -= 1
            s.lastPaid[recipient] = now
            if s.lastPaid.count > 10_000 { s.lastPaid = s.lastPaid.filter { now - $0.value < cooldown } }
            return nil
        }
    }

    /// Gives back the token and the address's turn when the payment could not be made.
    func refund(_ recipient: String) {
        state.withLock { s in
            s.tokens = min(Self.burst, s.tokens + 1)
            s.lastPaid[recipient] = nil
        }
    }

    /// The coins the faucet may spend now, given the tip height, the key's confirmed coins and
    /// the outpoints the pool's transactions spend: mature, not spent in the pool, not reserved.
    func spendable(coins: [CoinInfo], tipHeight: Int, spentInPool: Set<OutPoint>, now: Double = ServiceSupport.now()) -> [Spendable] {
        state.withLock { s in available(&s, coins: coins, tipHeight: tipHeight, spentInPool: spentInPool, now: now) }
    }

    private func available(_ s: inout State, coins: [CoinInfo], tipHeight: Int, spentInPool: Set<OutPoint>, now: Double) -> [Spendable] {
        s.reserved = s.reserved.filter { now - $0.value < Self.reservationSeconds }
        return coins.compactMap { c -> Spendable? in
            guard let txid = Hash256(hex: c.txid) else { return nil }
            let op = OutPoint(txid: txid, index: c.index)
            if spentInPool.contains(op) || s.reserved[op] != nil { return nil }
            if c.coinbase && tipHeight + 1 - c.height < params.coinbaseMaturity { return nil }
            return Spendable(outpoint: op, value: c.value, confirmed: true, height: c.height)
        }
    }

    /// Chooses coins, builds and signs the payment and reserves its coins, all under one lock, so
    /// concurrent requests never choose the same coin. Throws with what was spendable when it can't pay.
    func pay(_ recipient: Address, coins: [CoinInfo], tipHeight: Int, spentInPool: Set<OutPoint>,
             now: Double = ServiceSupport.now()) throws(FaucetShortfall) -> Transaction {
        let result: Result<Transaction, FaucetShortfall> = state.withLock { s in
            let usable = available(&s, coins: coins, tipHeight: tipHeight, spentInPool: spentInPool, now: now)
            do {
                let plan = try TxBuilder.plan(coins: usable, to: recipient.publicKey, amount: amount, change: publicKey)
                let tx = try TxBuilder.sign(plan, key: key, params: params)
                for c in plan.inputs { s.reserved[c.outpoint] = now }
                return .success(tx)
            } catch {
                return .failure(FaucetShortfall(spendable: usable.reduce(0) { $0 + $1.value }, coins: usable.count))
            }
        }
        return try result.get()
    }

    func release(_ tx: Transaction) {
        state.withLock { s in for i in tx.inputs { s.reserved[i.previousOutput] = nil } }
    }
}

/// Why the faucet could not pay: what it could spend.
struct FaucetShortfall: Error {
    var spendable: Amount
    var coins: Int
}

struct ValidationErrorText: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
