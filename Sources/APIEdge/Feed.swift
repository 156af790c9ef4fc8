import ChainCore
import Foundation
import Logging
import NodeKit

/// Pushes the followers' events (`FeedEvent`) and the services' trace events to WebSocket clients
/// through the `Hub`. Events are queued here and handled in order by `run()`, so a follower never
/// waits on a client or on the RPCs a message needs.
final class Feed: FeedOutlet, Sendable {
    enum Input: Sendable {
        case tip([UInt8]), event(FeedEvent), trace([UInt8])
    }

    let hub: Hub
    let backend: Backend
    let metrics: EdgeMetrics
    let logger: Logger
    private let stream: AsyncStream<Input>
    private let continuation: AsyncStream<Input>.Continuation
    /// The chain tip last published by the chain store (TipCache.swift).
    let tips = TipCache()
    static let maxTrackedPerClient = 100
    /// Opened once both followers took their first snapshot; clients wait for it (FeedStart.swift).
    let feedStart: FeedStart

    init(backend: Backend, metrics: EdgeMetrics, logger: Logger, feedStart: FeedStart, queueLimit: Int = 1024, replayWindow: Int = 5000) {
        self.backend = backend
        self.feedStart = feedStart
        self.metrics = metrics
        self.logger = logger
        hub = Hub(queueLimit: queueLimit, metrics: metrics, replayWindow: replayWindow)
        // Unbounded: the followers' events must not be dropped (they are few: blocks and accepted transactions).
        (stream, continuation) = AsyncStream.makeStream(of: Input.self, bufferingPolicy: .unbounded)
    }

    var network: Network { backend.network }

    func post(_ input: Input) { continuation.yield(input) }
    func post(_ event: FeedEvent) { continuation.yield(.event(event)) }
    func finish() { continuation.finish() }

    /// Handles queued events until `finish()`.
    func run() async {
        for await input in stream {
            switch input {
            case .tip(let body):
                guard let t = try? JSON.decode(ChainTip.self, body) else { logger.warning("undecodable tip message"); continue }
                tips.set(t)
                metrics.height.set(Int64(t.height))
            case .event(let event):
                await handle(event)
            case .trace(let body):
                // Trace events are only broadcast, never kept for a resume: with no client connected
                // none is decoded and encoded again (in a flood, a fifth of the edge's time went there).
                guard hub.interest.hasClients, let event = try? JSON.decode(TraceEvent.self, body) else { continue }
                await hub.broadcast(FeedMessage.text(FeedMessage.TraceMsg(event: event)))
            }
        }
    }

    private func handle(_ event: FeedEvent) async {
        switch event {
        case let .connected(height, block, raw):
            let header = await header(of: block, height: height, size: raw.count)
            await hub.publish(blockHash: block.hash.hex, height: height) { FeedMessage.text(FeedMessage.BlockMsg(block: EsploraBlock(header), seq: $0)) }
            await onConnected(block)
        case let .disconnected(height, hash, previous):
            await hub.publish(blockHash: previous.hex, height: height, disconnected: true) {
                FeedMessage.text(FeedMessage.Disconnected(hash: hash.hex, height: height, previous: previous.hex, seq: $0))
            }
        case .newTip:
            break
        case let .txAdded(tx, txid, raw, _):
            await onTx(tx, txid: txid, size: raw.count)
        case let .txRemoved(txid, _):
            await hub.publish { FeedMessage.text(FeedMessage.TxRemoved(txid: txid.hex, seq: $0)) }
        case let .resync(scope, reason):
            await hub.publish { FeedMessage.text(FeedMessage.Resync(scope: scope, reason: reason, seq: $0)) }
        }
    }

    /// The block's header as the API shows it; built from the block itself when the chain store does not answer.
    private func header(of block: Block, height: Int, size: Int) async -> HeaderInfo {
        if let h = try? await backend.chain(.getheader, BlockRef(hash: block.hash.hex), as: HeaderInfo.self) { return h }
        let h = block.header
        return HeaderInfo(hash: block.hash.hex, height: height, version: h.version, previousHash: h.previousHash.hex,
                          merkleRoot: h.merkleRoot.hex, time: h.time, bits: h.bits, nonce: h.nonce, difficulty: 0, chainwork: "",
                          txCount: block.transactions.count, size: size, inBestChain: true, nextHash: nil)
    }

    private func onConnected(_ block: Block) async {
        guard hub.interest.hasWatches else { return }
        for tx in block.transactions {
            let txid = tx.txid
            let keys = await hub.touched(tx, txid: txid, confirmed: true, spentKeys: [])
            await notify(keys, txid: txid, confirmed: true)
        }
    }

    private func onTx(_ tx: Transaction, txid: Hash256, size: Int) async {
        backend.remember(tx, txid: txid)
        // The mempool entry gives the fee and the keys of the spent outputs (only asked for when a
        // client is connected: the message kept for a replay then says no fee).
        var entry: MempoolEntry?
        if hub.interest.hasClients { entry = try? await backend.mempoolEntry(txid.hex) }
        let fee = entry?.fee
        await hub.publish { FeedMessage.text(FeedMessage.TxMsg(txid: txid.hex, fee: fee, size: size, seq: $0)) }
        if hub.interest.hasWatches {
            let spentKeys = Set((entry?.spent ?? []).compactMap { Hex.decode($0.publicKey) })
            let keys = await hub.touched(tx, txid: txid, confirmed: false, spentKeys: spentKeys)
            await notify(keys, txid: txid, confirmed: false)
        }
    }

    private func notify(_ keys: Set<[UInt8]>, txid: Hash256, confirmed: Bool) async {
        for key in keys {
            let address = Address(publicKey: key, network: network).string
            await hub.send(toTrackersOf: key, FeedMessage.text(FeedMessage.AddressTx(address: address, txid: txid.hex, confirmed: confirmed)))
        }
    }
}
