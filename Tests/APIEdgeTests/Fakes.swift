import Bus
import ChainCore
import Foundation
import NodeKit
import Synchronization

/// An in-process stand-in for the chain store: canned answers from a `ChainFixture`, a real
/// `RequestServer` and `Publisher` on loopback TCP.
final class FakeChainStore: Sendable {
    let server: RequestServer
    let publisher: Publisher
    let fixture: ChainFixture
    var rpcEndpoint: String { server.endpoints[0] }
    var pubEndpoint: String { publisher.endpoints[0] }

    init(context: ZMQContext, fixture: ChainFixture) async throws {
        self.fixture = fixture
        publisher = try await Publisher(context: context, bind: ["tcp://127.0.0.1:*"])
        let router = Self.router(fixture)
        server = try await RequestServer(context: context, bind: ["tcp://127.0.0.1:*"]) { await router.handle($0) }
    }

    func stop() async {
        await server.stop()
        await publisher.stop()
    }

    struct Located { let tx: Transaction; let block: Block; let height: Int; let position: Int }

    static func router(_ f: ChainFixture) -> RPCRouter {
        let blocks = f.blocks
        var byHash = [Hash256: Int]()
        var txIndex = [Hash256: Located]()
        var utxos = [OutPoint: (TxOutput, Int, Bool)]()
        var history = [[UInt8]: [(Hash256, Int, Int)]]()
        var spends = [OutPoint: SpendInfo]()
        for (height, block) in blocks.enumerated() {
            byHash[block.hash] = height
            for (pos, tx) in block.transactions.enumerated() {
                let txid = tx.txid
                txIndex[txid] = Located(tx: tx, block: block, height: height, position: pos)
                guard height > 0 else { continue }
                var keys = Set<[UInt8]>()
                for (vin, input) in tx.inputs.enumerated() where !input.previousOutput.isNull {
                    spends[input.previousOutput] = SpendInfo(outpoint: input.previousOutput.description, txid: txid.hex, vin: UInt32(vin),
                                                             height: height, blockHash: block.hash.hex, blockTime: block.header.time)
                    if let spent = utxos.removeValue(forKey: input.previousOutput) { keys.insert(spent.0.publicKey) }
                }
                for (i, o) in tx.outputs.enumerated() {
                    utxos[OutPoint(txid: txid, index: UInt32(i))] = (o, height, pos == 0)
                    keys.insert(o.publicKey)
                }
                for k in keys { history[k, default: []].append((txid, height, pos)) }
            }
        }
        let tipHeight = blocks.count - 1
        let heights = byHash
        @Sendable func header(_ height: Int) -> HeaderInfo {
            let b = blocks[height]
            return HeaderInfo(hash: b.hash.hex, height: height, version: b.header.version, previousHash: b.header.previousHash.hex,
                              merkleRoot: b.header.merkleRoot.hex, time: b.header.time, bits: b.header.bits, nonce: b.header.nonce,
                              difficulty: 1, chainwork: String(format: "%064x", height + 1), txCount: b.transactions.count,
                              size: b.encodedSize, inBestChain: true, nextHash: height < tipHeight ? blocks[height + 1].hash.hex : nil)
        }
        @Sendable func find(_ ref: BlockRef) throws -> Int {
            if let text = ref.hash {
                guard let h = Hash256(hex: text) else { throw RPCError.badParams("bad hash") }
                guard let height = heights[h] else { throw RPCError.notFound("block \(text) not found") }
                return height
            }
            guard let height = ref.height, height >= 0, height <= tipHeight else { throw RPCError.notFound("no block at that height") }
            return height
        }
        let snapshotTx = txIndex, snapshotUTXO = utxos, snapshotHistory = history
        let snapshotSpends = spends
        let tip = ChainTip(height: tipHeight, hash: blocks[tipHeight].hash.hex, time: blocks[tipHeight].header.time,
                           nextBits: ChainParams.regtest.powLimitBits, medianTimePast: blocks[tipHeight].header.time)
        return RPCRouter([
            "getchaintip": RPCRouter.method(Empty.self) { _ in tip },
            "getblockstats": RPCRouter.method(BlockStatsRequest.self) { r in
                let end = min(r.endHeight ?? tipHeight, tipHeight)
                return (max(0, end - r.count + 1)...end).map { height in
                    let b = blocks[height]
                    return BlockStats(height: height, time: b.header.time, size: b.encodedSize, txCount: b.transactions.count,
                                      fees: height == 4 ? 5_000 : 0, difficulty: 1, work: 2)
                }
            },
            "getspends": RPCRouter.method(OutpointList.self) { list in
                try list.outpoints.map { text -> SpendInfo? in
                    guard let op = OutPoint(text: text) else { throw RPCError.badParams("'\(text)' is not txid:index") }
                    return snapshotSpends[op]
                }
            },
            "verifyutxo": RPCRouter.method(Empty.self) { _ in UTXOCheck(ok: true, utxoCount: snapshotUTXO.count, recomputedCount: snapshotUTXO.count, mismatches: []) },
            "getchaininfo": RPCRouter.method(Empty.self) { _ in
                ChainInfo(network: "regtest", height: tipHeight, tipHash: tip.hash, tipTime: tip.time, bits: tip.nextBits, difficulty: 1,
                          chainwork: String(format: "%064x", tipHeight + 1), supply: 200 * Units.perCoin + 5_000,
                          utxoCount: snapshotUTXO.count, nextBits: tip.nextBits, medianTimePast: tip.time)
            },
            "getheader": RPCRouter.method(BlockRef.self) { header(try find($0)) },
            "getblock": RPCRouter.method(BlockRef.self) { ref in
                let h = try find(ref)
                return BlockInfo(header: header(h), hex: Hex.encode(blocks[h].encoded))
            },
            "getblocks": RPCRouter.method(BlockRange.self) { r in
                let start = min(r.startHeight ?? tipHeight, tipHeight)
                return stride(from: start, through: max(0, start - r.count + 1), by: -1).map(header)
            },
            "gettx": RPCRouter.method(TxRef.self) { ref in
                guard let h = Hash256(hex: ref.txid), let l = snapshotTx[h], l.height > 0 else { throw RPCError.notFound("not in the chain") }
                let fee: UInt64 = l.position == 0 ? 0 : 5_000
                return ConfirmedTx(txid: ref.txid, hex: Hex.encode(l.tx.encoded), blockHash: l.block.hash.hex, height: l.height,
                                   position: l.position, blockTime: l.block.header.time, fee: fee)
            },
            "getaddress": RPCRouter.method(AddressRef.self) { ref in
                let key = Hex.decode(ref.publicKey) ?? []
                var s = AddressStats(fundedTxoCount: 0, fundedTxoSum: 0, spentTxoCount: 0, spentTxoSum: 0, txCount: snapshotHistory[key]?.count ?? 0)
                for (txid, _, _) in snapshotHistory[key] ?? [] {
                    let tx = snapshotTx[txid]!.tx
                    for o in tx.outputs where o.publicKey == key { s.fundedTxoCount += 1; s.fundedTxoSum += o.value }
                    for i in tx.inputs where !i.previousOutput.isNull {
                        if let prev = snapshotTx[i.previousOutput.txid]?.tx.outputs[Int(i.previousOutput.index)], prev.publicKey == key {
                            s.spentTxoCount += 1; s.spentTxoSum += prev.value
                        }
                    }
                }
                return s
            },
            "getaddressutxos": RPCRouter.method(AddressRef.self) { ref in
                let key = Hex.decode(ref.publicKey) ?? []
                return snapshotUTXO.filter { $0.value.0.publicKey == key }
                    .sorted { ($0.value.1, $0.key.txid.hex) < ($1.value.1, $1.key.txid.hex) }
                    .map { CoinInfo(txid: $0.key.txid.hex, index: $0.key.index, value: $0.value.0.value, publicKey: ref.publicKey,
                                    height: $0.value.1, coinbase: $0.value.2) }
            },
            "getaddresstxs": RPCRouter.method(AddressTxsParams.self) { p in
                let key = Hex.decode(p.publicKey) ?? []
                var list = (snapshotHistory[key] ?? []).reversed().map { $0 }
                if let after = p.afterTxid {
                    guard let i = list.firstIndex(where: { $0.0.hex == after }) else { throw RPCError.notFound("not in this address's history") }
                    list = Array(list[(i + 1)...])
                }
                return list.prefix(p.limit).map { AddressTx(txid: $0.0.hex, height: $0.1, blockHash: blocks[$0.1].hash.hex, blockTime: blocks[$0.1].header.time) }
            },
            "gettrace": RPCRouter.method(TxRef.self) { ref in
                guard let h = Hash256(hex: ref.txid), let l = snapshotTx[h] else { return [TraceEvent]() }
                return [TraceEvent(id: ref.txid, kind: .tx, stage: .connected, service: .chainstore, time: Double(l.block.header.time),
                                   detail: "block \(l.block.hash.hex) height \(l.height)")]
            },
            "getstatus": RPCRouter.method(Empty.self) { _ in
                ServiceStatus(service: .chainstore, pid: 4242, startedAt: 1, tipHeight: tipHeight, tipHash: tip.hash, details: [:])
            },
        ])
    }
}

