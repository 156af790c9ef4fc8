import ArgumentParser
import AsyncHTTPClient
import Foundation
import NodeKit

/// The operator's credentials for the edge, one set for `cairn rpc`, `cairn verify` and `cairn keys`:
/// the token (`--rpc-token`, env CAIRN_RPC_TOKEN or CAIRN_OPERATOR_TOKEN) if given, else the cookie
/// the edge writes at start (`DATA/.cookie`), as an HTTP Basic `Authorization` value.
enum OperatorCredentials {
    static func header(data: String?, token: String?) -> String? {
        let env = ProcessInfo.processInfo.environment
        if let t = token ?? env["CAIRN_RPC_TOKEN"] ?? env["CAIRN_OPERATOR_TOKEN"], !t.isEmpty {
            return "Basic " + Data("operator:\(t)".utf8).base64EncodedString()
        }
        guard let cookie = try? String(contentsOfFile: cookiePath(data: data), encoding: .utf8) else { return nil }
        return "Basic " + Data(cookie.trimmingCharacters(in: .whitespacesAndNewlines).utf8).base64EncodedString()
    }

    static func cookiePath(data: String?) -> String {
        let dir = data ?? ProcessInfo.processInfo.environment[Endpoints.Env.data] ?? "./cairn-data"
        return URL(fileURLWithPath: dir, isDirectory: true).appendingPathComponent(".cookie").path
    }
}

/// Options every `cairn keys` subcommand shares.
struct OperatorOptions: ParsableArguments {
    @Option(help: "Edge URL (env CAIRN_EDGE; default http://127.0.0.1:8340).")
    var edge: String?

    @Option(help: "The node's data folder, holding the operator cookie .cookie (env CAIRN_DATA; default ./cairn-data).")
    var data: String?

    @Option(name: .customLong("rpc-token"), help: "The operator token instead of the cookie (env CAIRN_RPC_TOKEN).")
    var rpcToken: String?

    @Flag(help: "Print the edge's JSON answer.")
    var json = false

    /// Calls an operator route; prints the edge's error and exits 1 on anything but 2xx.
    func call(_ path: String, post body: [UInt8]? = nil) async throws -> Data {
        let client = EdgeClient(edge)
        guard let auth = OperatorCredentials.header(data: data, token: rpcToken) else {
            Output.error("no operator credentials: \(OperatorCredentials.cookiePath(data: data)) is not readable (give --data with the node's data folder, or --rpc-token)")
            throw ExitCode.failure
        }
        var request = HTTPClientRequest(url: client.base + path)
        request.headers.add(name: "Authorization", value: auth)
        if let body {
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(body)
        }
        let status: Int
        var data = Data()
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            status = Int(response.status.code)
            for try await chunk in response.body { data.append(contentsOf: chunk.readableBytesView) }
        } catch {
            Output.error("\(EdgeClient.Failure.unreachable(client.base, "\(error)"))")
            throw ExitCode.failure
        }
        guard (200..<300).contains(status) else {
            Output.error("\(client.failure(status: status, path: path, body: data))")
            throw ExitCode.failure
        }
        if json { print(String(decoding: data, as: UTF8.self)) }
        return data
    }

    func decode<T: Decodable>(_ type: T.Type, _ data: Data, path: String) throws -> T {
        do { return try JSONDecoder().decode(T.self, from: data) } catch {
            Output.error("\(EdgeClient.Failure.undecodable(path, "\(error)"))")
            throw ExitCode.failure
        }
    }
}

