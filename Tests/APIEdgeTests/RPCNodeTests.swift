@testable import APIEdge
import AsyncHTTPClient
import ChainCore
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NodeKit
import Synchronization
import Testing
import TestSupport
import WSClient

/// Real processes: `cairn up` (no miner), blocks submitted with JSON-RPC submitblock and the
/// operator cookie, and a WebSocket newHeads subscription that sees a reorg.
@Suite("JSON-RPC on a real node", .serialized)
struct RPCNodeTests {
    /// A node of its own (`cairn up` without miner or wallet, TestSupport's harness, the
    /// RPCNodeTests range of Tests/ports.json).
    final class Node: TestNode, @unchecked Sendable {
        var cookiePath: String { dir.appendingPathComponent(".cookie").path }

        init() async throws {
            // Ready once started: the test waits for the edge and its cookie itself (and says why not).
            try await super.init(name: "rpc", offset: Ports.offset("RPCNodeTests"), folderPrefix: "cairn-rpcnode",
                                 arguments: ["--no-miner", "--no-wallet"], what: "cairn up started", timeout: 90) { _ in true }
        }

        var logs: String {
            let files = ["up.log", "logs/edge.log", "logs/chainstore.log"]
            return files.map { "--- \($0)\n" + ((try? String(contentsOf: dir.appendingPathComponent($0), encoding: .utf8)) ?? "").suffix(2_000) }
                .joined(separator: "\n")
        }

        func post(_ body: String, auth: String? = nil) async throws -> [String: Any] {
            var req = HTTPClientRequest(url: edge + "/rpc")
            req.method = .POST
            req.headers.add(name: "Content-Type", value: "application/json")
            if let auth { req.headers.add(name: "Authorization", value: auth) }
            req.body = .bytes(ByteBuffer(string: body))
            let r = try await HTTPClient.shared.execute(req, timeout: .seconds(30))
            let bytes = try await r.body.collect(upTo: 16 << 20)
            return (try? JSONSerialization.jsonObject(with: Data(buffer: bytes))) as? [String: Any] ?? [:]
        }

        func cookieAuth() throws -> String {
            "Basic " + Data(try String(contentsOfFile: cookiePath, encoding: .utf8).utf8).base64EncodedString()
        }

        func submit(_ block: Block) async throws -> Any? {
            let reply = try await post(#"{"jsonrpc":"2.0","id":1,"method":"submitblock","params":["\#(Hex.encode(block.encoded))"]}"#, auth: try cookieAuth())
            #expect(reply["error"] == nil, "\(reply)")
            return reply["result"]
        }
    }

    @Test func subscriptionSeesAReorg() async throws {
        let node = try await Node()
        defer { node.stop() }
        do {
            try await waitUntil("the edge and its cookie", timeout: 90) {
                let r = try? await node.post(#"{"jsonrpc":"2.0","id":1,"method":"getblockcount"}"#)
                return r?["result"] as? Int == 0 && FileManager.default.fileExists(atPath: node.cookiePath)
            }
        } catch {
            Issue.record("node did not start:\n\(node.logs)")
            throw error
        }
        let miner = Key()
        let genesis = ChainParams.regtest.genesis
        func block(_ parent: Block, _ height: Int, tag: UInt8) -> Block {
            ChainFixture.mine(parent: parent.header, [ChainFixture.coinbase(height: height, outputs: [TxOutput(value: UInt64(height) + UInt64(tag), publicKey: miner.publicKey)])])
        }
        // Branch A: two blocks, submitted with the cookie.
        let a1 = block(genesis, 1, tag: 1), a2 = block(a1, 2, tag: 1)
        #expect(try await node.submit(a1) is NSNull)
        #expect(try await node.submit(a2) is NSNull)
        #expect(try await node.submit(a2) as? String == "duplicate")
        // Without the cookie: refused.
        let denied = try await node.post(#"{"jsonrpc":"2.0","id":1,"method":"submitblock","params":["00"]}"#)
        #expect((denied["error"] as? [String: Any])?["code"] as? String == "unauthorized")

        let heads = Mutex<[(String, Bool)]>([])
        let b1 = block(genesis, 1, tag: 2), b2 = block(b1, 2, tag: 2), b3 = block(b2, 3, tag: 2)
        try await withHangGuard("the reorg's notifications", seconds: 180) {
            let url = node.edge.replacingOccurrences(of: "http://", with: "ws://") + "/rpc"
            try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 20), logger: Logger(label: "test")) { inbound, outbound, _ in
                var messages = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
                func next() async throws -> [String: Any] {
                    while let m = try await messages.next() {
                        if case .text(let t) = m { return (try? JSONSerialization.jsonObject(with: Data(t.utf8))) as? [String: Any] ?? [:] }
                    }
                    throw HangGuardExpired(what: "socket closed")
                }
                try await outbound.write(.text(#"{"jsonrpc":"2.0","id":1,"method":"subscribe","params":["newHeads"]}"#))
                let sid = try #require(try await next()["result"] as? String)
                // Branch B overtakes A: b1 and b2 are stored aside, b3 reorganises the chain.
                #expect(try await node.submit(b1) as? String == "inconclusive")
                #expect(try await node.submit(b2) as? String == "inconclusive")
                #expect(try await node.submit(b3) is NSNull)
                while heads.withLock({ $0.count }) < 5 {
                    let m = try await next()
                    let p = m["params"] as? [String: Any]
                    #expect(p?["subscription"] as? String == sid)
                    let r = p?["result"] as? [String: Any] ?? [:]
                    heads.withLock { $0.append((r["hash"] as? String ?? "?", r["removed"] as? Bool ?? false)) }
                }
                // A reply is matched by its id: a notification may come first. The edge's tip follows
                // the chain store's `tip` publication, which can land a moment after the subscription's
                // `connected` notices: ask until it names b3 (a hang guard, not a measurement).
                var best = ""
                for attempt in 2..<200 where best != b3.hash.hex {
                    try await outbound.write(.text(#"{"jsonrpc":"2.0","id":\#(attempt),"method":"getbestblockhash"}"#))
                    var reply = try await next()
                    while reply["id"] as? Int != attempt { reply = try await next() }
                    best = reply["result"] as? String ?? ""
                    if best != b3.hash.hex { try await Task.sleep(for: .milliseconds(20)) }
                }
                #expect(best == b3.hash.hex)
                try await outbound.close(.normalClosure, reason: nil)
            }
        }
        let seen = heads.withLock { $0 }
        #expect(seen.map(\.0) == [a2, a1, b1, b2, b3].map(\.hash.hex), "\(seen)")
        #expect(seen.map(\.1) == [true, true, false, false, false])
        // A clean stop removes the cookie.
        await node.stopped()
        #expect(!FileManager.default.fileExists(atPath: node.cookiePath))
    }
}