/// An in-process stand-in for the mempool holding `fixture.pending`.
final class FakeMempool: Sendable {
    let server: RequestServer
    let publisher: Publisher
    let submitted = Submissions()
    var rpcEndpoint: String { server.endpoints[0] }
    var pubEndpoint: String { publisher.endpoints[0] }

    init(context: ZMQContext, fixture: ChainFixture) async throws {
        publisher = try await Publisher(context: context, bind: ["tcp://127.0.0.1:*"])
        let submitted = self.submitted
        let router = Self.router(fixture, submitted: submitted)
        server = try await RequestServer(context: context, bind: ["tcp://127.0.0.1:*"]) { await router.handle($0) }
    }

    func stop() async {
        await server.stop()
        await publisher.stop()
    }

    static func entry(_ f: ChainFixture) -> MempoolEntry {
        let tx = f.pending
        let spentOut = f.blocks[2].transactions[0]
        return MempoolEntry(txid: tx.txid.hex, hex: Hex.encode(tx.encoded), fee: f.pendingFee, size: tx.encodedSize,
                            feeRate: Double(f.pendingFee) / Double(tx.encodedSize), time: 1_795_565_000, depends: [],
                            spent: [CoinInfo(txid: spentOut.txid.hex, index: 0, value: spentOut.outputs[0].value,
                                             publicKey: Hex.encode(f.alice.publicKey), height: 2, coinbase: true)])
    }

