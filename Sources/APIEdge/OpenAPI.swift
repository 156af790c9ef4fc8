import Foundation

/// A JSON value, for the hand-written OpenAPI document.
indirect enum JSONValue: Encodable, Sendable, ExpressibleByStringLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    case string(String), int(Int), bool(Bool), array([JSONValue]), object([String: JSONValue])

    init(stringLiteral value: String) { self = .string(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(integerLiteral value: Int) { self = .int(value) }
    init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(Dictionary(uniqueKeysWithValues: elements)) }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .int(let i): try c.encode(i)
        case .bool(let b): try c.encode(b)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}

/// How a route is documented.
struct RouteDoc: Sendable {
    enum Body: Sendable {
        case json(JSONValue)
        case text(JSONValue)
        case prometheus
    }

    var summary: String
    var tag: String
    var params: [(name: String, schema: JSONValue, description: String)] = []
    var response: Body
    /// Error statuses this route can answer (each documented with the error schema).
    var errors: [Int]
    var acceptsTxBody = false
    /// A JSON request body (schema), for routes that take one other than a transaction.
    var jsonBody: JSONValue? = nil
    /// Non-200 statuses whose body is not the error shape (as /healthz's 503, a Health object).
    var otherResponses: [(code: Int, schema: JSONValue)] = []
    /// False for the WebSocket endpoint: OpenAPI 3.0 cannot describe it as an operation, so it is
    /// described under `x-websocket` instead.
    var isHTTPOperation = true
}

/// Schemas shared by the document.
enum Schema {
    static func ref(_ name: String) -> JSONValue { ["$ref": .string("#/components/schemas/\(name)")] }
    static func array(_ items: JSONValue) -> JSONValue { ["type": "array", "items": items] }
    static func object(_ props: [String: JSONValue], required: [String]? = nil) -> JSONValue {
        .object(["type": "object", "properties": .object(props),
                 "required": .array((required ?? props.keys.sorted()).map { .string($0) })])
    }
    static func nullable(_ s: JSONValue) -> JSONValue {
        guard case .object(var o) = s else { return s }
        o["nullable"] = true
        return .object(o)
    }

    static let hashPattern = "^[0-9a-fA-F]{64}$"
    static let hash: JSONValue = ["type": "string", "pattern": .string(hashPattern), "minLength": 64, "maxLength": 64]
    static let hex: JSONValue = ["type": "string", "pattern": "^([0-9a-f]{2})*$"]
    static let int: JSONValue = ["type": "integer"]
    static let uint: JSONValue = ["type": "integer", "minimum": 0]
    static let number: JSONValue = ["type": "number"]
    static let string: JSONValue = ["type": "string"]
    static let bool: JSONValue = ["type": "boolean"]
    static let height: JSONValue = ["type": "integer", "minimum": 0, "maximum": 2_147_483_647]
    static let address: JSONValue = [
        "type": "string", "description": "bech32m address (rcrn1…, tcrn1…, crn1…; all lower or all upper case)",
        "pattern": "^((crn|tcrn|rcrn)1[02-9ac-hj-np-z]{59}|(CRN|TCRN|RCRN)1[02-9AC-HJ-NP-Z]{59})$",
    ]

