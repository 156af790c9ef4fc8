import ChainCore
import Foundation
import Logging
import NodeKit

/// Fetches work from the mempool, hands it to the hashing threads, submits what they find to the chain store.
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
    /// The last template's transactions decoded, by txid.
    private var decoder = TemplateDecoder()
    /// Binary templates, or JSON ones from a mempool that does not know them, binary asked again
    /// every `binaryRetry` (TemplateFormat.swift).
    private var format = TemplateFormat<ContinuousClock.Instant>(retry: Miner.binaryRetry)
    static let binaryRetry: Duration = .seconds(60)

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

    /// How often at most new work is fetched when only the mempool changed (as Bitcoin Core's
    /// miners, which rebuild a template for mempool changes only every few seconds): in a flood
    /// the mempool's notices come up to 4 a second, each template ~6,800 transactions. A new tip,
    /// a change of the mining pace, a block found, or no work on the tip: at once.
    static let mempoolRefresh: Duration = .seconds(2)
    /// When the last work was assigned and whether a fetch is deferred (RefreshThrottle.swift).
    private var throttle = RefreshThrottle<ContinuousClock.Instant>(interval: Miner.mempoolRefresh)
    private var deferred: Task<Void, Never>?

    /// A template notice from the mempool (`notice`: nil when it did not decode).
    func templateNotice(_ notice: TemplateNotice?) {
        guard notice?.pace == nil, !held, let current, let tip = chainTip, current.previousHash.hex == tip.hash,
              current.height == tip.height + 1 else {
            refresh()
            return
        }
        switch throttle.notice(now: .now) {
        case .now:
            refresh()
        case .alreadyDue:
            return
        case .at(let due):
            deferred = Task { [weak self] in
                guard (try? await Task.sleep(until: due)) != nil else { return }
                await self?.deferredRefresh()
            }
        }
    }

    private func deferredRefresh() {
        deferred = nil
        throttle.fired()
        refresh()
    }

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
        let (t, txs) = try await template(request)
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
                        coinbaseValue: t.coinbaseValue, transactions: txs.map(\.tx), txids: txs.map(\.txid), payoutKey: payout.publicKey,
                        minerID: minerID, target: CompactTarget.hashValue(target))
        current = work
        throttle.worked(at: .now)
        deferred?.cancel()   // this work holds the mempool's changes so far
        deferred = nil
        hashers.assign(work)
        logger.debug("new work", metadata: ["height": "\(t.height)", "txs": "\(txs.count)", "fees": "\(t.fees)"])
    }

    /// The mempool's template and its transactions decoded: binary (`getblocktemplatebin`, the
    /// transactions as bytes), or JSON from a mempool that does not know it.
    private func template(_ request: TemplateRequest) async throws -> (BlockTemplate, [(tx: Transaction, txid: Hash256)]) {
        if format.asksBinary(now: .now) {
            do {
                let (t, items) = try TemplateBinary.parse(try await mempoolRPC.callBinary(MempoolMethod.getblocktemplatebin, JSON.encode(request)))
                if format.binaryAnswered() { logger.notice("the mempool answers getblocktemplatebin again: binary templates") }
                return (t, try decoder.decode(items.map { ($0.txid, $0.raw) }))
            } catch let e as RPCError where e.code == "unknown-method" {
                if format.binaryUnknown(now: .now) {
                    logger.notice("the mempool does not know getblocktemplatebin: JSON templates, binary tried again every \(Self.binaryRetry)")
                }
            }
        }
        let t = try await mempoolRPC.call(MempoolMethod.getblocktemplate, request, as: BlockTemplate.self)
        return (t, try decoder.decode(try TemplateDecoder.items(of: t)))
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
            let r = try await chainRPC.call(ChainMethod.submitblock, SubmitBlock(hex: Hex.encode(f.block.encoded), source: "miner:\(idHex)"),
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
            let secs = (now - lastTime).inSeconds
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
