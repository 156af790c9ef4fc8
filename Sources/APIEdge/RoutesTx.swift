import ChainCore
import Foundation
import Hummingbird
import NIOCore
import NodeKit
import Synchronization

enum TxRoutes {
    static let txidParam = (name: "txid", schema: Schema.hash, description: "transaction id (display hex)")
    static let lookupErrors = [400, 404, 502, 503]

    struct TraceReply: Codable, Sendable {
        struct Event: Codable, Sendable { var stage: String; var service: String; var time: Double; var detail: String? }
        var txid: String
        var events: [Event]
    }

    struct HexBody: Decodable { var hex: String }

    static func routes(_ edge: Edge) -> [Route] {
        let backend = edge.backend
        let explorer = edge.explorer
        return [
            Route(.get, "/api/tx/:txid",
                  RouteDoc(summary: "A transaction (chain first, then mempool)", tag: "transactions", params: [txidParam],
                           response: .json(Schema.ref("Transaction")), errors: lookupErrors)) { _, context in
                let txid = try Param.hash(context, "txid", what: "txid")
                return Reply.json(try await explorer.esplora(try await explorer.find(txid)))
            },
            Route(.get, "/api/tx/:txid/status",
                  RouteDoc(summary: "Confirmation status of a transaction", tag: "transactions", params: [txidParam],
                           response: .json(Schema.ref("TxStatus")), errors: lookupErrors)) { _, context in
                let txid = try Param.hash(context, "txid", what: "txid")
                return Reply.json(explorer.status(try await explorer.find(txid)))
            },
            Route(.get, "/api/tx/:txid/hex",
                  RouteDoc(summary: "The serialized transaction, hex", tag: "transactions", params: [txidParam],
                           response: .text(Schema.hex), errors: lookupErrors)) { _, context in
                let txid = try Param.hash(context, "txid", what: "txid")
                switch try await explorer.find(txid) {
                case .confirmed(let c, _): return Reply.text(c.hex)
                case .unconfirmed(let e, _): return Reply.text(e.hex)
                }
            },
            Route(.get, "/api/tx/:txid/outspends",
                  RouteDoc(summary: "Who spends each output: {spent, txid, vin, status} per output, mempool spenders included",
                           tag: "transactions", params: [txidParam], response: .json(Schema.array(Schema.ref("Outspend"))),
                           errors: lookupErrors)) { _, context in
                let txid = try Param.hash(context, "txid", what: "txid")
                return Reply.json(try await explorer.outspends(try await explorer.find(txid)))
            },
            Route(.get, "/api/tx/:txid/outspend/:vout",
                  RouteDoc(summary: "Who spends one output ({spent: false} while unspent)", tag: "transactions",
                           params: [txidParam, (name: "vout", schema: Schema.uint, description: "output index")],
                           response: .json(Schema.ref("Outspend")), errors: lookupErrors)) { _, context in
                let txid = try Param.hash(context, "txid", what: "txid")
                let vout = try Param.nonNegative(context, "vout", what: "vout")
                let found = try await explorer.find(txid)
                let outputs: Int
                switch found {
                case .confirmed(_, let tx), .unconfirmed(_, let tx): outputs = tx.outputs.count
                }
                guard vout < outputs else {
                    throw APIError.notFound("transaction \(txid) has \(outputs) output\(outputs == 1 ? "" : "s"); there is no output \(vout)")
                }
                return Reply.json(try await explorer.outspends(found, only: vout)[0])
            },
            Route(.get, "/api/tx/:txid/trace",
                  RouteDoc(summary: "The transaction's path through the services (edge, mempool, miners, chain store)",
                           tag: "transactions", params: [txidParam], response: .json(Schema.ref("Trace")), errors: lookupErrors)) { _, context in
                let txid = try Param.hash(context, "txid", what: "txid")
                async let chainEvents = backend.chain(.gettrace, TxRef(txid: txid), as: [TraceEvent].self)
                async let poolEvents = backend.mempool(.gettrace, TxRef(txid: txid), as: [TraceEvent].self)
                let merged = TraceStamps.merge(try await chainEvents + poolEvents + edge.stamps.events(txid))
                guard !merged.isEmpty else { throw APIError.notFound("no trace for transaction \(txid)") }
                return Reply.json(TraceReply(txid: txid, events: merged.map { .init(stage: $0.stage.rawValue, service: $0.service, time: $0.time, detail: $0.detail) }))
            },
            Route(.post, "/api/tx",
                  RouteDoc(summary: "Submit a raw transaction (hex body, or JSON {\"hex\": …}); answers its txid",
                           tag: "transactions", response: .text(Schema.hash), errors: [400, 413, 502, 503], acceptsTxBody: true)) { request, _ in
                // 503 `queue-full` with Retry-After: too many submissions in flight (SubmitQueue.swift)
                try await submit(request, edge: edge)
            },
        ]
    }