    static let components: [String: JSONValue] = [
        "Error": object(["error": object(["code": string, "message": string])]),
        "Block": object([
            "id": hash, "height": uint, "version": int, "timestamp": uint, "tx_count": uint, "size": uint,
            "merkle_root": hash, "previousblockhash": nullable(hash), "nonce": uint, "bits": uint,
            "difficulty": number, "chainwork": hex, "in_best_chain": bool,
        ]),
        "BlockStatus": object(["in_best_chain": bool, "height": uint, "next_best": nullable(hash)]),
        "TxStatus": object(["confirmed": bool, "block_height": uint, "block_hash": hash, "block_time": uint], required: ["confirmed"]),
        "TxOutput": object(["value": uint, "pubkey": hex, "address": string]),
        "TxInput": object(["txid": hash, "vout": uint, "is_coinbase": bool, "prevout": nullable(ref("TxOutput")),
                           "signature": hex, "coinbase": hex], required: ["txid", "vout", "is_coinbase", "prevout"]),
        "Transaction": object(["txid": hash, "version": uint, "size": uint, "fee": uint,
                               "vin": array(ref("TxInput")), "vout": array(ref("TxOutput")), "status": ref("TxStatus")]),
        "AddressStats": object(["funded_txo_count": uint, "funded_txo_sum": uint, "spent_txo_count": uint,
                                "spent_txo_sum": uint, "tx_count": uint]),
        "Address": object(["address": string, "chain_stats": ref("AddressStats"), "mempool_stats": ref("AddressStats")]),
        "UTXO": object(["txid": hash, "vout": uint, "value": uint, "status": ref("TxStatus"), "coinbase": bool]),
        "Mempool": object(["count": uint, "vsize": uint, "total_fee": uint, "fee_histogram": array(array(number))]),
        "FeeEstimates": object(["1": number, "3": number, "6": number, "25": number]),
        "Outspend": object(["spent": bool, "txid": hash, "vin": uint, "status": ref("TxStatus")], required: ["spent"]),
        "MempoolBlock": object(["blockSize": uint, "blockVSize": uint, "nTx": uint, "totalFees": uint, "medianFee": number,
                                "feeRange": array(number)]),
        "MempoolPosition": object(["txid": hash, "block": uint, "blocks": uint]),
        "BlockStats": object(["height": uint, "timestamp": uint, "size": uint, "tx_count": uint, "fees": uint,
                              "difficulty": number, "work": number]),
        "MempoolSample": object(["time": number, "count": uint, "vsize": uint, "total_fee": uint,
                                 "next_block_median_fee": number, "next_block_min_fee": number]),
        "TraceEvent": object(["stage": string, "service": string, "time": number, "detail": nullable(string)]),
        "Trace": object(["txid": hash, "events": array(ref("TraceEvent"))]),
        "Chain": object([
            "network": string, "height": uint, "tip": hash, "tip_time": uint, "difficulty": number, "bits": uint,
            "chainwork": hex, "supply": uint, "supply_crn": ["type": "string", "pattern": "^[0-9]+\\.[0-9]{8}$"],
            "utxo_count": uint, "mempool_size": uint, "mempool_bytes": uint,
        ]),
        "Verify": object(["ok": bool,
                          "chain": object(["ok": bool, "error": string,
                                           "result": object(["ok": bool, "utxoCount": int, "recomputedCount": int, "mismatches": array(string)])]),
                          "mempool": object(["ok": bool, "error": string,
                                             "result": object(["ok": bool, "count": int, "stored": int, "chainChecked": bool,
                                                               "problems": array(string)])])]),
        "Miner": object(["id": string, "address": string, "hashrate": number, "threads": int, "last_seen": number]),
        "Node": object(["network": string, "version": string,
                        "endpoints": object(["chain_rpc": string, "chain_pub": string, "mempool_rpc": string, "mempool_pub": string])]),
        "ServiceHealth": object(["ok": bool, "tip_height": int, "tip_hash": string, "pid": int, "count": int, "error": string],
                                required: ["ok"]),
        "Health": object(["status": ["type": "string", "enum": ["ok", "degraded"]],
                          "services": object(["edge": ref("ServiceHealth"), "chainstore": ref("ServiceHealth"), "mempool": ref("ServiceHealth")]),
                          "miners": array(ref("Miner")), "node_id": string]),
    ]
}

enum OpenAPI {
    static let statusText: [Int: String] = [
        400: "Bad request: malformed hash, height, address, hex or JSON, or a refused transaction (the code says which)",
        404: "Not found: unknown route, block, transaction or height",
        401: "Unauthorized: missing, unknown, revoked or wrong API key or operator credentials",
        403: "Forbidden: the API key does not allow this origin or method",
        405: "Method not allowed",
        413: "Request body too large",
        426: "Upgrade required (WebSocket endpoint)",
        429: "Too many requests (an API key's rate or daily quota, the anonymous rate, the faucet's limit; Retry-After says when to try again)",
        502: "A backend service answered with an internal error",
        503: "The chain store or the mempool cannot be reached (for /healthz: the health report, status degraded)",
    ]

