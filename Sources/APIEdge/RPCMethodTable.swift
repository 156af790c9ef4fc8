import Foundation
import NodeKit

/// A parameter's JSON type, as the table declares it: it drives type checks, `help` and `rpc.discover`.
enum RPCParamType: Sendable {
    case string, hex, int, amount, bool, boolOrInt, object, array

    func accepts(_ v: RPCValue) -> Bool {
        switch (self, v) {
        case (.string, .string), (.hex, .string), (.bool, .bool), (.object, .object), (.array, .array): return true
        case (.int, .int), (.amount, .int), (.amount, .double), (.boolOrInt, .int), (.boolOrInt, .bool): return true
        case (.int, .double(let d)): return d == d.rounded() && abs(d) < 9e15
        default: return false
        }
    }

    /// How bitcoind's help names it.
    var label: String {
        switch self {
        case .string, .hex: return "string"
        case .int, .amount: return "numeric"
        case .bool: return "boolean"
        case .boolOrInt: return "numeric or boolean"
        case .object: return "json object"
        case .array: return "json array"
        }
    }

    var expected: String {
        switch self {
        case .string, .hex: return "string"
        case .int, .amount: return "number"
        case .bool: return "bool"
        case .boolOrInt: return "number or bool"
        case .object: return "object"
        case .array: return "array"
        }
    }

    var schema: RPCValue {
        switch self {
        case .string: return ["type": "string"]
        case .hex: return ["type": "string", "pattern": "^([0-9a-fA-F]{2})*$"]
        case .int: return ["type": "integer"]
        case .amount: return ["type": "number"]
        case .bool: return ["type": "boolean"]
        case .boolOrInt: return ["oneOf": [["type": "integer"], ["type": "boolean"]]]
        case .object: return ["type": "object"]
        case .array: return ["type": "array"]
        }
    }
}

struct RPCParam: Sendable {
    var name: String
    var type: RPCParamType
    var required: Bool
    var doc: String
    /// The default as help shows it (optional params).
    var defaultText: String?

    static func required(_ name: String, _ type: RPCParamType, _ doc: String) -> RPCParam {
        RPCParam(name: name, type: type, required: true, doc: doc, defaultText: nil)
    }

    static func optional(_ name: String, _ type: RPCParamType, _ doc: String, default d: String? = nil) -> RPCParam {
        RPCParam(name: name, type: type, required: false, doc: doc, defaultText: d)
    }
}

/// What a method handler gets: the edge, and the table (for `help` and `rpc.discover`).
struct RPCContext: Sendable {
    let edge: Edge
    let methods: RPCMethodTable
    /// The WebSocket connection the call came on (nil over HTTP).
    var session: RPCSession? = nil
    var backend: Backend { edge.backend }
    var rpc: RPCServer { edge.rpc }
}

/// One method: its name, params, help text, result, weight (cost of a call, for per-key limits) and
/// whether it needs the operator's credentials. Dispatch, `help` and `rpc.discover` all read this.
struct RPCMethod: Sendable {
    typealias Handler = @Sendable (RPCArgs, RPCContext) async throws -> RPCValue

    var name: RPCMethodName
    var category: String
    var params: [RPCParam]
    var summary: String
    /// The result, as help describes it.
    var result: String
    var resultSchema: RPCValue
    /// Credits a call costs against an API key's limits (1 for a lookup; more for calls that fan out
    /// to many backend requests or validate): see `cost(_:)`.
    var weight: Int = 1
    /// A heavier cost for higher levels of one param (getblock's verbosity).
    var heavier: RPCHeavier? = nil
    var operatorOnly = false
    var handler: Handler

