import ArgumentParser
import Bus
import ChainCore
import Foundation
import GRDB
import Logging
import NodeKit
import SQLiteSupport

/// `cairn-mempool`: unconfirmed transactions, persisted before acknowledging.
@main
struct MempoolCommand: ServiceCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairn-mempool",
        abstract: "Cairn's mempool: validates and keeps unconfirmed transactions, serves block templates.")

    @OptionGroup var common: CommonOptions

    @Option(help: "Minimum fee rate, base units per byte.")
    var minFeeRate: Double = 1.0

    @Option(help: "Pool size cap in megabytes.")
    var maxMegabytes: Int = 64

    @Option(help: "Seconds between two samples of the mempool's size and fee rates (kept a day, for the explorer's charts).")
    var sampleSeconds: Double = 10

    func run() async throws {
        let runtime = try await ServiceRuntime.start(common, name: "mempool", label: "cairn.mempool", role: .mempool,
                                                     lockName: "mempool.lock") { [$0.mempoolRPC, $0.mempoolPub, $0.chainRPC, $0.chainPub] }
        let logger = runtime.logger, params = runtime.params, endpoints = runtime.endpoints, dir = runtime.dataDirectory

        let db = try DatabasePool(path: dir.appendingPathComponent("mempool.sqlite").path, configuration: MempoolStore.configuration())
        try MempoolStore.migrator().migrate(db)
        try MempoolStore.samplesMigrator().migrate(db)
        // The write-ahead log checkpointed off the commit path (`WALCheckpointer`, Sources/SQLiteSupport).
        let checkpointer = try await WALCheckpointer(db: db, logger: runtime.logger)
        let samples = MempoolSamples(db: db)

        let publisher = try await runtime.publisher(at: endpoints.mempoolPub)
        let chainRPC = try await runtime.client(of: .chainstore, at: endpoints.chainRPC)
        var policy = Policy()
        policy.minFeeRate = minFeeRate
        policy.maxPoolBytes = maxMegabytes * 1_000_000
        let pool = Pool(params: params, policy: policy, db: db, chain: RemoteChain(rpc: chainRPC),
                        events: PublishedEvents(publisher: publisher), logger: logger)

        let subscriber = try await runtime.subscriber(of: .chainstore, at: endpoints.chainPub,
                                                      topics: [Topic.connected, Topic.disconnected, Topic.tip], hwm: 100_000)
        let pacer = Pacer(network: params.network, db: db, logger: logger) { pace in
            let seq = await pool.sequence, count = await pool.entries.count
            if let body = try? JSON.encode(TemplateNotice(mempoolSequence: seq, txCount: count, pace: pace)) {
                publisher.publish(topic: Topic.template, body: body)
            }
        }
        try await pacer.load()
        let follower = Task { await follow(subscriber: subscriber, pool: pool, pacer: pacer, logger: logger) }
        // The coin view answers once the subscription is synced (every later loss is a gap).
        let viewer = Task {
            while !Task.isCancelled {
                do {
                    try await subscriber.ready()
                    await pool.enableCoinView()
                    logger.notice("coin view enabled: chain.pub synced")
                    return
                } catch {
                    logger.info("chain.pub not synced yet; the coin view waits", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }

        // The chain store answering must be this node's (see NodeIdentity), before anything is reloaded or served.
        let nodeID = try runtime.nodeID
        try await NodeIdentity.check(expected: nodeID, authorities: [("the chain store", endpoints.chainRPC, chainRPC)], logger: logger)

        // Reload what was acknowledged before a crash or restart (waits for the chain store if it is not up yet).
        var loaded = false
        while !loaded {
            do {
                _ = try await chainRPC.call(ChainMethod.getchaintip, Empty(), as: ChainTip.self)
                try await pool.loadPersisted()
                loaded = true
            } catch {
                logger.warning("waiting for the chain store to reload the mempool", metadata: ["error": "\(error)"])
                try await Task.sleep(for: .seconds(1))
            }
        }

        let started = ServiceSupport.now()
        let templates = TemplateGenerator(source: pool, params: params)
        let router = MempoolRPC.router(pool: pool, templates: templates, pacer: pacer, samples: samples, started: started).identified(by: nodeID, network: params.network)
        let server = try await runtime.server(at: endpoints.mempoolRPC, router: router)
        await pool.templateNoticeNow()
        let interval = Duration.milliseconds(Int64(max(0.1, sampleSeconds) * 1000))
        let sampler = Task { await samples.run(pool: pool, interval: interval, logger: logger) }
        let count = await pool.entries.count
        logger.notice("mempool ready", metadata: ["rpc": "\(server.endpoints.joined(separator: ","))",
                                                   "pub": "\(publisher.endpoints.joined(separator: ","))", "count": "\(count)"])
        try await runtime.run(beforeBus: {
            follower.cancel()
            viewer.cancel()
            sampler.cancel()
        }, afterBus: {
            // The service's own writes first: the sampler's last one, then everything the pool
            // queued for its writer (a barrier behind it); then the last checkpoint.
            await sampler.value
            await pool.flushed()
            await checkpointer.close()
            try? db.close()
        })
    }
}