    static let txHex: JSONValue = ["type": "string", "minLength": 2, "pattern": "^\\s*([0-9a-fA-F]{2})+\\s*$",
                                   "description": "raw transaction, hex"]

    static func document(routes: [Route], network: String) -> JSONValue {
        var paths = [String: [String: JSONValue]]()
        for r in routes where r.doc.isHTTPOperation {
            paths[r.openAPIPath, default: [:]][r.method.rawValue.lowercased()] = operation(r)
        }
        return [
            "openapi": "3.0.3",
            "info": ["title": "Cairn API edge", "version": "0.1.0",
                     "description": .string("Esplora-shaped HTTP API of a Cairn node (\(network)). Amounts in base units (1 CRN = 100,000,000). Every error is {\"error\":{\"code\",\"message\"}}.")],
            "paths": .object(paths.mapValues { .object($0) }),
            "components": ["schemas": .object(Schema.components)],
            "x-websocket": websocket,
        ]
    }

    /// The WebSocket feed, which OpenAPI 3.0 has no operation for.
    static let websocket: JSONValue = [
        "path": "/api/ws",
        "description": "WebSocket (a plain HTTP GET gets 426; on an edge that has just started, the upgrade waits until its feed follows both the chain store and the mempool, at most 10 s, else it is refused). Query (resume after a reconnect): since=<seq>&instance=<hello's instance>&since_hash=<last block hash>: what the feed sent after it is replayed first, or {type:resync} says it can't be. Server messages: {type:hello, network, height, tip, instance, seq} on connect; ordered, each with seq: {type:block, block: Block} for every block connected (replay:true when replayed from the chain), {type:block-disconnected, hash, height, previous}, {type:tx, txid, fee, size} for every mempool addition, {type:tx-removed, txid} (left the pool, not into a block), {type:resync, scope: chain|mempool|all, reason} (fetch the current state); unordered: {type:trace, event: {id, kind, stage, service, time, detail}}; {type:address-tx, address, txid, confirmed} for tracked addresses; {type:tracking, address, tracking}; {type:error, code, message}. Client messages: {\"track-address\": address}, {\"untrack-address\": address} (at most 100 per connection).",
    ]

    static func operation(_ r: Route) -> JSONValue {
        var op: [String: JSONValue] = [
            "summary": .string(r.doc.summary),
            "tags": [.string(r.doc.tag)],
            "operationId": .string("\(r.method.rawValue.lowercased())\(r.path.replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: ":", with: "by_").replacingOccurrences(of: "-", with: "_"))"),
        ]
        if !r.doc.params.isEmpty {
            op["parameters"] = .array(r.doc.params.map { p in
                ["name": .string(p.name), "in": "path", "required": true, "description": .string(p.description), "schema": p.schema]
            })
        }
        if r.doc.acceptsTxBody {
            op["requestBody"] = [
                "required": true,
                "content": [
                    "text/plain": ["schema": txHex],
                    "application/json": ["schema": Schema.object(["hex": txHex])],
                ],
            ]
        }
        if let body = r.doc.jsonBody {
            op["requestBody"] = ["required": true, "content": ["application/json": ["schema": body]]]
        }
        var responses = [String: JSONValue]()
        switch r.doc.response {
        case .json(let s): responses["200"] = ["description": "OK", "content": ["application/json": ["schema": s]]]
        case .text(let s): responses["200"] = ["description": "OK", "content": ["text/plain": ["schema": s]]]
        case .prometheus: responses["200"] = ["description": "Prometheus text exposition", "content": ["text/plain": ["schema": Schema.string]]]
        }
        for code in r.doc.errors {
            responses[String(code)] = ["description": .string(statusText[code] ?? "Error"),
                                       "content": ["application/json": ["schema": Schema.ref("Error")]]]
        }
        for other in r.doc.otherResponses {
            responses[String(other.code)] = ["description": .string(statusText[other.code] ?? "See schema"),
                                             "content": ["application/json": ["schema": other.schema]]]
        }
        op["responses"] = .object(responses)
        return .object(op)
    }
}
