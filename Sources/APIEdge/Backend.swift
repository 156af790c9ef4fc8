import Bus
import ChainCore
import Foundation
import NodeKit
import Synchronization

/// The edge's view of the services: one Lazy Pirate RPC client each for the chain store and the
/// mempool, with their errors mapped to HTTP errors (`BusError` → 503, `not-found` → 404, …).
final class Backend: Sendable {
    let chain: RPCClient
    let mempool: RPCClient
    let params: ChainParams
    let endpoints: Endpoints
    /// Outputs of transactions already decoded, by txid (OutputsCache.swift).
    private let outputsCache = Mutex(OutputsCache(generation: 20_000))
    /// The bound on transaction submissions in flight to the mempool (SubmitQueue.swift).
    let submits = SubmitQueue()
    /// Concurrent submissions go to the mempool together, in `submittxs` batches (SubmitBatcher.swift).
    let batcher: SubmitBatcher

    init(chain: RPCClient, mempool: RPCClient, params: ChainParams, endpoints: Endpoints) {
        self.chain = chain
        self.mempool = mempool
        self.params = params
        self.endpoints = endpoints
        batcher = SubmitBatcher { items in try await SubmitBatcher.send(items, to: mempool) }
    }

    static func connect(context: ZMQContext, endpoints: Endpoints, params: ChainParams,
                        timeout: Duration, retries: Int, bus: BusSecurity = .off(.edge)) async throws -> Backend {
        let chain = try await RPCClient(context: context, endpoint: endpoints.chainRPC, timeout: timeout, retries: retries,
                                        curve: bus.client(of: .chainstore))
        let mempool = try await RPCClient(context: context, endpoint: endpoints.mempoolRPC, timeout: timeout, retries: retries,
                                          curve: bus.client(of: .mempool))
        return Backend(chain: chain, mempool: mempool, params: params, endpoints: endpoints)
    }

    func stop() async {
        await chain.stop()
        await mempool.stop()
    }

    var network: Network { params.network }

    func chain<P: Encodable & Sendable, R: Codable & Sendable>(_ method: ChainMethod, _ p: P, as: R.Type = R.self) async throws -> R {
        try await call(chain, service: .chainstore, method, p)
    }

    func mempool<P: Encodable & Sendable, R: Codable & Sendable>(_ method: MempoolMethod, _ p: P, as: R.Type = R.self) async throws -> R {
        try await call(mempool, service: .mempool, method, p)
    }

    private func call<P: Encodable & Sendable, R: Codable & Sendable>(_ client: RPCClient, service: ServiceName, _ method: some BusMethod, _ p: P) async throws -> R {
        do {
            return try await client.call(method, p, as: R.self)
        } catch let e as RPCError {
            throw APIError.fromRPC(e, service: service)
        } catch let e as BusError {
            throw APIError.fromBus(e, service: service)
        }
    }

    /// One transaction to the mempool, within the bound on submissions in flight: past it, or when
    /// the mempool's own queue is full, 503 `queue-full` with `Retry-After`. It goes in the next
    /// `submittxs` batch (SubmitBatcher.swift) and gets the answer `submittx` would have given it,
    /// mapped as every mempool answer is (`APIError.fromRPC`); the rare one too big for a batch
    /// goes alone with `submittx`. A fee above `maxFee` (base units) is refused `max-fee-exceeded`.
    func submitTx(raw: [UInt8], receivedAt: Double?, maxFee: UInt64? = nil) async throws -> SubmitTxResult {
        let (txid, fee, size) = try await submitRaw(raw, receivedAt: receivedAt, maxFee: maxFee)
        return SubmitTxResult(txid: txid.hex, fee: fee, size: size)
    }

