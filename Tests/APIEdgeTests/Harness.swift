@testable import APIEdge
import Bus
import ChainCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NodeKit
import Testing

/// Fake chain store and mempool on loopback TCP, and an `Edge` connected to them.
struct Stack: Sendable {
    let fixture: ChainFixture
    let chain: FakeChainStore
    let pool: FakeMempool
    let accounts: FakeAccounts
    let edge: Edge
    var config: EdgeConfig { edge.config }

    static let shared = ChainFixture()

    /// Runs `body` against a fresh stack; `dead` points the edge at endpoints where nothing answers.
    static func with<T: Sendable>(zmqPub: String? = nil, dead: Bool = false, configure: (inout EdgeConfig) -> Void = { _ in },
                                  _ body: @Sendable (Stack) async throws -> T) async throws -> T {
        let fixture = shared
        let context = try ZMQContext()
        let chain = try await FakeChainStore(context: context, fixture: fixture)
        let pool = try await FakeMempool(context: context, fixture: fixture)
        let accounts = try await FakeAccounts(context: context)
        var endpoints = Endpoints(chainRPC: chain.rpcEndpoint, chainPub: chain.pubEndpoint, mempoolRPC: pool.rpcEndpoint, mempoolPub: pool.pubEndpoint)
        if dead {
            // Where nothing answers, ever (a freed TCP port could be bound again by another fake of the run).
            let endpoint = "ipc://" + FileManager.default.temporaryDirectory.appendingPathComponent("cairn-nobody-\(UUID().uuidString.prefix(8))").path
            endpoints = Endpoints(chainRPC: endpoint, chainPub: endpoint, mempoolRPC: endpoint, mempoolPub: endpoint)
        }
        var config = EdgeConfig(params: .regtest, endpoints: endpoints)
        config.httpPort = 0
        config.zmqPub = zmqPub
        config.maxBody = 4096
        config.accounts = accounts.endpoints
        // A live fake gets 20 s: the whole suite on two cores beside other work kept one from
        // answering three tries of 2 s (CI); a request it never answers is the dead stack's case.
        config.rpcTimeout = dead ? .milliseconds(100) : .seconds(20)
        config.rpcRetries = dead ? 1 : 3
        // The whole suite runs in parallel on a small machine: a fake accounts service can be slower
        // than the production wait of 800 ms (seen: a keyed request answered 503 under load).
        config.accountsTimeout = .seconds(3)
        configure(&config)
        var logger = Logger(label: "edge-test")
        logger.logLevel = .warning
        let edge = try await Edge(config: config, logger: logger)
        let stack = Stack(fixture: fixture, chain: chain, pool: pool, accounts: accounts, edge: edge)
        do {
            let result = try await body(stack)
            await stack.stop(context)
            return result
        } catch {
            await stack.stop(context)
            throw error
        }
    }

    func stop(_ context: ZMQContext) async {
        await edge.stop()
        await chain.stop()
        await pool.stop()
        await accounts.stop()
        await context.terminate()
    }

    /// Runs `body` with a test client of the edge's HTTP application.
    func http<T: Sendable>(_ mode: TestingSetup = .router, _ body: @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
        let app = buildApplication(config: config, edge: edge)
        return try await app.test(mode) { client in try await body(client) }
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
    var json: Any { (try? JSONSerialization.jsonObject(with: Data(buffer: body), options: [.fragmentsAllowed])) ?? NSNull() }
    var object: [String: Any] { json as? [String: Any] ?? [:] }
    var array: [[String: Any]] { json as? [[String: Any]] ?? [] }
    /// The error code of a JSON error body.
    var errorCode: String? { (object["error"] as? [String: Any])?["code"] as? String }
}

/// The error shape every failure must have.
func expectError(_ r: TestResponse, _ status: HTTPResponse.Status, _ code: String? = nil,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(r.status == status, "body: \(r.text)", sourceLocation: sourceLocation)
    #expect(r.headers[.contentType]?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
    let error = r.object["error"] as? [String: Any]
    #expect(error?["code"] is String && error?["message"] is String, "body: \(r.text)", sourceLocation: sourceLocation)
    if let code { #expect(r.errorCode == code, "body: \(r.text)", sourceLocation: sourceLocation) }
}
