import Foundation

/// What a keyed request costs against its API key's limits, in credits: a JSON-RPC call its method's
/// weight (`RPCMethod.cost`, the method table), a REST request its route's (`routes`, 1 unless listed),
/// a WebSocket opened 1. A key's `rps` and `daily` are credits per second and per UTC day, so a
/// plain lookup is one request and heavier calls count for more (Infura's credits). Usage counts
/// requests per method, and the credits charged. docs/ARCHITECTURE.md shows `table(methods:)`
/// between its `credits` markers, and a test pins the two together.
enum Credits {
    /// REST routes that cost more than 1 credit, by "METHOD template" (as usage labels them).
    static let routes: [String: Int] = [
        "GET /api/address/:addr": 2,
        "GET /api/address/:addr/utxo": 2,
        "GET /api/address/:addr/txs": 4,
        "GET /api/address/:addr/txs/mempool": 2,
        "GET /api/address/:addr/txs/chain": 4,
        "GET /api/address/:addr/txs/chain/:last_seen_txid": 4,
        "GET /api/blocks": 2,
        "GET /api/blocks/:start_height": 2,
        "GET /api/charts/blocks/:count": 4,
        "GET /api/block/:hash/txs": 4,
        "GET /api/block/:hash/txs/:start": 4,
        "GET /api/block/:hash/txids": 2,
        "GET /api/block/:hash/raw": 2,
        "GET /api/mempool/txids": 2,
        "GET /api/v1/fees/mempool-blocks": 2,
        "GET /api/charts/mempool/:seconds": 2,
        "GET /api/tx/:txid/outspends": 2,
        "GET /api/tx/:txid/trace": 2,
        "POST /api/tx": 4,
        "POST /api/faucet": 4,
    ]

    /// A REST request's cost, by its usage label ("GET /api/blocks/tip/height").
    static func route(_ label: String) -> Int { routes[label] ?? 1 }

    /// The docs' table of costs (docs/ARCHITECTURE.md, between `<!-- credits:begin -->` and `<!-- credits:end -->`).
    static func table(methods: RPCMethodTable) -> String {
        var lines = ["| JSON-RPC method | credits a call |", "|---|---|"]
        lines += methods.list.map { "| `\($0.name.rawValue)` | \($0.creditsText) |" }
        lines += ["", "| REST route | credits a request |", "|---|---|"]
        lines += routes.sorted { $0.key < $1.key }.map { "| `\($0.key)` | \($0.value) |" }
        lines.append("| every other route; the feed `/api/ws` opened (a JSON-RPC socket: per call) | 1 |")
        return lines.joined(separator: "\n")
    }
}
