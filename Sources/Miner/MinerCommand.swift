import ArgumentParser
import Bus
import ChainCore
import Foundation
import Logging
import NodeKit
import Synchronization

/// `cairn-miner`: attaches to a running node and mines to an address.
@main
struct MinerCommand: ServiceCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairn-miner",
        abstract: "A Cairn miner: gets templates from the mempool, hashes on N threads, submits blocks to the chain store.")

    @OptionGroup var common: CommonOptions

    @Option(help: "Address to pay the coinbase to (env CAIRN_MINER_ADDRESS).")
    var address: String?

    @Option(help: "Hashing threads (default: all cores).")
    var threads: Int?

    @Option(help: "Seconds to wait after each found block (default 1 on regtest, where a block takes a few hashes; 0 elsewhere).")
    var blockInterval: Double?

    @Option(help: "Miner id, 16 hex digits (default: random).")
    var id: String?

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        let params = try common.params
        guard let text = address ?? env["CAIRN_MINER_ADDRESS"], !text.isEmpty else {
            throw ValidationError("give --address (or CAIRN_MINER_ADDRESS): the address the coinbase pays")
        }
        let payout: Address
        do { payout = try Address(text, network: params.network) } catch {
            throw ValidationError("--address: \(error.description)")
        }
        var minerID = (0..<8).map { _ in UInt8.random(in: 0...255) }
        if let id {
            guard let bytes = Hex.decode(id), bytes.count == 8 else { throw ValidationError("--id must be 16 hex digits") }
            minerID = bytes
        }
        let idHex = Hex.encode(minerID)
        let threadCount = threads ?? SignatureBatch.defaultParallelism
        let interval = blockInterval ?? (params.network == .regtest ? 1.0 : 0)

        let runtime = try await ServiceRuntime.start(common, name: "miner", label: "cairn.miner.\(idHex.prefix(6))", role: .miner,
                                                     lockName: nil) { [$0.chainRPC, $0.chainPub, $0.mempoolRPC, $0.mempoolPub] }
        let logger = runtime.logger, endpoints = runtime.endpoints
        let chainRPC = try await runtime.client(of: .chainstore, at: endpoints.chainRPC)
        let mempoolRPC = try await runtime.client(of: .mempool, at: endpoints.mempoolRPC)
        let tips = try await runtime.subscriber(of: .chainstore, at: endpoints.chainPub, topics: [Topic.tip])
        let notices = try await runtime.subscriber(of: .mempool, at: endpoints.mempoolPub, topics: [Topic.template])
        // Never mine on another node's bus (see NodeIdentity): both authorities must answer this node's id.
        try await NodeIdentity.check(expected: try runtime.nodeID, authorities: [("the chain store", endpoints.chainRPC, chainRPC),
                                                                                 ("the mempool", endpoints.mempoolRPC, mempoolRPC)], logger: logger)
        let hashers = HashingThreads(count: threadCount)
        let miner = Miner(params: params, payout: payout, minerID: minerID, threads: threadCount, interval: interval,
                          chainRPC: chainRPC, mempoolRPC: mempoolRPC, hashers: hashers, logger: logger)
        logger.notice("miner started", metadata: ["id": "\(idHex)", "address": "\(payout.string)", "threads": "\(threadCount)",
                                                  "chain": "\(endpoints.chainRPC)", "mempool": "\(endpoints.mempoolRPC)"])
        let tasks = [
            Task { await miner.run() },
            Task { for await e in tips.events { if case .message(_, let body, _) = e, let t = try? JSON.decode(ChainTip.self, body) { await miner.newTip(t) } else { await miner.refresh() } } },
            Task {
                for await e in notices.events {
                    if case .message(_, let body, _) = e { await miner.templateNotice(try? JSON.decode(TemplateNotice.self, body)) }
                }
            },
            Task { for await found in hashers.results { await miner.found(found) } },
            Task { await miner.reportLoop() },
        ]
        try await runtime.run(beforeBus: {
            for t in tasks { t.cancel() }
            hashers.stop()
        }, stopped: { ["blocks": "\(await miner.blocksFound)"] })
    }
}
