import ArgumentParser
import AsyncHTTPClient
import Foundation
import NodeKit

/// `cairn verify`: the operator's check from outside, through the edge's operator route: the chain
/// store recomputes the UTXO set from its blocks and compares, the mempool checks itself against
/// its file and the chain. Exit status 0 when both are consistent, 1 when not, 2 when it could not ask.
struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the node's state: the chain store's UTXO set against its blocks, and the mempool's consistency.")

    @Option(help: "The edge's URL (env CAIRN_EDGE; default http://127.0.0.1:8340).")
    var edge: String?

    @Option(help: "The node's data folder, where the edge writes the operator cookie .cookie (env CAIRN_DATA; default ./cairn-data).")
    var data: String?

    @Option(name: [.customLong("token"), .customLong("rpc-token")], help: "The operator token instead of the cookie (env CAIRN_RPC_TOKEN or CAIRN_OPERATOR_TOKEN).")
    var token: String?

    @Flag(help: "Print the edge's JSON answer as it is.")
    var json = false

    func operatorCredentials() throws -> String {
        guard let header = OperatorCredentials.header(data: data, token: token) else {
            throw ValidationError("no operator credentials: give --token (or CAIRN_RPC_TOKEN), or --data pointing at the node's data folder (\(OperatorCredentials.cookiePath(data: data)) is not readable)")
        }
        return header
    }

    func run() async throws {
        let client = EdgeClient(edge)
        let path = "/api/operator/verify"
        var request = HTTPClientRequest(url: client.base + path)
        request.headers.add(name: "Authorization", value: try operatorCredentials())
        let status: Int
        var body = Data()
        do {
            // The UTXO recomputation reads every block: allow it time on a long chain.
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(600))
            status = Int(response.status.code)
            for try await chunk in response.body { body.append(contentsOf: chunk.readableBytesView) }
        } catch {
            print(EdgeClient.Failure.unreachable(client.base, "\(error)"))
            throw ExitCode(2)
        }
        guard status == 200 else {
            print(client.failure(status: status, path: path, body: body))
            throw ExitCode(2)
        }
        if json {
            print(String(decoding: body, as: UTF8.self))
        }
        guard let reply = try? JSONDecoder().decode(VerifyReply.self, from: body) else {
            print(EdgeClient.Failure.undecodable(path, "not a verify answer"))
            throw ExitCode(2)
        }
        if !json {
            if let c = reply.chain.result {
                print("chain store: \(c.ok ? "ok" : "MISMATCH"): \(c.utxoCount) coins in the UTXO set, \(c.recomputedCount) recomputed from the blocks")
                for m in c.mismatches { print("  \(m)") }
            } else {
                print("chain store: not checked: \(reply.chain.error ?? "no answer")")
            }
            if let m = reply.mempool.result {
                print("mempool: \(m.ok ? "ok" : "PROBLEMS"): \(m.count) transactions in memory, \(m.stored) in mempool.sqlite\(m.chainChecked ? "" : ", inputs not checked against the chain (no answer)")")
                for p in m.problems { print("  \(p)") }
            } else {
                print("mempool: not checked: \(reply.mempool.error ?? "no answer")")
            }
        }
        if !reply.ok { throw ExitCode(1) }
    }
}
