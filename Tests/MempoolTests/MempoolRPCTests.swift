import ChainCore
import Foundation
import GRDB
import Logging
import NodeKit
import Testing
@testable import Mempool

/// `mempool.rpc`'s router (MempoolRPC.swift, TemplateRoute.swift) against its method enum.
@Suite struct MempoolRPCTests {
    @Test func theRouterAnswersExactlyTheMempoolMethods() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        let db = try DatabasePool(path: h.dir.appendingPathComponent("pace.sqlite").path)
        try MempoolStore.migrator().migrate(db)
        let pacer = Pacer(network: .regtest, db: db, logger: Logger(label: "test")) { _ in }
        let router = MempoolRPC.router(pool: pool, templates: TemplateGenerator(source: pool, params: .regtest), pacer: pacer,
                                       samples: MempoolSamples(db: db), started: 0)
        #expect(router.methodNames == MempoolMethod.allCases.map(\.rawValue).sorted())
        #expect(TemplateRPC.method == MempoolMethod.getblocktemplaterpc.rawValue)
        let request = try JSON.encode(RequestEnvelope(method: MempoolMethod.getstatus.rawValue, params: Empty()))
        let reply = try JSON.decode(ReplyEnvelope<ServiceStatus>.self, await router.handle(request))
        #expect(reply.result?.service == ServiceName.mempool.rawValue)
        // getmempoolinfo is answered on the bus's socket thread (inline), the same as through `handle`;
        // a method that needs the pool's actor is not.
        let info = try JSON.encode(RequestEnvelope(method: MempoolMethod.getmempoolinfo.rawValue, params: Empty()))
        let inline = try #require(router.handleInline(info))
        #expect(try JSON.decode(ReplyEnvelope<MempoolInfo>.self, inline).result?.count == 0)
        #expect(inline == (await router.handle(info)))
        #expect(router.identified(by: nil, network: .regtest).handleInline(info) == inline, "kept by the router with getnodeid")
        #expect(router.handleInline(request) == nil)
        try db.close()
    }

    @Test func anInlineMethodsRefusalIsAnErrorReplyEitherWay() async throws {
        let router = RPCRouter(["a": RPCRouter.method(Empty.self) { _ in Empty() }],
                               inline: ["b": RPCRouter.inlineMethod(Empty.self) { _ throws(RPCError) -> Empty in throw RPCError("nope", "refused") }])
        #expect(router.methodNames == ["a", "b"])
        let b = try JSON.encode(RequestEnvelope(method: "b", params: Empty()))
        let reply = try #require(router.handleInline(b))
        #expect(try JSON.decode(ReplyEnvelope<Empty>.self, reply).error?.code == "nope")
        #expect(router.handleInline(try JSON.encode(RequestEnvelope(method: "a", params: Empty()))) == nil)
        #expect(router.handleInline(Array("not json".utf8)) == nil, "left to handle, which refuses it")
        // The method is read from the first bytes only: another key order or spacing is left to `handle`.
        #expect(RPCRouter.leadingMethod(b) == "b")
        #expect(RPCRouter.leadingMethod(Array(#"{"method":"getmempoolinfo","params":{}}"#.utf8)) == "getmempoolinfo")
        for other in [#"{"params":{},"method":"b"}"#, #"{ "method": "b" }"#, #"{"method":"b\u0041"}"#, #"{"method":""}"#, #"{"method":"b"#] {
            #expect(RPCRouter.leadingMethod(Array(other.utf8)) == nil, "\(other)")
        }
        #expect(router.handleInline(Array(#"{"params":{},"method":"b"}"#.utf8)) == nil)
        #expect(try JSON.decode(ReplyEnvelope<Empty>.self, await router.handle(Array(#"{"params":{},"method":"b"}"#.utf8))).error?.code == "nope",
                "handle answers it, inline method or not")
        // A long request is never parsed on the socket thread: left to `handle`, which still answers it.
        let long = Array(#"{"method":"b","params":{"pad":""#.utf8) + [UInt8](repeating: 0x61, count: RPCRouter.inlineMaxBytes) + Array(#""}}"#.utf8)
        #expect(router.handleInline(long) == nil)
        #expect(try JSON.decode(ReplyEnvelope<Empty>.self, await router.handle(long)).error?.code == "nope")
    }
}