    /// The body as text without the whitespace around it, as `trimmingCharacters(in:
    /// .whitespacesAndNewlines)` gives it; an all-ASCII body (hex, JSON: every real one) without
    /// Foundation's detour through NSString and UTF-16, which cost about half of this route's CPU
    /// under a flood. (ASCII's whitespace in that set: tab, line feed, vertical tab, form feed,
    /// carriage return, space.)
    static func trimmed(_ buffer: ByteBuffer) -> String {
        let bytes = buffer.readableBytesView
        guard bytes.allSatisfy({ $0 < 0x80 }) else { return String(buffer: buffer).trimmingCharacters(in: .whitespacesAndNewlines) }
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }

    static func submit(_ request: Request, edge: Edge) async throws -> Response {
        var request = request
        let receivedAt = ServiceSupport.now()
        let buffer = try await request.collectBody(upTo: edge.config.maxBody)
        let body = trimmed(buffer)
        let isJSON = request.headers[.contentType]?.lowercased().contains("json") == true || body.hasPrefix("{")
        var hex = body
        if isJSON {
            do {
                hex = try JSONDecoder().decode(HexBody.self, from: Data(body.utf8)).hex.trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                throw APIError.badRequest("bad-json", "expected {\"hex\": \"<raw transaction hex>\"}")
            }
        }
        guard !hex.isEmpty else { throw APIError.badRequest("bad-encoding", "empty body: send the raw transaction as hex") }
        edge.metrics.txSubmitted.increment()
        let raw = Hex.decode(hex)
        let decoded = raw.flatMap { try? Transaction(bytes: $0) }
        if let tx = decoded {
            edge.stamps.record(TraceEvent(id: tx.txid.hex, kind: .tx, stage: .received, service: .edge, time: receivedAt,
                                          detail: "POST /api/tx"))
        }
        do {
            // The bytes in the next batch to the mempool; what is not hex goes as it came, for the mempool to refuse.
            let result = if let raw {
                try await edge.backend.submitTx(raw: raw, receivedAt: receivedAt)
            } else {
                try await edge.backend.submitTx(SubmitTx(hex: hex, receivedAt: receivedAt))
            }
            edge.metrics.txAccepted.increment()
            // Debug, not info: a line per transaction was a tenth of the edge's work under a flood
            // (the trace keeps each transaction's path: `GET /api/tx/:txid/trace`).
            edge.logger.debug("transaction accepted", metadata: ["txid": "\(result.txid)", "fee": "\(result.fee)"])
            return Reply.text(result.txid)
        } catch let e as APIError where e.status == .badRequest {
            // Already in the mempool: the txid, as bitcoind's sendrawtransaction (behind Esplora's
            // POST /tx) answers; a client retrying a submission whose answer it lost is told it holds.
            if e.code == MempoolRefusal.alreadyInPool.rawValue, let tx = decoded { return Reply.text(tx.txid.hex) }
            edge.metrics.txRejected(code: e.code)
            throw e
        }
    }
}

/// The edge's own trace stamps (when it received a transaction), kept for a bounded number of txids.
final class TraceStamps: Sendable {
    private struct State {
        var events: [String: [TraceEvent]] = [:]
        /// The ids in the order first stamped; those before `head` are forgotten already (the
        /// array is compacted once `head` passes `limit`: amortised O(1) per stamp, where
        /// dropping the first of 10,000 at each stamp moved them all).
        var order: [String] = []
        var head = 0
    }
    private let state = Mutex(State())
    private let limit: Int

    init(limit: Int = 10_000) { self.limit = limit }

    func record(_ e: TraceEvent) {
        state.withLock { s in
            if s.events[e.id] == nil {
                s.order.append(e.id)
                while s.order.count - s.head > limit {
                    s.events[s.order[s.head]] = nil
                    s.head += 1
                }
                if s.head > limit {
                    s.order.removeFirst(s.head)
                    s.head = 0
                }
            }
            s.events[e.id, default: []].append(e)
        }
    }

    func events(_ id: String) -> [TraceEvent] { state.withLock { $0.events[id.lowercased()] ?? [] } }

    /// Sorted by time; the same step reported twice (the mempool also records the edge's stamp) kept once.
    static func merge(_ events: [TraceEvent]) -> [TraceEvent] {
        var out = [TraceEvent]()
        for e in events.sorted(by: { $0.time < $1.time }) {
            if out.contains(where: { $0.stage == e.stage && $0.service == e.service && abs($0.time - e.time) < 0.001 }) { continue }
            out.append(e)
        }
        return out
    }
}
