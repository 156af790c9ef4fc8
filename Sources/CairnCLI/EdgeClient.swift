import AsyncHTTPClient
import Foundation
import Wallet
import CairnContract

/// The edge's HTTP API (Esplora-shaped, under `/api`).
struct EdgeClient: Sendable {
    static let defaultURL = "http://127.0.0.1:8340"
    static let envName = "CAIRN_EDGE"

    let base: String

    init(_ url: String?) {
        var u = url ?? ProcessInfo.processInfo.environment[Self.envName] ?? Self.defaultURL
        if u.isEmpty { u = Self.defaultURL }
        while u.hasSuffix("/") { u.removeLast() }
        base = u
    }

    enum Failure: Error, CustomStringConvertible {
        case unreachable(String, String)
        case http(status: Int, path: String, code: String?, message: String)
        case undecodable(String, String)

        var description: String {
            switch self {
            case .unreachable(let url, let why): return "cannot reach the edge at \(url): \(why) (is `cairn up` running? set --edge or CAIRN_EDGE)"
            case .http(let status, let path, let code, let message):
                return "\(path): HTTP \(status)\(code.map { " \($0)" } ?? ""): \(message)"
            case .undecodable(let path, let why): return "\(path): unexpected answer from the edge (\(why))"
            }
        }
    }

    struct ErrorBody: Decodable {
        struct Inner: Decodable { var code: String; var message: String }
        var error: Inner
    }

    /// Sends a request; returns status and body. Throws only when the edge can't be reached.
    func raw(_ path: String, post body: String? = nil, timeout: Int64 = 15) async throws -> (status: Int, body: Data) {
        var request = HTTPClientRequest(url: base + path)
        if let body {
            request.method = .POST
            request.body = .bytes(Array(body.utf8))
            request.headers.add(name: "Content-Type", value: "text/plain")
        }
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(timeout))
            var data = Data()
            for try await chunk in response.body {
                data.append(contentsOf: chunk.readableBytesView)
                if data.count > 32 * 1024 * 1024 { break }
            }
            return (Int(response.status.code), data)
        } catch {
            throw Failure.unreachable(base, "\(error)")
        }
    }

    func failure(status: Int, path: String, body: Data) -> Failure {
        if let e = try? JSONDecoder().decode(ErrorBody.self, from: body) {
            return .http(status: status, path: path, code: e.error.code, message: e.error.message)
        }
        return .http(status: status, path: path, code: nil, message: String(decoding: body.prefix(500), as: UTF8.self))
    }

    func get<T: Decodable>(_ path: String, as: T.Type = T.self) async throws -> T {
        let (status, body) = try await raw(path)
        guard (200..<300).contains(status) else { throw failure(status: status, path: path, body: body) }
        do { return try JSONDecoder().decode(T.self, from: body) } catch {
            throw Failure.undecodable(path, Keystore.describe(error))
        }
    }

    /// `POST /api/tx`: the txid, or the node's refusal.
    func broadcast(hex: String) async throws -> String {
        let (status, body) = try await raw("/api/tx", post: hex)
        guard (200..<300).contains(status) else { throw failure(status: status, path: "/api/tx", body: body) }
        return String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

// MARK: Answer shapes

// The Esplora shapes (`EsploraAddress`, `EsploraUTXO`, `EsploraTx`, …) are the edge's own, from CairnContract.

extension EsploraAddressStats {
    var balance: Int64 { Int64(fundedTxoSum) - Int64(spentTxoSum) }
}

extension EsploraTx {
    /// What this transaction did to `address`'s balance.
    func net(for address: String) -> Int64 {
        let received = vout.filter { $0.address == address }.reduce(Int64(0)) { $0 + Int64($1.value) }
        let sent = vin.compactMap(\.prevout).filter { $0.address == address }.reduce(Int64(0)) { $0 + Int64($1.value) }
        return received - sent
    }
}

/// Any JSON value (for `/healthz`, whose details vary by service).
enum JSONValue: Codable, Sendable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n): try c.encode(n)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    subscript(key: String) -> JSONValue? { if case .object(let o) = self { return o[key] } else { return nil } }
    var bool: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    var number: Double? { if case .number(let n) = self { return n } else { return nil } }
    var int: Int? { number.map { Int($0) } }
    var string: String? { if case .string(let s) = self { return s } else { return nil } }
    var object: [String: JSONValue]? { if case .object(let o) = self { return o } else { return nil } }
    var array: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }

    /// Short text for a detail value.
    var text: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "yes" : "no"
        case .number(let n): return n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        case .string(let s): return s
        case .array(let a): return "[\(a.map(\.text).joined(separator: ", "))]"
        case .object(let o): return "{\(o.keys.sorted().map { "\($0): \(o[$0]!.text)" }.joined(separator: ", "))}"
        }
    }
}
