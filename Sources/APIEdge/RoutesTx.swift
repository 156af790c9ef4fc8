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

    /// Whether the request's Content-Type names JSON (any case): as `lowercased().contains("json")`,
    /// on the header's bytes (Foundation's `contains` took the NSString path on every request).
    static func isJSONContentType(_ value: String?) -> Bool {
        guard let value else { return false }
        let json: [UInt8] = [0x6A, 0x73, 0x6F, 0x6E]   // "json"
        var utf8 = value.utf8[...]
        while utf8.count >= 4 {
            if zip(utf8.prefix(4), json).allSatisfy({ $0 | 0x20 == $1 }) { return true }
            utf8 = utf8.dropFirst()
        }
        return false
    }

    /// The bytes of a body that is hex and nothing else (ASCII whitespace around it allowed), decoded
    /// straight from the buffer: what `Hex.decode(trimmed(buffer))` gives for such a body, without
    /// the String and the array of its UTF-8 made on the way. Nil for anything else (empty, odd
    /// length, JSON, another character): the caller then takes the general path.
    static func hexBody(_ buffer: ByteBuffer) -> [UInt8]? {
        buffer.withUnsafeReadableBytes { bytes -> [UInt8]? in
            func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) }
            func nibble(_ c: UInt8) -> UInt8? {
                switch c {
                case 0x30...0x39: return c &- 0x30
                case 0x61...0x66: return c &- 0x61 &+ 10
                case 0x41...0x46: return c &- 0x41 &+ 10
                default: return nil
                }
            }
            var start = 0, end = bytes.count
            while start < end, isSpace(bytes[start]) { start += 1 }
            while end > start, isSpace(bytes[end - 1]) { end -= 1 }
            let count = end - start
            guard count > 0, count % 2 == 0 else { return nil }
            var ok = true
            let out = [UInt8](unsafeUninitializedCapacity: count / 2) { out, written in
                var i = start, j = 0
                while i < end {
                    guard let hi = nibble(bytes[i]), let lo = nibble(bytes[i + 1]) else { ok = false; break }
                    out[j] = hi << 4 | lo
                    i += 2
                    j += 1
                }
                written = j
            }
            return ok ? out : nil
        }
    }

    static func submit(_ request: Request, edge: Edge) async throws -> Response {
        var request = request
        let receivedAt = ServiceSupport.now()
        let buffer = try await request.collectBody(upTo: edge.config.maxBody)
        let raw: [UInt8]?
        var hex = ""
        if !isJSONContentType(request.headers[.contentType]), let bytes = hexBody(buffer) {
            // A bare hex body (what clients send): decoded from its bytes, no String on the way.
            raw = bytes
        } else {
            let body = trimmed(buffer)
            let isJSON = isJSONContentType(request.headers[.contentType]) || body.hasPrefix("{")
            hex = body
            if isJSON {
                do {
                    hex = try JSONDecoder().decode(HexBody.self, from: Data(body.utf8)).hex.trimmingCharacters(in: .whitespacesAndNewlines)
                } catch {
                    throw APIError.badRequest("bad-json", "expected {\"hex\": \"<raw transaction hex>\"}")
                }
            }
            guard !hex.isEmpty else { throw APIError.badRequest("bad-encoding", "empty body: send the raw transaction as hex") }
            raw = Hex.decode(hex)
        }
        edge.metrics.txSubmitted.increment()
        // The edge's trace stamp (received at `receivedAt`) is recorded once the mempool has answered:
        // accepted, with the txid it answers (the transaction is not decoded here, nor hashed: under
        // a flood that was a tenth of this route's own work); otherwise with the txid of the bytes
        // when they are a transaction, as before.
        let txid: Hash256, fee: UInt64
        do {
            // The bytes in the next batch to the mempool; what is not hex goes as it came, for the mempool to refuse.
            if let raw {
                (txid, fee, _) = try await edge.backend.submitRaw(raw, receivedAt: receivedAt)
            } else {
                let result = try await edge.backend.submitTx(SubmitTx(hex: hex, receivedAt: receivedAt))
                guard let id = Hash256(hex: result.txid) else {
                    throw APIError(.badGateway, "backend-error", "mempool: submittx answered a txid that is not 64 hex digits")
                }
                (txid, fee) = (id, result.fee)
            }
        } catch {
            let decoded = raw.flatMap { try? Transaction(bytes: $0) }
            let id = decoded?.txid
            if let id { edge.stamps.received(id, at: receivedAt, detail: "POST /api/tx") }
            guard let e = error as? APIError, e.status == .badRequest else { throw error }
            // Already in the mempool: the txid, as bitcoind's sendrawtransaction (behind Esplora's
            // POST /tx) answers; a client retrying a submission whose answer it lost is told it holds.
            if e.code == MempoolRefusal.alreadyInPool.rawValue, let id { return Reply.text(id.hex) }
            edge.metrics.txRejected(code: e.code)
            throw e
        }
        edge.stamps.received(txid, at: receivedAt, detail: "POST /api/tx")
        edge.metrics.txAccepted.increment()
        let text = txid.hex
        // Debug, not info: a line per transaction was a tenth of the edge's work under a flood
        // (the trace keeps each transaction's path: `GET /api/tx/:txid/trace`).
        edge.logger.debug("transaction accepted", metadata: ["txid": "\(text)", "fee": "\(fee)"])
        return Reply.text(text)
    }
}

