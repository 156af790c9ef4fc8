import ArgumentParser
import Bus
import ChainCore
import Foundation
import GRDB
import Logging
import NodeKit

/// `cairn-chainstore`: the only owner of the chain.
@main
struct ChainStoreCommand: ServiceCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairn-chainstore",
        abstract: "Cairn's chain store: validates and connects blocks, owns the UTXO set, answers chain queries.")

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let runtime = try await ServiceRuntime.start(common, name: "chain store", label: "cairn.chainstore", role: .chainstore,
                                                     lockName: "chainstore.lock") { [$0.chainRPC, $0.chainPub] }
        let logger = runtime.logger, params = runtime.params, endpoints = runtime.endpoints, dir = runtime.dataDirectory

        var config = Configuration()
        config.busyMode = .timeout(10)
        let db = try DatabasePool(path: dir.appendingPathComponent("chain.sqlite").path, configuration: config)
        try Schema.migrator().migrate(db)

        let publisher = try await runtime.publisher(at: endpoints.chainPub, hwm: ChainNotifier.publisherHWM)
        let notifier = ChainNotifier(publisher: publisher)
        let chain = try await Chain(db: db, params: params, logger: logger, onTrace: { notifier.trace($0) }) { change, tip in
            await notifier.publish(change, tip: tip)
        }
        let queries = ChainQueries(chain: chain, db: db, params: params)
        let started = ServiceSupport.now()
        let router = ChainRPC.router(chain: chain, queries: queries, started: started).identified(by: try runtime.nodeID)
        let server = try await runtime.server(at: endpoints.chainRPC, router: router)
        // Announce the tip once at start so subscribers that resync see where we are.
        let tip = await chain.chainTip()
        await notifier.announceTip(tip)
        logger.notice("chain store ready", metadata: [
            "network": "\(params.network.rawValue)", "height": "\(tip.height)",
            "rpc": "\(server.endpoints.joined(separator: ","))", "pub": "\(publisher.endpoints.joined(separator: ","))",
            "data": "\(dir.path)"])
        try await runtime.run(afterBus: { try? db.close() })
    }
}
