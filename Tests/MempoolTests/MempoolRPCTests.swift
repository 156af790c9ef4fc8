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
        try db.close()
    }
}