    static func router(_ f: ChainFixture, submitted: Submissions) -> RPCRouter {
        let e = entry(f)
        let orphanHex = Hex.encode(f.orphan.encoded)
        let pace = FakePace()
        let submit: @Sendable (SubmitTx) throws -> SubmitTxResult = { p in
            submitted.list.withLock { $0.append(p) }
            if p.hex == orphanHex { throw RPCError("bad-txns-inputs-missingorspent", "input 0 spends a missing or spent output") }
            guard let raw = Hex.decode(p.hex), let tx = try? Transaction(bytes: raw) else { throw RPCError("bad-encoding", "not a transaction") }
            return SubmitTxResult(txid: tx.txid.hex, fee: 1_000, size: raw.count)
        }
        return RPCRouter([
            "getpace": RPCRouter.method(Empty.self) { _ in pace.value.withLock { $0 } },
            "setpace": RPCRouter.method(PaceChange.self) { c in
                try pace.value.withLock { p in
                    try p.apply(c, network: .regtest, tipHeight: f.blocks.count - 1, now: 1_795_565_200)
                    return p
                }
            },
            "submittx": RPCRouter.method(SubmitTx.self, submit),
            "submittxs": RPCRouter.submitBatch(submit),
            "getmempoolinfo": RPCRouter.method(Empty.self) { _ in
                MempoolInfo(count: 1, bytes: e.size, totalFee: e.fee, feeHistogram: [[64, Double(e.size)], [2, 3_500_000]], minFeeRate: 1, mempoolSequence: 7)
            },
            "getrawmempool": RPCRouter.method(Empty.self) { _ in RawMempool(txids: [e.txid], mempoolSequence: 7) },
            "getspenders": RPCRouter.method(OutpointList.self) { list in
                try list.outpoints.map { text -> SpendInfo? in
                    guard let op = OutPoint(text: text) else { throw RPCError.badParams("'\(text)' is not txid:index") }
                    return op == f.pending.inputs[0].previousOutput ? SpendInfo(outpoint: text, txid: e.txid, vin: 0) : nil
                }
            },
            "getmempoolsamples": RPCRouter.method(MempoolSamplesRequest.self) { r in
                let now = Date().timeIntervalSince1970
                return [MempoolSample(time: now - 7_200, count: 0, bytes: 0, totalFee: 0, nextBlockMedianFee: 0, nextBlockMinFee: 0),
                        MempoolSample(time: now - 60, count: 1, bytes: e.size, totalFee: e.fee, nextBlockMedianFee: e.feeRate, nextBlockMinFee: e.feeRate)]
                    .filter { $0.time >= r.since }
            },
            "getmempoolblocks": RPCRouter.method(MempoolBlocksRequest.self) { r in
                MempoolBlocks(blocks: [MempoolBlock(blockSize: e.size, blockVSize: e.size, nTx: 1, totalFees: e.fee, medianFee: e.feeRate,
                                                    feeRange: Array(repeating: e.feeRate, count: 7))],
                              txBlock: r.txid?.lowercased() == e.txid ? 0 : nil, mempoolSequence: 7)
            },
            "checkmempool": RPCRouter.method(Empty.self) { _ in
                MempoolCheck(ok: false, count: 1, stored: 1, chainChecked: true, problems: ["a problem for the test"])
            },
            "getentry": RPCRouter.method(TxRef.self) { ref in
                guard ref.txid.lowercased() == e.txid else { throw RPCError.notFound("not in the mempool") }
                return e
            },
            "getaddressmempool": RPCRouter.method(AddressRef.self) { ref in
                let key = ref.publicKey.lowercased()
                return key == Hex.encode(f.alice.publicKey) || key == Hex.encode(f.bob.publicKey) ? [e] : []
            },
            "getminers": RPCRouter.method(Empty.self) { _ in
                [MinerInfo(id: "m1", address: f.alice.address.string, hashrate: 1234.5, threads: 2, lastSeen: 1_795_565_100)]
            },
            "gettrace": RPCRouter.method(TxRef.self) { ref in
                guard ref.txid.lowercased() == e.txid else { return [TraceEvent]() }
                return [TraceEvent(id: e.txid, kind: .tx, stage: .accepted, service: .mempool, time: 1_795_565_000, detail: "fee 10000")]
            },
            "getstatus": RPCRouter.method(Empty.self) { _ in
                ServiceStatus(service: .mempool, pid: 4343, startedAt: 1, tipHeight: f.blocks.count - 1, tipHash: f.blocks.last!.hash.hex,
                              details: ["count": "1"])
            },
        ])
    }
}

/// The fake mempool's mining pace (the real state machine, in memory).
final class FakePace: Sendable {
    let value = Mutex(MiningPace.running)
}

final class Submissions: Sendable {
    let list = Mutex<[SubmitTx]>([])
}