    /// Matches the request's params (an array by position, or an object by name) to the declared ones.
    func bind(_ params: RPCValue) throws -> RPCArgs {
        var values = [RPCValue?](repeating: nil, count: self.params.count)
        switch params {
        case .array(let list):
            guard list.count <= self.params.count else {
                throw RPCFault.invalidParams("\(name) takes at most \(self.params.count) parameters, got \(list.count)\n\n\(synopsis)")
            }
            for (i, v) in list.enumerated() where v != .null { values[i] = v }
        case .object(let named):
            for (key, v) in named {
                guard let i = self.params.firstIndex(where: { $0.name == key }) else {
                    throw RPCFault.invalidParameter("Unknown named parameter \(key.prefix(80))")
                }
                if v != .null { values[i] = v }
            }
        default:
            throw RPCFault.invalidRequest("Params must be an array or object")
        }
        for (i, p) in self.params.enumerated() {
            guard let v = values[i] else {
                if p.required { throw RPCFault.invalidParams("Missing required parameter \(i + 1) (\(p.name))\n\n\(synopsis)") }
                continue
            }
            guard p.type.accepts(v) else {
                throw RPCFault.typeError("JSON value of type \(v.typeName) for \(p.name) is not of expected type \(p.type.expected)")
            }
        }
        return RPCArgs(method: name.rawValue, params: self.params, values: values)
    }

    /// `getblock "blockhash" ( verbosity )`
    var synopsis: String {
        var out = name.rawValue
        let shown = params.map { p -> String in
            switch p.type {
            case .string, .hex: return "\"\(p.name)\""
            case .array: return "[\(p.name),...]"
            case .object: return "{\(p.name)}"
            default: return p.name
            }
        }
        let req = zip(params, shown).filter { $0.0.required }.map(\.1)
        let opt = zip(params, shown).filter { !$0.0.required }.map(\.1)
        if !req.isEmpty { out += " " + req.joined(separator: " ") }
        if !opt.isEmpty { out += " ( " + opt.joined(separator: " ") + " )" }
        return out
    }

    var help: String {
        var out = synopsis + "\n\n" + summary + "\n"
        if operatorOnly { out += "\nNeeds the operator's credentials (the cookie in the data folder, or the token).\n" }
        if !params.isEmpty {
            out += "\nArguments:\n"
            for (i, p) in params.enumerated() {
                var kind = "\(p.type.label), \(p.required ? "required" : "optional")"
                if let d = p.defaultText { kind += ", default=\(d)" }
                out += "\(i + 1). \(p.name.padding(toLength: max(p.name.count, 20), withPad: " ", startingAt: 0)) (\(kind)) \(p.doc)\n"
            }
        }
        out += "\nResult:\n\(result)\n"
        out += "\nCredits (per call, against an API key's limits): \(creditsText)\n"
        return out
    }
}

/// A method whose cost grows with one param's level (`RPCArgs.level`: a boolean is 0 or 1).
struct RPCHeavier: Sendable {
    var param: String
    /// The level when the param is absent (its default).
    var defaultLevel: Int
    /// From the lowest level up: at `atLeast` and above, the call costs `weight`.
    var levels: [(atLeast: Int, weight: Int)]
}

extension RPCMethod {
    /// The credits a call with these params costs (params that do not bind: the base weight).
    func cost(_ params: RPCValue) -> Int {
        guard let h = heavier else { return weight }
        let level = (try? bind(params))?.level(h.param) ?? h.defaultLevel
        return h.levels.last { level >= $0.atLeast }?.weight ?? weight
    }

    /// "1", or "1; verbosity ≥ 1: 2; verbosity ≥ 2: 4", or "2; verbose: 4" (help, rpc.discover, the docs' table).
    var creditsText: String {
        guard let h = heavier else { return "\(weight)" }
        let isBool = params.first { $0.name == h.param }?.type == .bool
        return "\(weight)" + h.levels.map { isBool ? "; \(h.param): \($0.weight)" : "; \(h.param) ≥ \($0.atLeast): \($0.weight)" }.joined()
    }
}

/// A call's params, resolved by name (nil: absent or null).
struct RPCArgs: Sendable {
    let method: String
    let params: [RPCParam]
    let values: [RPCValue?]

