import ChainCore
import Foundation
import Hummingbird
import NodeKit
import Wallet

/// `GET /api/faucet` and `POST /api/faucet` (regtest only): coins for a new wallet from the node's own mined coins.
enum FaucetRoutes {
    struct Info: Codable, Sendable {
        var available: Bool
        var network: String
        var amount: UInt64
        var address: String
        var spendable: UInt64
        var cooldownSeconds: Double
        enum CodingKeys: String, CodingKey {
            case available, network, amount, address, spendable, cooldownSeconds = "cooldown_seconds"
        }
    }

    struct Request_: Codable, Sendable { var address: String }

    struct Paid: Codable, Sendable {
        var txid: String
        var amount: UInt64
        var fee: UInt64
        var address: String
    }

    static let infoSchema = Schema.object([
        "available": Schema.bool, "network": Schema.string, "amount": Schema.uint, "address": Schema.address,
        "spendable": Schema.uint, "cooldown_seconds": Schema.number,
    ])
    static let paidSchema = Schema.object(["txid": Schema.hash, "amount": Schema.uint, "fee": Schema.uint, "address": Schema.address])

    static func routes(_ edge: Edge) -> [Route] {
        [
            Route(.get, "/api/faucet",
                  RouteDoc(summary: "The regtest faucet: amount paid, its address and what it can spend (404 on other networks or when off)",
                           tag: "faucet", response: .json(infoSchema), errors: [404, 502, 503])) { _, _ in
                let faucet = try available(edge)
                let coins = try await spendable(faucet, edge: edge)
                return Reply.json(Info(available: true, network: edge.config.params.network.rawValue, amount: faucet.amount,
                                       address: faucet.address, spendable: coins.reduce(0) { $0 + $1.value },
                                       cooldownSeconds: faucet.cooldown))
            },
            Route(.post, "/api/faucet",
                  RouteDoc(summary: "Pay the faucet's amount to an address (regtest only; rate-limited per address and overall)",
                           tag: "faucet", response: .json(paidSchema), errors: [400, 404, 413, 429, 502, 503],
                           jsonBody: Schema.object(["address": Schema.address]))) { request, _ in
                try await pay(request, edge: edge)
            },
        ]
    }

    static func available(_ edge: Edge) throws -> Faucet {
        guard edge.config.params.network == .regtest else {
            throw APIError(.notFound, "faucet-unavailable", "the faucet exists only on regtest; this node runs \(edge.config.params.network.rawValue)")
        }
        guard let f = edge.faucet else {
            throw APIError(.notFound, "faucet-unavailable", "this edge has no faucet key (cairn-edge --faucet-key; `cairn up` passes the node key)")
        }
        return f
    }

    /// The node key's confirmed coins, the tip height and the outpoints the pool spends.
    static func purse(_ faucet: Faucet, edge: Edge) async throws -> (coins: [CoinInfo], tipHeight: Int, spentInPool: Set<OutPoint>) {
        let ref = AddressRef(publicKey: Hex.encode(faucet.publicKey))
        async let tip = edge.currentTip()
        async let coins = edge.backend.chain(.getaddressutxos, ref, as: [CoinInfo].self)
        async let pool = edge.backend.mempool(.getaddressmempool, ref, as: [MempoolEntry].self)
        let (t, c, p) = try await (tip, coins, pool)
        var spent = Set<OutPoint>()
        for entry in p {
            for s in entry.spent { if let id = Hash256(hex: s.txid) { spent.insert(OutPoint(txid: id, index: s.index)) } }
        }
        return (c, t.height, spent)
    }

    static func spendable(_ faucet: Faucet, edge: Edge) async throws -> [Spendable] {
        let p = try await purse(faucet, edge: edge)
        return faucet.spendable(coins: p.coins, tipHeight: p.tipHeight, spentInPool: p.spentInPool)
    }

    static func pay(_ request: Request, edge: Edge) async throws -> Response {
        let faucet = try available(edge)
        var request = request
        let buffer = try await request.collectBody(upTo: 4096)
        let body: Request_
        do {
            body = try JSONDecoder().decode(Request_.self, from: Data(buffer: buffer))
        } catch {
            throw APIError.badRequest("bad-json", "expected {\"address\": \"<address of this node's network>\"}")
        }
        let recipient: Address
        do {
            recipient = try Address(body.address.trimmingCharacters(in: .whitespaces), network: edge.config.params.network)
        } catch {
            throw APIError.badRequest("bad-address", error.description)
        }
        guard recipient.publicKey != faucet.publicKey else {
            throw APIError.badRequest("bad-address", "that is the faucet's own address")
        }
        if let wait = faucet.admit(recipient.string) {
            throw APIError(.tooManyRequests, "rate-limited",
                           "the faucet pays each address once per \(Int(faucet.cooldown)) s and a few addresses a minute; try again in \(Int(wait)) s",
                           headers: [.retryAfter: String(Int(wait))])
        }
        // Two tries: a coin can be spent by another payment between the read and the submit.
        var lastError: APIError?
        for _ in 0..<2 {
            let purse: (coins: [CoinInfo], tipHeight: Int, spentInPool: Set<OutPoint>)
            do { purse = try await Self.purse(faucet, edge: edge) } catch { faucet.refund(recipient.string); throw error }
            let tx: Transaction
            do {
                tx = try faucet.pay(recipient, coins: purse.coins, tipHeight: purse.tipHeight, spentInPool: purse.spentInPool)
            } catch {
                faucet.refund(recipient.string)
                let what = error.coins == 0 ? "no mature coins yet" : "\(Units.format(error.spendable)) CRN spendable"
                throw APIError(.serviceUnavailable, "faucet-empty",
                               "the faucet cannot pay \(Units.format(faucet.amount)) CRN: \(what) (its coins come from the node's miner and mature after \(faucet.params.coinbaseMaturity) blocks)")
            }
            edge.stamps.received(tx.txid, at: ServiceSupport.now(), detail: "POST /api/faucet")
            do {
                let result = try await edge.backend.submitTx(raw: tx.encoded, receivedAt: ServiceSupport.now())
                edge.metrics.txAccepted.increment()
                edge.logger.info("faucet paid", metadata: ["txid": "\(result.txid)", "to": "\(recipient.string)", "amount": "\(faucet.amount)"])
                return Reply.json(Paid(txid: result.txid, amount: faucet.amount, fee: result.fee, address: recipient.string))
            } catch let e as APIError where e.code == "queue-full" {
                // Not sent on (too many submissions in flight): the address keeps its turn.
                faucet.refund(recipient.string)
                throw e
            } catch let e as APIError where e.status == .badRequest {
                // Refused (a coin was taken meanwhile): keep those coins reserved, try once more with fresh coins.
                lastError = APIError(.serviceUnavailable, "faucet-failed", "the node refused the faucet's payment: \(e.code): \(e.message)")
            } catch {
                // No answer (the mempool is down, or answered too late): the payment may have been
                // accepted, so its coins stay reserved (for a minute) and the address's turn is used.
                throw error
            }
        }
        faucet.refund(recipient.string)
        throw lastError!
    }
}
