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

struct RemoteChain: ChainSource {
    let rpc: RPCClient

    func coins(_ outpoints: [OutPoint]) async throws -> [OutPoint: Coin] {
        guard !outpoints.isEmpty else { return [:] }
        let found = try await rpc.call("getcoins", OutpointList(outpoints: outpoints.map(\.description)), as: [CoinInfo?].self)
        var out = [OutPoint: Coin]()
        for (op, info) in zip(outpoints, found) {
            if let info, let key = Hex.decode(info.publicKey) {
                out[op] = Coin(output: TxOutput(value: info.value, publicKey: key), height: info.height, isCoinbase: info.coinbase)
            }
        }
        return out
    }

    func isConfirmed(_ txid: Hash256) async throws -> Bool {
        do {
            _ = try await rpc.call("gettx", TxRef(txid: txid.hex), as: ConfirmedTx.self)
            return true
        } catch let e as RPCError where e.code == "not-found" {
            return false
        }
    }

    func tip() async throws -> ChainTip { try await rpc.call("getchaintip", Empty(), as: ChainTip.self) }
}

/// Bitcoin Core's mempool notifications plus the internal ones.
struct PublishedEvents: PoolEvents {
    let publisher: Publisher

    func added(_ e: PoolEntry, sequence: UInt64) async {
        publisher.publish(topic: Topic.hashtx, body: e.txid.displayBytes)
        publisher.publish(topic: Topic.rawtx, body: e.raw)
        publisher.publish(topic: Topic.sequence, body: e.txid.displayBytes + Array("A".utf8) + le64(sequence))
    }

    func removed(_ txid: Hash256, sequence: UInt64, reason: String) async {
        publisher.publish(topic: Topic.sequence, body: txid.displayBytes + Array("R".utf8) + le64(sequence))
    }

    func templateChanged(sequence: UInt64, count: Int) async {
        if let body = try? JSON.encode(TemplateNotice(mempoolSequence: sequence, txCount: count)) {
            publisher.publish(topic: Topic.template, body: body)
        }
    }

    func trace(_ event: TraceEvent) async {
        if let body = try? JSON.encode(event) { publisher.publish(topic: Topic.trace, body: body) }
    }

    private func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
}

enum MempoolRPC {
    static func entryInfo(_ e: PoolEntry) -> MempoolEntry {
        MempoolEntry(txid: e.txid.hex, hex: Hex.encode(e.raw), fee: e.fee, size: e.size, feeRate: e.feeRate, time: e.time,
                     depends: e.parents.map(\.hex).sorted(),
                     spent: zip(e.tx.inputs, e.spent).map { input, coin in
                         CoinInfo(txid: input.previousOutput.txid.hex, index: input.previousOutput.index, value: coin.output.value,
                                  publicKey: Hex.encode(coin.output.publicKey), height: coin.height == Int.max ? -1 : coin.height,
                                  coinbase: coin.isCoinbase)
                     })
    }

    static func txid(_ text: String) throws -> Hash256 {
        guard let h = Hash256(hex: text) else { throw RPCError.badParams("'\(text)' is not a 64-hex-digit txid") }
        return h
    }

    static func router(pool: Pool, templates: TemplateGenerator, pacer: Pacer, samples: MempoolSamples, started: Double) -> RPCRouter {
        RPCRouter([
            "submittx": RPCRouter.method(SubmitTx.self) { p in
                do {
                    let e = try await pool.submit(hex: p.hex, receivedAt: p.receivedAt)
                    return SubmitTxResult(txid: e.txid.hex, fee: e.fee, size: e.size)
                } catch let refusal as Pool.Refusal {
                    throw RPCError(refusal.code, refusal.message)
                }
            },
            "testtx": RPCRouter.method(SubmitTx.self) { p in
                do {
                    let e = try await pool.test(hex: p.hex)
                    return SubmitTxResult(txid: e.txid.hex, fee: e.fee, size: e.size)
                } catch let refusal as Pool.Refusal {
                    throw RPCError(refusal.code, refusal.message)
                }
            },
            "getmempoolinfo": RPCRouter.method(Empty.self) { _ in await pool.info() },
            "getrawmempool": RPCRouter.method(Empty.self) { _ in await pool.snapshot() },
            "checkmempool": RPCRouter.method(Empty.self) { _ in await pool.check() },
            "getentry": RPCRouter.method(TxRef.self) { p in
                guard let e = await pool.entry(try txid(p.txid)) else { throw RPCError.notFound("\(p.txid) is not in the mempool") }
                return entryInfo(e)
            },
            "getaddressmempool": RPCRouter.method(AddressRef.self) { p in
                guard let key = Hex.decode(p.publicKey), key.count == 32 else { throw RPCError.badParams("public key must be 64 hex digits") }
                return await pool.entries(touching: key).map(entryInfo)
            },
            "getblocktemplate": RPCRouter.method(TemplateRequest.self) { try await templates.template(for: $0, pace: await pacer.pace) },
            "getpace": RPCRouter.method(Empty.self) { _ in await pacer.pace },
            "setpace": RPCRouter.method(PaceChange.self) { change in
                try await pacer.change(change, tipHeight: try await pool.currentTip().height)
            },
            "getspenders": RPCRouter.method(OutpointList.self) { p in
                guard p.outpoints.count <= 10_000 else { throw RPCError.badParams("at most 10,000 outpoints per call") }
                let ops = try p.outpoints.map { text in
                    guard let op = OutPoint(text: text) else { throw RPCError.badParams("'\(text)' is not txid:index") }
                    return op
                }
                return await pool.spenders(of: ops)
            },
            "getmempoolblocks": RPCRouter.method(MempoolBlocksRequest.self) { await pool.projectedBlocks($0) },
            "getmempoolsamples": RPCRouter.method(MempoolSamplesRequest.self) { try await samples.since($0.since) },
            "getminers": RPCRouter.method(Empty.self) { _ in await templates.activeMiners() },
            "gettrace": RPCRouter.method(TxRef.self) { try await pool.trace($0.txid) },
            "getstatus": RPCRouter.method(Empty.self) { _ in
                let tip = await pool.tip
                return ServiceStatus(service: "mempool", pid: getpid(), startedAt: started, tipHeight: tip?.height ?? -1,
                                     tipHash: tip?.hash ?? "", details: ["count": "\(await pool.entries.count)",
                                                                         "bytes": "\(await pool.bytes)",
                                                                         "coinView": "\(await pool.coinView.count)",
                                                                         "signaturesReused": "\(await pool.signaturesReused)",
                                                                         "signaturesVerifiedInGate": "\(await pool.signaturesVerifiedInGate)",
                                                                         "miners": "\(await templates.activeMiners().count)"])
            },
        ])
    }
}