    func value(_ name: String) -> RPCValue? {
        guard let i = params.firstIndex(where: { $0.name == name }) else { preconditionFailure("\(method) has no param \(name)") }
        return values[i]
    }

    func string(_ name: String) -> String? {
        if case .string(let s)? = value(name) { return s }
        return nil
    }

    func int(_ name: String) -> Int? {
        switch value(name) {
        case .int(let i)?: return Int(clamping: i)
        case .double(let d)?: return Int(d)
        default: return nil
        }
    }

    func double(_ name: String) -> Double? {
        switch value(name) {
        case .int(let i)?: return Double(i)
        case .double(let d)?: return d
        default: return nil
        }
    }

    func bool(_ name: String) -> Bool? {
        if case .bool(let b)? = value(name) { return b }
        return nil
    }

    /// A verbosity given as a boolean (false 0, true 1) or a number.
    func level(_ name: String) -> Int? {
        switch value(name) {
        case .bool(let b)?: return b ? 1 : 0
        case .int(let i)?: return Int(clamping: i)
        default: return nil
        }
    }

    /// A 64-hex-digit hash, lower-cased; errors worded as bitcoind's ParseHashV.
    func hash(_ name: String) throws -> String {
        guard let s = string(name) else { throw RPCFault.invalidParameter("\(name) is required") }
        guard s.utf8.count == 64 else { throw RPCFault.invalidParameter("\(name) must be of length 64 (not \(s.utf8.count), for '\(s.prefix(80))')") }
        guard s.utf8.allSatisfy(\.isHexDigit) else { throw RPCFault.invalidParameter("\(name) must be hexadecimal string (not '\(s.prefix(80))')") }
        return s.lowercased()
    }
}

/// The method table, by name.
struct RPCMethodTable: Sendable {
    let list: [RPCMethod]
    private let byName: [String: Int]

    init(_ list: [RPCMethod]) {
        self.list = list
        byName = Dictionary(list.enumerated().map { ($1.name.rawValue, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// A request's method by its name on the wire (nil: no such method).
    func method(_ name: String) -> RPCMethod? { byName[name].map { list[$0] } }

    func method(_ name: RPCMethodName) -> RPCMethod? { method(name.rawValue) }

    /// `help` without a command: every method's synopsis, by category (bitcoind's layout).
    var overview: String {
        var out = [String]()
        var seen = [String]()
        for m in list where !seen.contains(m.category) { seen.append(m.category) }
        for c in seen {
            out.append("== \(c) ==")
            out += list.filter { $0.category == c }.map(\.synopsis).sorted()
            out.append("")
        }
        return out.joined(separator: "\n").trimmingCharacters(in: .newlines)
    }

    /// The OpenRPC document (https://spec.open-rpc.org) of the same table.
    func openRPC(version: String, network: String) -> RPCValue {
        .object([
            "openrpc": "1.2.6",
            "info": ["title": .string("Cairn node JSON-RPC (\(network))"), "version": .string(version),
                     "description": "Bitcoin Core's method names, parameters and result shapes, on Cairn's chain. POST /rpc on the edge."],
            "methods": .array(list.map { m in
                .object([
                    "name": .string(m.name.rawValue),
                    "summary": .string(String(m.summary.prefix { $0 != "\n" })),
                    "description": .string(m.help),
                    "tags": [["name": .string(m.category)]],
                    "paramStructure": "either",
                    "params": .array(m.params.map { p in
                        var o: [String: RPCValue] = ["name": .string(p.name), "required": .bool(p.required), "description": .string(p.doc),
                                                     "schema": p.type.schema]
                        if let d = p.defaultText { o["x-default"] = .string(d) }
                        return .object(o)
                    }),
                    "result": ["name": "result", "description": .string(m.result), "schema": m.resultSchema],
                    "x-weight": .int(Int64(m.weight)),
                    "x-credits": .string(m.creditsText),
                    "x-operator-only": .bool(m.operatorOnly),
                ])
            }),
        ])
    }
}
