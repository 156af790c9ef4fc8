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
            Task { for await e in notices.events { if case .message = e { await miner.refresh() } } },
            Task { for await found in hashers.results { await miner.found(found) } },
            Task { await miner.reportLoop() },
        ]
        try await runtime.run(beforeBus: {
            for t in tasks { t.cancel() }
            hashers.stop()
        }, stopped: { ["blocks": "\(await miner.blocksFound)"] })
    }
}

actor Miner {
    let params: ChainParams
    let payout: Address
    let minerID: [UInt8]
    let threads: Int
    let interval: Double
    let chainRPC: RPCClient
    let mempoolRPC: RPCClient
    let hashers: HashingThreads
    let logger: Logger

    private var generation: UInt64 = 0
    private var current: Work?
    private var chainTip: ChainTip?
    private var wake: AsyncStream<Void>.Continuation?
    private var lastFound: ContinuousClock.Instant?
    private(set) var blocksFound = 0
    private var hashrate: Double = 0
    /// Paused by the mining pace (the learning mode).
    private var held = false
    /// Wakes us when the pace's minimum interval has passed.
    private var timer: Task<Void, Never>?

    init(params: ChainParams, payout: Address, minerID: [UInt8], threads: Int, interval: Double,
         chainRPC: RPCClient, mempoolRPC: RPCClient, hashers: HashingThreads, logger: Logger) {
        self.params = params; self.payout = payout; self.minerID = minerID; self.threads = threads; self.interval = interval
        self.chainRPC = chainRPC; self.mempoolRPC = mempoolRPC; self.hashers = hashers; self.logger = logger
    }

    var idHex: String { Hex.encode(minerID) }

    /// Fetches work whenever woken (new tip, new template, block found, every 20 s for a fresh time).
    func run() async {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        wake = continuation
        continuation.yield()
        var backoff = Duration.milliseconds(250)
        for await _ in stream {
            if Task.isCancelled { break }
            if let last = lastFound, interval > 0 {
                let wait = Duration.milliseconds(Int(interval * 1000)) - (ContinuousClock.now - last)
                if wait > .zero { try? await Task.sleep(for: wait) }
            }
            do {
                try await fetchWork()
                backoff = .milliseconds(250)
            } catch {
                logger.warning("no work yet", metadata: ["error": "\(error)"])
                hashers.pause()
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(8))
                continuation.yield()
            }
        }
    }

    func refresh() { wake?.yield() }

    func newTip(_ t: ChainTip) {
        chainTip = t
        if current?.previousHash.hex != t.hash {
            hashers.pause()   // stale work: stop hashing at once
            wake?.yield()
        }
    }

    private func fetchWork() async throws {
        let request = TemplateRequest(minerID: idHex, address: payout.string, hashrate: hashrate, threads: threads)
        let asked = generation
        let t = try await mempoolRPC.call("getblocktemplate", request, as: BlockTemplate.self)
        // A block found while this template was on its way: the template was built before that block
        // (same parent, same transactions), and mining it in the same second finds that very block
        // again, which the chain store then refuses as a duplicate. `found` wakes us for fresh work.
        guard generation == asked else {
            logger.debug("template older than the block just found: dropped", metadata: ["template": "\(t.height)"])
            return
        }
        // Behind the chain, or built on a sibling of the tip at the same height (a reorg the
        // mempool has not seen yet): its template notice will wake us when it catches up.
        if let tip = chainTip, tip.height >= t.height || (tip.height == t.height - 1 && tip.hash != t.previousHash) {
            // The mempool has not caught up with the chain yet; its template notice will wake us.
            logger.debug("template behind the chain tip", metadata: ["template": "\(t.height)", "tip": "\(tip.height)"])
            hashers.pause()
            return
        }
        guard let prev = Hash256(hex: t.previousHash) else { throw RPCError("bad-template", "bad previous hash") }
        var txs = [Transaction]()
        for hex in t.transactions {
            guard let raw = Hex.decode(hex), let tx = try? Transaction(bytes: raw) else { throw RPCError("bad-template", "undecodable transaction") }
            txs.append(tx)
        }
        guard let target = CompactTarget.target(bits: t.bits, limit: params.powLimit) else { throw RPCError("bad-template", "bad bits") }
        // The learning mode: the mempool's pace says whether this height may be mined now.
        switch MiningPace.decision(pace: t.pace, height: t.height, notBefore: t.notBefore, now: Date().timeIntervalSince1970) {
        case .mine:
            if held { logger.notice("mining resumed", metadata: ["height": "\(t.height)"]) }
            held = false
        case .hold:
            stopHashing()
            if !held { logger.notice("mining paused (learning mode): waiting for a step or resume", metadata: ["height": "\(t.height)"]) }
            held = true
            return   // the template notice of the next change of pace wakes us
        case .wait(let seconds):
            stopHashing()
            logger.debug("minimum interval: waiting", metadata: ["seconds": "\(seconds)"])
            timer?.cancel()
            timer = Task { [weak self] in
                guard (try? await Task.sleep(for: .milliseconds(Int(seconds * 1000) + 20))) != nil else { return }
                await self?.refresh()
            }
            return
        }
        generation += 1
        let work = Work(generation: generation, height: t.height, previousHash: prev, bits: t.bits, time: t.time,
                        coinbaseValue: t.coinbaseValue, transactions: txs, txids: txs.map(\.txid), payoutKey: payout.publicKey,
                        minerID: minerID, target: CompactTarget.hashValue(target))
        current = work
        hashers.assign(work)
        logger.debug("new work", metadata: ["height": "\(t.height)", "txs": "\(txs.count)", "fees": "\(t.fees)"])
    }

    /// Stops the threads and drops any block they found but did not hand over yet (a pause means no more blocks).
    private func stopHashing() {
        hashers.pause()
        generation += 1
        current = nil
    }

    func found(_ f: FoundBlock) async {
        guard f.generation == generation else { return }
        hashers.pause()
        generation += 1
        lastFound = .now
        let hash = f.block.hash
        do {
            let r = try await chainRPC.call("submitblock", SubmitBlock(hex: Hex.encode(f.block.encoded), source: "miner:\(idHex)"),
                                            as: SubmitBlockResult.self)
            if r.accepted {
                blocksFound += 1
                logger.info("block found", metadata: ["height": "\(r.height ?? -1)", "hash": "\(hash.hex)", "txs": "\(f.block.transactions.count)"])
            } else {
                logger.warning("block refused", metadata: ["hash": "\(hash.hex)", "reason": "\(r.reason ?? "?")", "message": "\(r.message ?? "")"])
            }
        } catch {
            logger.error("could not submit a block", metadata: ["hash": "\(hash.hex)", "error": "\(error)"])
        }
        wake?.yield()
    }

    func reportLoop() async {
        var lastHashes = hashers.totalHashes
        var lastTime = ContinuousClock.now
        var ticks = 0
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(5))
            let h = hashers.totalHashes
            let now = ContinuousClock.now
            let secs = Double((now - lastTime).components.seconds) + Double((now - lastTime).components.attoseconds) / 1e18
            hashrate = Double(h - lastHashes) / max(secs, 0.001)
            lastHashes = h
            lastTime = now
            ticks += 1
            if ticks % 4 == 0 {
                logger.info("hash rate", metadata: ["MH/s": "\(String(format: "%.2f", hashrate / 1e6))", "blocks": "\(blocksFound)"])
                wake?.yield()   // refresh the time in the header and report the hash rate
            }
        }
    }
}
