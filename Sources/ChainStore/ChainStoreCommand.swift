import ArgumentParser
import Bus
import ChainCore
import Foundation
import GRDB
import Logging
import NodeKit
import SQLiteSupport

/// `cairn-chainstore`: the only owner of the chain.
@main
struct ChainStoreCommand: ServiceCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairn-chainstore",
        abstract: "Cairn's chain store: validates and connects blocks, owns the UTXO set, answers chain queries.")

    @OptionGroup var common: CommonOptions

    @Flag(name: .customLong("no-signature-cache"),
          help: "Verify every signature of a block at connect, also those of the transactions this node's mempool already verified (env CAIRN_SIGNATURE_CACHE=off). By default the chain store learns them from the mempool's hashtx and skips their checks.")
    var noSignatureCache = false

    @Option(name: .customLong("signature-cache-size"), help: "How many txids the signature cache holds at most (32 bytes each).")
    var signatureCacheSize = SignatureCache.defaultCapacity

    /// The environment's switch for the signature cache, for a chain store started by `cairn up`.
    static let signatureCacheEnv = "CAIRN_SIGNATURE_CACHE"

    /// The environment's switch read: unset or empty is on; on/1/true/yes and off/0/false/no (any
    /// case); anything else is a mistake the chain store refuses to start with, rather than guess.
    static func signatureCacheSwitch(_ value: String?) throws -> Bool {
        switch value?.lowercased() {
        case nil, "", "on", "1", "true", "yes": return true
        case "off", "0", "false", "no": return false
        case let other?: throw ValidationError("\(signatureCacheEnv) is on or off, not '\(other.prefix(40))'")
        }
    }

    var signatureCacheEnabled: Bool {
        get throws { try !noSignatureCache && Self.signatureCacheSwitch(ProcessInfo.processInfo.environment[Self.signatureCacheEnv]) }
    }

    func validate() throws {
        guard signatureCacheSize >= 2 else { throw ValidationError("--signature-cache-size must be at least 2, not \(signatureCacheSize)") }
        _ = try signatureCacheEnabled
    }

    func run() async throws {
        let cacheWanted = try signatureCacheEnabled
        let runtime = try await ServiceRuntime.start(common, name: "chain store", label: "cairn.chainstore", role: .chainstore,
                                                     lockName: "chainstore.lock") { [$0.chainRPC, $0.chainPub] + (cacheWanted ? [$0.mempoolPub, $0.mempoolRPC] : []) }
        let logger = runtime.logger, params = runtime.params, endpoints = runtime.endpoints, dir = runtime.dataDirectory

        var config = Configuration()
        config.busyMode = .timeout(10)
        let db = try DatabasePool(path: dir.appendingPathComponent("chain.sqlite").path, configuration: config)
        try Schema.migrator().migrate(db)
        // The write-ahead log checkpointed off the commit path (`WALCheckpointer`, Sources/SQLiteSupport).
        let checkpointer = try await WALCheckpointer(db: db, logger: runtime.logger)

        let publisher = try await runtime.publisher(at: endpoints.chainPub, hwm: ChainNotifier.publisherHWM)
        let notifier = ChainNotifier(publisher: publisher)
        // The signature cache, filled from the mempool's hashtx once that mempool answers getnodeid as
        // this node's, on this network (SignatureCache.swift); never waited for.
        var signatureCache: SignatureCache?
        var cacheFiller: Task<Void, Never>?
        if cacheWanted {
            do {
                let subscriber = try await runtime.subscriber(of: .mempool, at: endpoints.mempoolPub, topics: [Topic.hashtx], hwm: 100_000)
                let mempool = try await runtime.client(of: .mempool, at: endpoints.mempoolRPC)
                let cache = SignatureCache(capacity: signatureCacheSize)
                let nodeID = try runtime.nodeID, network = params.network
                cacheFiller = Task {
                    await cache.follow(subscriber.events, vouch: { await NodeIdentity.verdict(of: mempool, expected: nodeID, network: network) },
                                       logger: logger)
                }
                signatureCache = cache
            } catch {
                logger.warning("signature cache off: cannot subscribe to the mempool's hashtx", metadata: ["error": "\(error)"])
            }
        }
        let chain = try await Chain(db: db, params: params, logger: logger, signatureCache: signatureCache,
                                    onTrace: { notifier.trace($0) }) { change, tip in
            await notifier.publish(change, tip: tip)
        }
        let queries = ChainQueries(chain: chain, db: db, params: params)
        let started = ServiceSupport.now()
        let router = ChainRPC.router(chain: chain, queries: queries, started: started).identified(by: try runtime.nodeID, network: params.network)
        let server = try await runtime.server(at: endpoints.chainRPC, router: router)
        // Announce the tip once at start so subscribers that resync see where we are.
        let tip = await chain.chainTip()
        await notifier.announceTip(tip)
        logger.notice("chain store ready", metadata: [
            "network": "\(params.network.rawValue)", "height": "\(tip.height)",
            "rpc": "\(server.endpoints.joined(separator: ","))", "pub": "\(publisher.endpoints.joined(separator: ","))",
            "data": "\(dir.path)", "signature-cache": "\(signatureCache.map { "\($0.capacity) txids from \(endpoints.mempoolPub)" } ?? "off")"])
        let filler = cacheFiller
        let cache = signatureCache
        try await runtime.run(beforeBus: { filler?.cancel() }, afterBus: {
            // Blocks already queued are connected (each commits whole), then the last checkpoint.
            await chain.drained()
            await checkpointer.close()
            try? db.close()
        }, stopped: {
            SignatureCache.statusDetails(cache).mapValues { .string($0) }
        })
    }
}
