import ChainCore
import Foundation
import NodeKit

/// `mempool.rpc`: the methods the mempool serves on the bus, each a call into the pool's rooms.
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

    static func router(pool: Pool, templates: TemplateGenerator, pacer: Pacer, samples: MempoolSamples, started: Double,
                       batches: BatchSubmit.Stats = BatchSubmit.Stats()) -> RPCRouter {
        RPCRouter(MempoolMethod.self, [
            // many raw transactions in one binary request, one answer each (BatchSubmit.swift)
            .submittxs: RPCRouter.binaryMethod { payload throws(RPCError) in
                try await BatchSubmit.serve(payload, pool: pool, stats: batches)
            },
            .submittx: RPCRouter.method(SubmitTx.self) { p in
                do {
                    let e = try await pool.submit(hex: p.hex, receivedAt: p.receivedAt, maxFee: p.maxFee)
                    return SubmitTxResult(txid: e.txid.hex, fee: e.fee, size: e.size)
                } catch let refusal as Pool.Refusal {
                    throw RPCError(refusal.code, refusal.message)
                }
            },
            .testtx: RPCRouter.method(SubmitTx.self) { p in
                do {
                    let e = try await pool.test(hex: p.hex, maxFee: p.maxFee)
                    return SubmitTxResult(txid: e.txid.hex, fee: e.fee, size: e.size)
                } catch let refusal as Pool.Refusal {
                    throw RPCError(refusal.code, refusal.message)
                }
            },
            .getrawmempool: RPCRouter.method(Empty.self) { _ in await pool.snapshot() },
            .checkmempool: RPCRouter.method(Empty.self) { _ in await pool.check() },
            .getentry: RPCRouter.method(TxRef.self) { p in
                guard let e = await pool.entry(try txid(p.txid)) else { throw RPCError.notFound("\(p.txid) is not in the mempool") }
                return entryInfo(e)
            },
            .getaddressmempool: RPCRouter.method(AddressRef.self) { p in
                guard let key = Hex.decode(p.publicKey), key.count == 32 else { throw RPCError.badParams("public key must be 64 hex digits") }
                return await pool.entries(touching: key).map(entryInfo)
            },
            .getblocktemplate: templateRoute(templates: templates, pacer: pacer),
            // the same template's JSON-RPC result, pre-rendered for the edge (binary; TemplateRPC.swift)
            .getblocktemplaterpc: rpcTemplateRoute(templates: templates, pacer: pacer),
            // the node's own miner's template, its transactions as bytes (binary; TemplateBinary.swift)
            .getblocktemplatebin: binaryTemplateRoute(templates: templates, pacer: pacer),
            .getpace: RPCRouter.method(Empty.self) { _ in await pacer.pace },
            .setpace: RPCRouter.method(PaceChange.self) { change in
                try await pacer.change(change, tipHeight: try await pool.currentTip().height)
            },
            .getspenders: RPCRouter.method(OutpointList.self) { p in
                guard p.outpoints.count <= 10_000 else { throw RPCError.badParams("at most 10,000 outpoints per call") }
                let ops = try p.outpoints.map { text in
                    guard let op = OutPoint(text: text) else { throw RPCError.badParams("'\(text)' is not txid:index") }
                    return op
                }
                return await pool.spenders(of: ops)
            },
            .getmempoolblocks: RPCRouter.method(MempoolBlocksRequest.self) { await pool.projectedBlocks($0) },
            .getmempoolsamples: RPCRouter.method(MempoolSamplesRequest.self) { try await samples.since($0.since) },
            .getminers: RPCRouter.method(Empty.self) { _ in await templates.activeMiners() },
            .gettrace: RPCRouter.method(TxRef.self) { try await pool.trace($0.txid) },
            .getstatus: RPCRouter.method(Empty.self) { _ in
                let tip = await pool.tip
                return ServiceStatus(service: .mempool, pid: getpid(), startedAt: started, tipHeight: tip?.height ?? -1,
                                     tipHash: tip?.hash ?? "", details: ["count": "\(await pool.entries.count)",
                                                                         "bytes": "\(await pool.bytes)",
                                                                         "coinView": "\(await pool.coinView.count)",
                                                                         "signaturesReused": "\(await pool.signaturesReused)",
                                                                         "signaturesVerifiedInGate": "\(await pool.signaturesVerifiedInGate)",
                                                                         "commits": "\(await pool.writer.commits)",
                                                                         "largestBatch": "\(await pool.writer.largestBatch)",
                                                                         "commitFailures": "\(await pool.writer.failures)",
                                                                         "submitBatches": "\(batches.batches)",
                                                                         "submitBatchTransactions": "\(batches.transactions)",
                                                                         "largestSubmitBatch": "\(batches.largest)",
                                                                         "miners": "\(await templates.activeMiners().count)"])
            },
        ], inline: [
            // The running totals, read off the actor: answered on the bus's socket thread, so the
            // explorer's `/api/mempool` does not queue behind a flood's admissions on the cores.
            .getmempoolinfo: RPCRouter.inlineMethod(Empty.self) { _ in pool.info() },
        ])
    }
}
