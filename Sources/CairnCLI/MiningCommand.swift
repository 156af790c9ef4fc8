import ArgumentParser
import AsyncHTTPClient
import Foundation
import NodeKit

/// `cairn mining`: the learning mode from the command line (regtest only), through the edge's
/// operator routes: pause every miner, let exactly one block through, resume, or set the minimum
/// seconds between blocks. `cairn mining` alone shows the pace (anyone may read it).
struct Mining: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mining",
        abstract: "The learning mode (regtest): pause, step one block, resume, or slow the miners down.",
        discussion: """
            cairn mining                 show the pace (running, paused or stepping) and the minimum interval
            cairn mining pause           every miner stops; transactions wait in the mempool
            cairn mining step            exactly one block is mined, then mining stays paused
            cairn mining resume          mining goes on as usual
            cairn mining interval 30     at least 30 seconds between blocks (0: no minimum)
            Changes take the operator credentials: the cookie DATA/.cookie (--data) or --token.
            """)

    @Argument(help: "status, pause, resume, step or interval")
    var action: String = "status"

    @Argument(help: "For interval: seconds between blocks (0-3600).")
    var seconds: Double?

    @Option(help: "The edge's URL (env CAIRN_EDGE; default http://127.0.0.1:8340).")
    var edge: String?

    @Option(help: "The node's data folder, holding the operator cookie .cookie (env CAIRN_DATA; default ./cairn-data).")
    var data: String?

    @Option(name: [.customLong("token"), .customLong("rpc-token")], help: "The operator token instead of the cookie (env CAIRN_RPC_TOKEN or CAIRN_OPERATOR_TOKEN).")
    var token: String?

    @Flag(help: "Print the edge's JSON answer as it is.")
    var json = false

    func validate() throws {
        switch action {
        case "status", "pause", "resume", "step":
            if seconds != nil { throw ValidationError("'\(action)' takes no number (only 'interval' does)") }
        case "interval":
            guard let s = seconds else { throw ValidationError("give the seconds: cairn mining interval 30") }
            guard s.isFinite, s >= 0, s <= MiningPace.maxInterval else {
                throw ValidationError("the interval is a number of seconds from 0 to \(Int(MiningPace.maxInterval))")
            }
        default:
            throw ValidationError("unknown action '\(action)': status, pause, resume, step or interval N")
        }
    }

    func operatorHeader() throws -> String {
        guard let header = OperatorCredentials.header(data: data, token: token) else {
            throw ValidationError("no operator credentials: give --token (or CAIRN_RPC_TOKEN), or --data pointing at the node's data folder (\(OperatorCredentials.cookiePath(data: data)) is not readable)")
        }
        return header
    }

    func run() async throws {
        let client = EdgeClient(edge)
        var path = "/api/mining"
        var body: String?
        switch action {
        case "pause": path = "/api/operator/mining"; body = #"{"state":"paused"}"#
        case "resume": path = "/api/operator/mining"; body = #"{"state":"running"}"#
        case "step": path = "/api/operator/mining/step"; body = ""
        case "interval": path = "/api/operator/mining"; body = #"{"minInterval":\#(seconds ?? 0)}"#
        default: break
        }
        var request = HTTPClientRequest(url: client.base + path)
        if let body {
            request.method = .POST
            request.headers.add(name: "Authorization", value: try operatorHeader())
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(Array(body.utf8))
        }
        let status: Int
        var answer = Data()
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(15))
            status = Int(response.status.code)
            for try await chunk in response.body { answer.append(contentsOf: chunk.readableBytesView) }
        } catch {
            Output.error("\(EdgeClient.Failure.unreachable(client.base, "\(error)"))")
            throw ExitCode.failure
        }
        guard status == 200 else {
            Output.error("\(client.failure(status: status, path: path, body: answer))")
            throw ExitCode.failure
        }
        if json {
            print(String(decoding: answer, as: UTF8.self))
            return
        }
        guard let v = try? JSONDecoder().decode(MiningView.self, from: answer) else {
            Output.error("\(EdgeClient.Failure.undecodable(path, "not a mining pace"))")
            throw ExitCode.failure
        }
        var line = "mining: \(v.state)"
        if let h = v.stepHeight { line += " (one block let through, at height \(h))" }
        line += v.minInterval > 0 ? ", at least \(Self.seconds(v.minInterval)) s between blocks" : ", no minimum interval"
        if !v.available { line += " (the learning mode is for regtest; this node runs \(v.network))" }
        print(line)
    }

    static func seconds(_ s: Double) -> String { s == s.rounded() ? String(Int(s)) : String(s) }
}