    /// `submitTx(raw:receivedAt:)` with the txid as the batch's answer carries it (not as hex).
    func submitRaw(_ raw: [UInt8], receivedAt: Double?, maxFee: UInt64? = nil) async throws -> (txid: Hash256, fee: UInt64, size: Int) {
        try await submits.submit {
            guard raw.count <= SubmitBatch.maxTransactionBytes else {
                let result = try await mempool(.submittx, SubmitTx(hex: Hex.encode(raw), receivedAt: receivedAt, maxFee: maxFee),
                                               as: SubmitTxResult.self)
                guard let txid = Hash256(hex: result.txid) else {
                    throw APIError(.badGateway, "backend-error", "mempool: submittx answered a txid that is not 64 hex digits: \(result.txid)")
                }
                return (txid, result.fee, result.size)
            }
            let answer: SubmitBatch.Answer
            do {
                answer = try await batcher.submit(SubmitBatch.Item(raw: raw, receivedAt: receivedAt, maxFee: maxFee))
            } catch let e as RPCError {
                throw APIError.fromRPC(e, service: .mempool)
            } catch let e as BusError {
                throw APIError.fromBus(e, service: .mempool)
            }
            switch answer {
            case let .accepted(txid, fee, size): return (txid, fee, size)
            case let .refused(refusal): throw APIError.fromRPC(refusal, service: .mempool)
            }
        }
    }

    /// One transaction given as hex: as `submitTx(raw:receivedAt:)` when it is hex; what is not is
    /// sent as it is with `submittx`, for the mempool to refuse as it always has.
    func submitTx(_ p: SubmitTx) async throws -> SubmitTxResult {
        if let raw = Hex.decode(p.hex) { return try await submitTx(raw: raw, receivedAt: p.receivedAt, maxFee: p.maxFee) }
        return try await submits.submit { try await mempool(.submittx, p, as: SubmitTxResult.self) }
    }

    // MARK: lookups shared by routes

    /// The confirmed transaction, or nil if the chain store does not know it.
    func confirmedTx(_ txid: String) async throws -> ConfirmedTx? {
        do {
            return try await chain(.gettx, TxRef(txid: txid), as: ConfirmedTx.self)
        } catch let e as APIError where e.status == .notFound {
            return nil
        }
    }

    /// The mempool entry, or nil if the mempool does not hold it.
    func mempoolEntry(_ txid: String) async throws -> MempoolEntry? {
        do {
            return try await mempool(.getentry, TxRef(txid: txid), as: MempoolEntry.self)
        } catch let e as APIError where e.status == .notFound {
            return nil
        }
    }

    func remember(_ tx: Transaction, txid: Hash256) {
        outputsCache.withLock { $0.insert(tx.outputs, of: txid) }
    }

    /// The outputs a set of outpoints refer to: `known` first, then the cache, then the chain
    /// store (`gettx`) or the mempool (`getentry`) per distinct txid. Unknown outpoints are left out.
    func prevouts(_ outpoints: [OutPoint], known: [OutPoint: TxOutput] = [:]) async throws -> [OutPoint: TxOutput] {
        var found = [OutPoint: TxOutput]()
        var missing = Set<Hash256>()
        // (looked up under the lock: a copy of the cache taken out would make the next insert copy it whole)
        outputsCache.withLock { cache in
            for op in outpoints where !op.isNull {
                if let o = known[op] {
                    found[op] = o
                } else if let outs = cache.outputs(of: op.txid) {
                    if Int(op.index) < outs.count { found[op] = outs[Int(op.index)] }
                } else {
                    missing.insert(op.txid)
                }
            }
        }
        guard !missing.isEmpty else { return found }
        let fetched = try await withThrowingTaskGroup(of: (Hash256, [TxOutput]?).self) { group in
            for txid in missing {
                group.addTask { (txid, try await self.outputs(of: txid)) }
            }
            var out = [Hash256: [TxOutput]]()
            for try await (txid, outs) in group { if let outs { out[txid] = outs } }
            return out
        }
        for op in outpoints where !op.isNull && found[op] == nil {
            if let outs = fetched[op.txid], Int(op.index) < outs.count { found[op] = outs[Int(op.index)] }
        }
        return found
    }

    private func outputs(of txid: Hash256) async throws -> [TxOutput]? {
        let hex: String
        if let c = try await confirmedTx(txid.hex) {
            hex = c.hex
        } else if let e = try await mempoolEntry(txid.hex) {
            hex = e.hex
        } else {
            return nil
        }
        guard let raw = Hex.decode(hex), let tx = try? Transaction(bytes: raw) else { return nil }
        remember(tx, txid: txid)
        return tx.outputs
    }
}
