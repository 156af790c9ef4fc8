import ArgumentParser
import Bus
import ChainCore
import Foundation
import GRDB
import Logging
import NodeKit

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
        ServiceSupport.bootstrapLogging(level: common.level)
        let logger = Logger(label: "cairn.mempool")
        let params = try common.params
        let endpoints = common.endpoints
        let dir = common.dataDirectory
        let lock = try DataLock(directory: dir, name: "mempool.lock")

        let db = try DatabasePool(path: dir.appendingPathComponent("mempool.sqlite").path, configuration: MempoolStore.configuration())
        try MempoolStore.migrator().migrate(db)
        try MempoolStore.samplesMigrator().migrate(db)
        let samples = MempoolSamples(db: db)

        let security = try common.busSecurity(role: .mempool, endpoints: [endpoints.mempoolRPC, endpoints.mempoolPub,
                                                                           endpoints.chainRPC, endpoints.chainPub])
        let context = try ZMQContext()
        _ = try await security.startAuthenticator(context: context, logger: logger)
        let publisher = try await Publisher(context: context, bind: [Endpoints.bindAddress(for: endpoints.mempoolPub)], hwm: 100_000,
                                            curve: security.server, logger: logger)
        let chainRPC = try await RPCClient(context: context, endpoint: endpoints.chainRPC, curve: security.client(of: .chainstore))
        var policy = Policy()
        policy.minFeeRate = minFeeRate
        policy.maxPoolBytes = maxMegabytes * 1_000_000
        let pool = Pool(params: params, policy: policy, db: db, chain: RemoteChain(rpc: chainRPC),
                        events: PublishedEvents(publisher: publisher), logger: logger)

        let subscriber = try await Subscriber(context: context, connect: [endpoints.chainPub],
                                              topics: [Topic.connected, Topic.disconnected, Topic.tip], hwm: 100_000,
                                              curve: security.client(of: .chainstore), logger: logger)
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
        let nodeID = try common.nodeID
        try await NodeIdentity.check(expected: nodeID, authorities: [("the chain store", endpoints.chainRPC, chainRPC)], logger: logger)

        // Reload what was acknowledged before a crash or restart (waits for the chain store if it is not up yet).
        var loaded = false
        while !loaded {
            do {
                _ = try await chainRPC.call("getchaintip", Empty(), as: ChainTip.self)
                try await pool.loadPersisted()
                loaded = true
            } catch {
                logger.warning("waiting for the chain store to reload the mempool", metadata: ["error": "\(error)"])
                try await Task.sleep(for: .seconds(1))
            }
        }

        let started = ServiceSupport.now()
        let templates = TemplateGenerator(source: pool, params: params)
        let router = MempoolRPC.router(pool: pool, templates: templates, pacer: pacer, samples: samples, started: started).identified(by: nodeID)
        let server = try await RequestServer(context: context, bind: [Endpoints.bindAddress(for: endpoints.mempoolRPC)],
                                             curve: security.server, logger: logger) { request in
            await router.handle(request)
        }
        await pool.templateNoticeNow()
        let interval = Duration.milliseconds(Int64(max(0.1, sampleSeconds) * 1000))
        let sampler = Task { await samples.run(pool: pool, interval: interval, logger: logger) }
        let count = await pool.entries.count
        logger.notice("mempool ready", metadata: ["rpc": "\(server.endpoints.joined(separator: ","))",
                                                   "pub": "\(publisher.endpoints.joined(separator: ","))", "count": "\(count)"])
        try await ServiceSupport.run([ShutdownHook {
            follower.cancel()
            viewer.cancel()
            sampler.cancel()
            await subscriber.stop()
            await server.stop()
            await chainRPC.stop()
            await publisher.flush()
            await publisher.stop()
            await context.terminate()
            try? db.close()
            withExtendedLifetime(lock) {}
            logger.notice("mempool stopped")
        }], logger: logger)
    }
}
