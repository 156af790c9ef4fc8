import CairnContract
import Foundation

/// Any JSON value: JSON-RPC requests' ids and params, and the results the methods build.
enum RPCValue: Codable, Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByFloatLiteral {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    /// Base units shown in CRN with exactly 8 decimals, as bitcoind's amounts (python-bitcoinrpc reads a Decimal).
    case amount(UInt64)
    case string(String)
    case array([RPCValue])
    case object([String: RPCValue])
    /// JSON already encoded (compact, keys sorted as `encoded()` sorts them), written as it is: a
    /// result rendered elsewhere, as getblocktemplate's by the mempool (`TemplateRPC`), spliced
    /// into the reply without being parsed here.
    case preencoded([UInt8])

    init(stringLiteral value: String) { self = .string(value) }
    init(integerLiteral value: Int) { self = .int(Int64(value)) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(floatLiteral value: Double) { self = .double(value) }
    init(arrayLiteral elements: RPCValue...) { self = .array(elements) }
    init(dictionaryLiteral elements: (String, RPCValue)...) { self = .object(Dictionary(elements, uniquingKeysWith: { $1 })) }

    init(_ i: Int) { self = .int(Int64(i)) }
    init(_ s: String) { self = .string(s) }
    init(_ s: String?) { self = s.map { .string($0) } ?? .null }

    init(from decoder: any Decoder) throws {
        // The commonest shapes of a request first (each failed attempt throws, which costs): strings, then
        // objects and arrays; a boolean before an integer before a double keeps each number's type.
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let o = try? c.decode([String: RPCValue].self) {
            self = .object(o)
        } else if let a = try? c.decode([RPCValue].self) {
            self = .array(a)
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int64.self) {
            self = .int(i)
        } else {
            self = .double(try c.decode(Double.self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d.isFinite ? d : 0)
        case .amount(let a): try c.encode(Double(a) / 100_000_000)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        case .preencoded(let bytes): try c.encode(RPCValue.decode(Data(bytes)))
        }
    }

    /// JSON's name for the value's type, as Bitcoin Core's type errors spell it.
    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "bool"
        case .int, .double, .amount: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        case .preencoded(let bytes):
            switch bytes.first(where: { ![0x20, 0x09, 0x0a, 0x0d].contains($0) }) {
            case UInt8(ascii: "{"): return "object"
            case UInt8(ascii: "["): return "array"
            case UInt8(ascii: "\""): return "string"
            case UInt8(ascii: "t"), UInt8(ascii: "f"): return "bool"
            case UInt8(ascii: "n"), nil: return "null"
            default: return "number"
            }
        }
    }

    var isNull: Bool { self == .null }
    subscript(key: String) -> RPCValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
}

extension RPCValue {
    /// Parses with JSONSerialization, which is several times cheaper here than JSONDecoder (whose every
    /// failed type guess for a value throws). Foundation gives booleans as NSNumbers of type "c".
    static func decode(_ data: Data) throws -> RPCValue {
        try RPCValue(foundation: JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]))
    }

    init(foundation value: Any) throws {
        switch value {
        case is NSNull: self = .null
        case let s as String: self = .string(s)
        case let n as NSNumber:
            switch UInt8(bitPattern: n.objCType.pointee) {
            case UInt8(ascii: "c"), UInt8(ascii: "B"): self = .bool(n.boolValue)
            case UInt8(ascii: "d"), UInt8(ascii: "f"): self = .double(n.doubleValue)
            default: self = .int(n.int64Value)
            }
        case let a as [Any]: self = .array(try a.map { try RPCValue(foundation: $0) })
        case let o as [String: Any]: self = .object(try o.mapValues { try RPCValue(foundation: $0) })
        default: throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "unexpected JSON value \(type(of: value))"))
        }
    }

    /// Compact JSON, keys sorted. Written here rather than by JSONEncoder, which cannot write an
    /// amount as a number with a fixed 8 decimals.
    func encoded() -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(256)
        write(into: &out)
        return out
    }

    func write(into out: inout [UInt8]) {
        switch self {
        case .null: out += Array("null".utf8)
        case .bool(let b): out += Array((b ? "true" : "false").utf8)
        case .int(let i): out += Array(String(i).utf8)
        case .double(let d): out += Array((d.isFinite ? (d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : "\(d)") : "0").utf8)
        case .amount(let a): out += Array("\(a / 100_000_000).\(String(a % 100_000_000).leftPadded(8))".utf8)
        case .string(let s): Self.writeString(s, into: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                v.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            for (i, key) in o.keys.sorted().enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                o[key]!.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .preencoded(let bytes): out += bytes
        }
    }

    /// A JSON string: quote, backslash and control characters escaped (RFC 8259 §7), by the one
    /// writer the mempool's rendered template uses too (`TemplateRPC.writeString`), so both escape alike.
    static func writeString(_ s: String, into out: inout [UInt8]) {
        TemplateRPC.writeString(s, into: &out)
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
