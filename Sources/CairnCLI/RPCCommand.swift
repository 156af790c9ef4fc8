import ArgumentParser
import AsyncHTTPClient
import Foundation
import NodeKit

/// `cairn rpc METHOD [PARAMS…]`: calls the node's JSON-RPC (POST /rpc on the edge) as `bitcoin-cli` does.
struct RPC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rpc",
        abstract: "Call a JSON-RPC method on the node (Bitcoin Core's names: getblockcount, getblock <hash> 2, help…).",
        discussion: """
            Each parameter is sent as JSON when it parses as JSON and the method does not declare it a string, else as a
            string (so a hash made only of digits stays a string). With --named, parameters are name=value. For operator
            methods (submitblock, addnode, setnetworkactive) the cookie DATA/.cookie (or --rpc-token) is sent, so they
            work on the node's own machine. Options go before METHOD. The result is printed as bitcoin-cli prints it: strings raw, JSON indented; an
            error prints its code and message and exits with the code's absolute value.
            """)

    @Argument(help: "The method, e.g. getblockcount.")
    var method: String

    @Argument(parsing: .captureForPassthrough, help: "Its parameters.")
    var params: [String] = []

    @Flag(name: .customLong("named"), help: "Parameters are name=value pairs.")
    var named = false

    @Option(help: "Edge URL (env CAIRN_EDGE; default http://127.0.0.1:8340).")
    var edge: String?

    @Option(help: "Data folder holding the operator cookie .cookie (env CAIRN_DATA; default ./cairn-data).")
    var data: String?

    @Option(name: .customLong("rpc-token"), help: "Operator token instead of the cookie (env CAIRN_RPC_TOKEN).")
    var rpcToken: String?

    func run() async throws {
        let client = EdgeClient(edge)
        let (declared, operatorOnly) = await discover(client: client)
        // Credentials only for operator methods (or when the table is unknown): a stale cookie in the
        // data folder must not turn public calls into 401s.
        let auth = operatorOnly == false ? nil : credentials()
        let sent: JSONValue
        if named {
            var o = [String: JSONValue]()
            for p in params {
                guard let eq = p.firstIndex(of: "=") else { throw ValidationError("--named: '\(p)' is not name=value") }
                let name = String(p[..<eq])
                o[name] = Self.convert(String(p[p.index(after: eq)...]), type: declared[name])
            }
            sent = .object(o)
        } else {
            sent = .array(params.enumerated().map { i, p in Self.convert(p, type: declared["#\(i)"]) })
        }
        let request: JSONValue = .object(["jsonrpc": .string("2.0"), "id": .number(1), "method": .string(method), "params": sent])
        let (status, body) = try await post(client: client, auth: auth, request)
        if status == 401 {
            Output.error("Authorization failed: \(Self.message(body) ?? "wrong or missing operator credentials") (the cookie is DATA/.cookie: use --data, or --rpc-token)")
            throw ExitCode.failure
        }
        guard let reply = try? JSONDecoder().decode(JSONValue.self, from: body), reply.object != nil else {
            Output.error("\(client.base)/rpc answered HTTP \(status): \(String(decoding: body.prefix(300), as: UTF8.self))")
            throw ExitCode.failure
        }
        if let error = reply["error"], error != .null {
            let code = error["code"]?.int ?? -1
            FileHandle.standardError.write(Data("error code: \(code)\nerror message:\n\(error["message"]?.string ?? error.text)\n".utf8))
            throw ExitCode(Int32(truncatingIfNeeded: abs(code)))
        }
        if let text = Self.render(reply["result"] ?? .null) { print(text) }
    }

    /// bitcoin-cli's printing: nothing for null, strings raw, anything else as indented JSON.
    static func render(_ result: JSONValue) -> String? {
        switch result {
        case .null: return nil
        case .string(let s): return s
        default:
            let e = JSONEncoder()
            e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            return (try? e.encode(result)).map { String(decoding: $0, as: UTF8.self) } ?? result.text
        }
    }

    /// A parameter as JSON when it parses (and is not declared a string), else as a string.
    static func convert(_ text: String, type: String?) -> JSONValue {
        if type == "string" { return .string(text) }
        if let v = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) { return v }
        return .string(text)
    }

    static func message(_ body: Data) -> String? {
        (try? JSONDecoder().decode(JSONValue.self, from: body))?["error"]?["message"]?.string
    }

    /// From `rpc.discover`: the method's declared parameter types ("#0", "#1"… and by name) and whether it
    /// is an operator method; empty and nil when unknown.
    func discover(client: EdgeClient) async -> (types: [String: String], operatorOnly: Bool?) {
        let request: JSONValue = .object(["jsonrpc": .string("2.0"), "id": .number(0), "method": .string("rpc.discover")])
        guard let (status, body) = try? await post(client: client, auth: nil, request), status == 200,
              let doc = try? JSONDecoder().decode(JSONValue.self, from: body),
              let m = doc["result"]?["methods"]?.array?.first(where: { $0["name"]?.string == method }) else { return ([:], nil) }
        var out = [String: String]()
        for (i, p) in (m["params"]?.array ?? []).enumerated() {
            guard let type = p["schema"]?["type"]?.string else { continue }
            out["#\(i)"] = type
            if let name = p["name"]?.string { out[name] = type }
        }
        return (out, m["x-operator-only"]?.bool)
    }

    /// HTTP Basic credentials: the token if given, else the cookie in the data folder, else none.
    func credentials() -> String? {
        let env = ProcessInfo.processInfo.environment
        if let token = rpcToken ?? env["CAIRN_RPC_TOKEN"], !token.isEmpty {
            return "Basic " + Data("operator:\(token)".utf8).base64EncodedString()
        }
        let dir = data ?? env[Endpoints.Env.data] ?? "./cairn-data"
        let path = URL(fileURLWithPath: dir, isDirectory: true).appendingPathComponent(".cookie").path
        guard let cookie = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return "Basic " + Data(cookie.trimmingCharacters(in: .whitespacesAndNewlines).utf8).base64EncodedString()
    }

    func post(client: EdgeClient, auth: String?, _ value: JSONValue) async throws -> (Int, Data) {
        var request = HTTPClientRequest(url: client.base + "/rpc")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let auth { request.headers.add(name: "Authorization", value: auth) }
        request.body = .bytes(Array(try JSONEncoder().encode(value)))
        do {
            // getblocktemplate with a longpollid may wait up to a minute.
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(90))
            var data = Data()
            for try await chunk in response.body {
                data.append(contentsOf: chunk.readableBytesView)
                if data.count > 64 * 1024 * 1024 { break }
            }
            return (Int(response.status.code), data)
        } catch {
            Output.error("\(EdgeClient.Failure.unreachable(client.base, "\(error)"))")
            throw ExitCode.failure
        }
    }
}
