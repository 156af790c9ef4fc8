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

        let publisher = try await runtime.publisher(at: endpoints.chainPub)
        let notifier = ChainNotifier(publisher: publisher)
        let chain = try await Chain(db: db, params: params, logger: logger, onTrace: { await notifier.trace($0) }) { change, tip in
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

/// Publishes what changed: Bitcoin Core's topics (hashblock/rawblock for the new
/// tip, sequence C/D for every connect and disconnect) and the internal ones.
actor ChainNotifier {
    let publisher: Publisher

    init(publisher: Publisher) { self.publisher = publisher }

    func publish(_ change: TipChange, tip: ChainTip) {
        for d in change.disconnected {
            publisher.publish(topic: Topic.sequence, body: d.block.hash.displayBytes + Array("D".utf8))
            publisher.publish(topic: Topic.disconnected, body: HeightPrefixed.encode(height: d.height, raw: d.block.encoded))
            trace(d.trace)
        }
        for c in change.connected {
            publisher.publish(topic: Topic.sequence, body: c.block.hash.displayBytes + Array("C".utf8))
            publisher.publish(topic: Topic.connected, body: HeightPrefixed.encode(height: c.height, raw: c.block.encoded))
            trace(c.trace)
        }
        if let last = change.connected.last {
            publisher.publish(topic: Topic.hashblock, body: last.block.hash.displayBytes)
            publisher.publish(topic: Topic.rawblock, body: last.block.encoded)
        }
        announceTip(tip)
    }

    func announceTip(_ tip: ChainTip) {
        if let body = try? JSON.encode(tip) { publisher.publish(topic: Topic.tip, body: body) }
    }

    /// The events `Chain` stored, published as stored (same text, same time).
    func trace(_ events: [TraceEvent]) {
        for e in events {
            if let body = try? JSON.encode(e) { publisher.publish(topic: Topic.trace, body: body) }
        }
    }
}

enum ChainRPC {
    static func router(chain: Chain, queries: ChainQueries, started: Double) -> RPCRouter {
        RPCRouter([
            "getchaininfo": RPCRouter.method(Empty.self) { _ in try await queries.chainInfo() },
            "submitblock": RPCRouter.method(SubmitBlock.self) { p in
                guard p.hex.utf8.count <= 2 * Limits.maxBlockSize else {
                    return SubmitBlockResult(hash: "", accepted: false, reason: RejectReason.badBlockLength.rawValue,
                                             message: "block larger than \(Limits.maxBlockSize) bytes", isTip: false)
                }
                return await chain.submit(hex: p.hex, source: p.source)
            },
            "getheader": RPCRouter.method(BlockRef.self) { try await queries.header($0) },
            "getblock": RPCRouter.method(BlockRef.self) { try await queries.block($0) },
            "getblocks": RPCRouter.method(BlockRange.self) { try await queries.blocks($0) },
            "gettx": RPCRouter.method(TxRef.self) { try await queries.transaction($0) },
            "getcoins": RPCRouter.method(OutpointList.self) { try await queries.coins($0) },
            "getspends": RPCRouter.method(OutpointList.self) { try await queries.spends($0) },
            "getblockstats": RPCRouter.method(BlockStatsRequest.self) { try await queries.blockStats($0) },
            "getaddress": RPCRouter.method(AddressRef.self) { try await queries.addressStats($0) },
            "getaddressutxos": RPCRouter.method(AddressRef.self) { try await queries.addressUTXOs($0) },
            "getaddresstxs": RPCRouter.method(AddressTxsParams.self) { try await queries.addressTxs($0) },
            "getlocator": RPCRouter.method(Empty.self) { _ in await chain.locator() },
            "getchaintip": RPCRouter.method(Empty.self) { _ in await chain.chainTip() },
            "gettrace": RPCRouter.method(TxRef.self) { try await queries.trace($0) },
            "verifyutxo": RPCRouter.method(Empty.self) { _ in try await queries.verifyUTXO() },
            "getstatus": RPCRouter.method(Empty.self) { _ in
                let tip = await chain.tip
                return ServiceStatus(service: "chainstore", pid: getpid(), startedAt: started, tipHeight: tip.height,
                                     tipHash: tip.hash.hex, details: ["headers": "\(await chain.index.count)"])
            },
        ].merging(PeerRPC.routes(chain: chain)) { own, _ in own })
    }
}