/// The edge's own trace stamps (when it received a transaction), kept for the last `limit` txids
/// stamped. Keyed by the txid itself (not its hex), in a ring of `limit` slots: a stamp costs a
/// dictionary insert and, once full, the removal of the oldest txid, without allocating (the
/// string-keyed map and its compacted order list were a few percent of the edge under a flood).
final class TraceStamps: Sendable {
    private struct Stamp {
        var stage: TraceStage
        var time: Double
        var detail: String?
    }
    private struct Entry {
        var first: Stamp
        var more: [Stamp] = []
    }
    private struct State {
        var entries: [Hash256: Entry] = [:]
        /// The txids in the order first stamped, `limit` slots at most, reused in turn from `next`.
        var ring: [Hash256] = []
        var next = 0
    }
    private let state: Mutex<State>
    let limit: Int
    /// Stamps kept per txid past its first (a client re-posting one transaction cannot grow the store).
    static let moreLimit = 8

    init(limit: Int = 10_000) {
        self.limit = max(1, limit)
        var s = State()
        s.entries.reserveCapacity(self.limit)
        s.ring.reserveCapacity(self.limit)
        state = Mutex(s)
    }

    /// The edge received the transaction `txid` at `time` (Unix seconds): a `received` stamp.
    func received(_ txid: Hash256, at time: Double, detail: String) {
        record(txid, Stamp(stage: .received, time: time, detail: detail))
    }

    private func record(_ txid: Hash256, _ stamp: Stamp) {
        state.withLock { s in
            if s.entries[txid] != nil {
                // A transaction posted again and again keeps its first stamp and its latest few.
                if s.entries[txid]!.more.count >= Self.moreLimit { s.entries[txid]!.more.removeFirst() }
                s.entries[txid]!.more.append(stamp)
                return
            }
            if s.ring.count < limit {
                s.ring.append(txid)
            } else {
                s.entries[s.ring[s.next]] = nil
                s.ring[s.next] = txid
                s.next = (s.next + 1) % limit
            }
            s.entries[txid] = Entry(first: stamp)
        }
    }

    /// The stamps of `txid` (display hex, any case), oldest first; none for an id that is not a txid.
    func events(_ id: String) -> [TraceEvent] {
        guard let txid = Hash256(hex: id.lowercased()) else { return [] }
        return events(txid)
    }

    func events(_ txid: Hash256) -> [TraceEvent] {
        guard let entry = state.withLock({ $0.entries[txid] }) else { return [] }
        let hex = txid.hex
        return ([entry.first] + entry.more).map {
            TraceEvent(id: hex, kind: .tx, stage: $0.stage, service: .edge, time: $0.time, detail: $0.detail)
        }
    }

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
