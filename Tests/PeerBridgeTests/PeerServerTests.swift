import Foundation
import Hummingbird
import HummingbirdTesting
@testable import PeerBridge
import Testing

/// The peer port's HTTP stage (Transport/PeerServer.swift), through Hummingbird's router test mode:
/// whatever a plain HTTP request asks, it is told this port speaks WebSocket only, and where the API is.
@Suite("PeerServer: the peer port's answer to plain HTTP")
struct PeerServerTests {
    func app() async -> some ApplicationProtocol {
        let node = FakeNode(blocks: BridgeTests.chain(1))
        let bridge = await BridgeTests().bridge(node)
        return PeerServer.application(host: "127.0.0.1", port: 18342, edgeHint: "http://127.0.0.1:18340", bridge: bridge,
                                      logger: BridgeTests.logger)
    }

    /// The error object of a 426 answer.
    static func error(_ response: TestResponse) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as? [String: Any]
        return try #require(object?["error"] as? [String: Any])
    }

    @Test("a plain GET / is answered 426 Upgrade Required, a JSON error naming the port and the edge's API")
    func plainGetIsUpgradeRequired() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .upgradeRequired)
                #expect(response.headers[.upgrade] == "websocket")
                #expect(response.headers[.connection] == "Upgrade")
                #expect(response.headers[.contentType] == "application/json")
                let error = try Self.error(response)
                #expect(error["code"] as? String == "upgrade-required")
                let message = error["message"] as? String ?? ""
                #expect(message.contains("127.0.0.1:18342"), "\(message)")
                #expect(message.contains("http://127.0.0.1:18340/api"), "\(message)")
            }
        }
    }

    @Test("every other path and method gets the same answer: the peer port serves no HTTP routes (never a 404 or a 500)")
    func everyPathAndMethodIsUpgradeRequired() async throws {
        try await app().test(.router) { client in
            for (uri, method) in [("/api/blocks/tip/height", HTTPRequest.Method.get), ("/nosuch", .get), ("/", .post),
                                  ("/rpc", .post), ("/api/tx", .put), ("/", .head)] {
                try await client.execute(uri: uri, method: method, body: ByteBuffer(string: "{}")) { response in
                    #expect(response.status == .upgradeRequired, "\(method) \(uri)")
                    #expect(response.headers[.upgrade] == "websocket", "\(method) \(uri)")
                    if method != .head {
                        let code = try Self.error(response)["code"] as? String
                        #expect(code == "upgrade-required", "\(method) \(uri)")
                    }
                }
            }
        }
    }
}