/// `cairn keys create|list|revoke|rotate|usage`: the operator's API keys (through the edge's operator routes).
struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage the node's API keys (hosted access): create, list, revoke, rotate, usage.",
        discussion: """
            A key looks like ck_<16 hex id>_<secret>; the secret is shown once, at create and rotate. Call the API with
            it in the path (http://EDGE/v1/KEY/api/blocks/tip/height, /v1/KEY/rpc) or in an X-API-Key header.
            These commands use the operator's credentials: the cookie DATA/.cookie (--data) or --rpc-token.
            """,
        subcommands: [Create.self, List.self, Revoke.self, Rotate.self, Usage.self])

    static func describe(_ k: KeyInfo) -> String {
        var limits: [String] = []
        limits.append(k.rps > 0 ? "\(k.rps)/s" : "no rate limit")
        limits.append(k.daily > 0 ? "\(k.daily)/day" : "no daily quota")
        if !k.origins.isEmpty { limits.append("origins \(k.origins.joined(separator: ","))") }
        if !k.methods.isEmpty { limits.append("methods \(k.methods.joined(separator: ","))") }
        return "\(k.id)  \(k.revoked == nil ? "active " : "revoked")  \(k.name)  (account \(k.account); \(limits.joined(separator: "; ")))"
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key; prints it (shown this once).")
        @OptionGroup var options: OperatorOptions
        @Option(help: "A name for the key.") var name: String
        @Option(help: "Credits a second (a plain call or batch item costs 1, heavier ones more: help <method>), across every edge; 0 = no limit (default 0).") var rps: Int = 0
        @Option(help: "Credits a UTC day; 0 = no quota (default 0).") var daily: Int = 0
        @Option(help: "An Origin allowed (repeat; default any), e.g. https://app.example.") var origin: [String] = []
        @Option(help: "A JSON-RPC method or REST path prefix allowed (repeat; default all), e.g. getblockcount or /api/blocks.") var method: [String] = []
        @Option(help: "The account the key belongs to, by name (created if missing; default operator).") var account: String?

        func run() async throws {
            guard rps >= 0, daily >= 0 else { throw ValidationError("--rps and --daily must not be negative") }
            var body: [String: JSONValue] = ["name": .string(name), "rps": .number(Double(rps)), "daily": .number(Double(daily)),
                                             "origins": .array(origin.map { .string($0) }), "methods": .array(method.map { .string($0) })]
            if let account { body["accountName"] = .string(account) }
            let data = try await options.call("/api/operator/keys", post: Array(try JSONEncoder().encode(JSONValue.object(body))))
            guard !options.json else { return }
            let created = try options.decode(CreatedKey.self, data, path: "/api/operator/keys")
            print(created.key)
            Output.note("key \(created.info.id) created: \(Keys.describe(created.info)); the secret is not shown again")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the keys (ids, names, limits; never the secrets).")
        @OptionGroup var options: OperatorOptions

        func run() async throws {
            let data = try await options.call("/api/operator/keys")
            guard !options.json else { return }
            for k in try options.decode([KeyInfo].self, data, path: "/api/operator/keys") { print(Keys.describe(k)) }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key: every edge refuses it at once (401).")
        @OptionGroup var options: OperatorOptions
        @Argument(help: "The key id (16 hex digits) or the whole key.") var key: String

        func run() async throws {
            let path = "/api/operator/keys/\(try Keys.id(key))/revoke"
            let data = try await options.call(path, post: Array("{}".utf8))
            guard !options.json else { return }
            print(Keys.describe(try options.decode(KeyInfo.self, data, path: path)))
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give a key a new secret (same id, limits and usage); prints the new key.")
        @OptionGroup var options: OperatorOptions
        @Argument(help: "The key id (16 hex digits) or the whole key.") var key: String

        func run() async throws {
            let path = "/api/operator/keys/\(try Keys.id(key))/rotate"
            let data = try await options.call(path, post: Array("{}".utf8))
            guard !options.json else { return }
            let created = try options.decode(CreatedKey.self, data, path: path)
            print(created.key)
            Output.note("key \(created.info.id) rotated: the old secret no longer works")
        }
    }

    struct Usage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every key's usage per UTC day (--json: per method and hour too).")
        @OptionGroup var options: OperatorOptions

        func run() async throws {
            let data = try await options.call("/api/operator/usage")
            guard !options.json else { return }
            for d in try options.decode(UsageReply.self, data, path: "/api/operator/usage").days {
                print("\(d.day)  \(d.key)  requests \(d.requests)  errors \(d.errors)  refused \(d.refused)")
            }
        }
    }

    static func id(_ text: String) throws -> String {
        if APIKeyFormat.isID(text) { return text }
        if let (id, _) = APIKeyFormat.parse(text) { return id }
        throw ValidationError("'\(text.prefix(40))' is neither a key id (16 hex digits) nor a key (ck_<id>_<secret>)")
    }
}
