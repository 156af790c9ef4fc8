import ChainCore
import Hummingbird
import NodeKit

enum AddressRoutes {
    static let addrParam = (name: "addr", schema: Schema.address, description: "address of this node's network")
    static let errors = [400, 502, 503]

    static func routes(_ edge: Edge) -> [Route] {
        let backend = edge.backend
        let explorer = edge.explorer
        let network = backend.network
        return [
            Route(.get, "/api/address/:addr",
                  RouteDoc(summary: "Confirmed and unconfirmed statistics of an address", tag: "addresses", params: [addrParam],
                           response: .json(Schema.ref("Address")), errors: errors)) { _, context in
                let address = try Param.address(context, "addr", network: network)
                async let chainStats = backend.chain(.getaddress, AddressRef(publicKey: Hex.encode(address.publicKey)), as: AddressStats.self)
                async let pending = explorer.addressMempool(address)
                let (stats, entries) = try await (chainStats, pending)
                return Reply.json(EsploraAddress(address: address.string, chainStats: EsploraAddressStats(stats),
                                                 mempoolStats: EsploraAddressStats(mempool: entries, key: address.publicKey)))
            },
            Route(.get, "/api/address/:addr/utxo",
                  RouteDoc(summary: "Spendable outputs: confirmed ones not spent in the mempool, plus unspent unconfirmed ones",
                           tag: "addresses", params: [addrParam], response: .json(Schema.array(Schema.ref("UTXO"))), errors: errors)) { _, context in
                let address = try Param.address(context, "addr", network: network)
                return Reply.json(try await explorer.utxos(address))
            },
            Route(.get, "/api/address/:addr/txs",
                  RouteDoc(summary: "Unconfirmed transactions, then up to 25 confirmed ones, newest first", tag: "addresses",
                           params: [addrParam], response: .json(Schema.array(Schema.ref("Transaction"))), errors: errors)) { _, context in
                let address = try Param.address(context, "addr", network: network)
                async let pending = explorer.addressMempoolTxs(address)
                async let confirmed = explorer.addressChainTxs(address, after: nil)
                return Reply.json(try await pending + confirmed)
            },
            Route(.get, "/api/address/:addr/txs/mempool",
                  RouteDoc(summary: "Unconfirmed transactions of an address", tag: "addresses", params: [addrParam],
                           response: .json(Schema.array(Schema.ref("Transaction"))), errors: errors)) { _, context in
                let address = try Param.address(context, "addr", network: network)
                return Reply.json(try await explorer.addressMempoolTxs(address))
            },
            Route(.get, "/api/address/:addr/txs/chain",
                  RouteDoc(summary: "The 25 newest confirmed transactions of an address", tag: "addresses", params: [addrParam],
                           response: .json(Schema.array(Schema.ref("Transaction"))), errors: errors)) { _, context in
                let address = try Param.address(context, "addr", network: network)
                return Reply.json(try await explorer.addressChainTxs(address, after: nil))
            },
            Route(.get, "/api/address/:addr/txs/chain/:last_seen_txid",
                  RouteDoc(summary: "The next 25 confirmed transactions after the last one seen", tag: "addresses",
                           params: [addrParam, ("last_seen_txid", Schema.hash, "last txid of the previous page")],
                           response: .json(Schema.array(Schema.ref("Transaction"))), errors: [400, 404, 502, 503])) { _, context in
                let address = try Param.address(context, "addr", network: network)
                let after = try Param.hash(context, "last_seen_txid", what: "txid")
                return Reply.json(try await explorer.addressChainTxs(address, after: after))
            },
        ]
    }
}
