import BigInt
import ChainCore
import Foundation
import GRDB
import NodeKit

/// The read side: answers from the database (a WAL snapshot per read) and the
/// chain actor's in-memory index.
struct ChainQueries: Sendable {
    let chain: Chain
    let db: DatabasePool
    let params: ChainParams

    func difficulty(bits: UInt32) -> Double {
        let target = CompactTarget.decode(bits).target
        guard target > 0 else { return 0 }
        return Double(params.powLimit) / Double(target)
    }

    func chainInfo() async throws -> ChainInfo {
        let tip = await chain.tip
        let next = await chain.chainTip()
        let supply = await chain.supply
        let utxos = try await db.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM utxo") ?? 0 }
        return ChainInfo(network: params.network.rawValue, height: tip.height, tipHash: tip.hash.hex, tipTime: tip.header.time,
                         bits: tip.header.bits, difficulty: difficulty(bits: tip.header.bits),
                         chainwork: Hex.encode(CompactTarget.workBytes(tip.work)), supply: supply, utxoCount: utxos,
                         nextBits: next.nextBits, medianTimePast: next.medianTimePast)
    }

    func entry(_ ref: BlockRef) async throws -> HeaderEntry {
        if let text = ref.hash {
            guard let hash = Hash256(hex: text) else { throw RPCError.badParams("'\(text)' is not a 64-hex-digit block hash") }
            guard let e = await chain.entry(hash) else { throw RPCError.notFound("block \(text) not found") }
            return e
        }
        guard let height = ref.height else { throw RPCError.badParams("give a block hash or height") }
        guard let hash = await chain.hashAt(height: height), let e = await chain.entry(hash) else {
            throw RPCError.notFound("no block at height \(height)")
        }
        return e
    }

    func headerInfo(_ e: HeaderEntry) async -> HeaderInfo {
        let active = await chain.isActive(e)
        let next = active ? await chain.hashAt(height: e.height + 1) : nil
        let h = e.header
        return HeaderInfo(hash: e.hash.hex, height: e.height, version: h.version, previousHash: h.previousHash.hex,
                          merkleRoot: h.merkleRoot.hex, time: h.time, bits: h.bits, nonce: h.nonce,
                          difficulty: difficulty(bits: h.bits), chainwork: Hex.encode(CompactTarget.workBytes(e.work)),
                          txCount: e.txCount, size: e.size, inBestChain: active, nextHash: next?.hex)
    }

    func header(_ ref: BlockRef) async throws -> HeaderInfo { await headerInfo(try await entry(ref)) }

    func block(_ ref: BlockRef) async throws -> BlockInfo {
        let e = try await entry(ref)
        let key = Data(e.hash.bytes)
        guard let raw = try await db.read({ db in try Data.fetchOne(db, sql: "SELECT raw FROM block WHERE hash = ?", arguments: [key]) }) else {
            throw RPCError.notFound("block \(e.hash.hex) has no stored body")
        }
        return BlockInfo(header: await headerInfo(e), hex: Hex.encode(raw))
    }

    func blocks(_ range: BlockRange) async throws -> [HeaderInfo] {
        let tipHeight = await chain.tip.height
        let start = min(range.startHeight ?? tipHeight, tipHeight)
        guard start >= 0 else { throw RPCError.badParams("start height must not be negative") }
        let count = max(0, min(range.count, 100))
        var out = [HeaderInfo]()
        var h = start
        while h >= 0 && out.count < count {
            if let hash = await chain.hashAt(height: h), let e = await chain.entry(hash) { out.append(await headerInfo(e)) }
            h -= 1
        }
        return out
    }

    /// A transaction of the best chain: its bytes alone are read, from where the tx index says they
    /// lie in the stored block (`start`, `size`), not the whole block decoded; a row without them, or
    /// bytes that are not this transaction, fall back to decoding the block.
    func transaction(_ ref: TxRef) async throws -> ConfirmedTx {
        guard let txid = Hash256(hex: ref.txid) else { throw RPCError.badParams("'\(ref.txid)' is not a 64-hex-digit txid") }
        let key = Data(txid.bytes)
        let found = try await db.read { db -> (block: Data, height: Int, position: Int, fee: Int64, header: Data, bytes: Data?)? in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT tx.block AS block, tx.height AS height, tx.position AS position, tx.fee AS fee, header.raw AS header,
                       substr(block.raw, tx.start + 1, tx.size) AS bytes
                FROM tx JOIN header ON header.hash = tx.block JOIN block ON block.hash = tx.block WHERE tx.txid = ?
                """, arguments: [key]) else { return nil }
            return (row["block"], row["height"], row["position"], row["fee"], row["header"], row["bytes"])
        }
        guard let found else { throw RPCError.notFound("transaction \(ref.txid) is not in the chain") }
        let header = try BlockHeader(bytes: Array(found.header))
        let blockHash = Hash256(bytes: Array(found.block))
        var bytes = found.bytes.map { Array($0) }
        if let b = bytes, (try? Transaction(bytes: b))?.txid != txid { bytes = nil }
        if bytes == nil { bytes = try await bytesDecodingBlock(blockHash, position: found.position) }
        guard let bytes else { throw RPCError("internal", "tx index points past the block") }
        return ConfirmedTx(txid: ref.txid, hex: Hex.encode(bytes), blockHash: blockHash.hex, height: found.height,
                           position: found.position, blockTime: header.time, fee: UInt64(found.fee))
    }

    /// The encoding of the transaction at `position` of a stored block, decoding the whole block.
    private func bytesDecodingBlock(_ hash: Hash256, position: Int) async throws -> [UInt8]? {
        guard let raw = try await db.read({ db in try Data.fetchOne(db, sql: "SELECT raw FROM block WHERE hash = ?", arguments: [Data(hash.bytes)]) }) else {
            return nil
        }
        let block = try Block(bytes: Array(raw))
        return position < block.transactions.count ? block.transactions[position].encoded : nil
    }

    func coins(_ list: OutpointList) async throws -> [CoinInfo?] {
        guard list.outpoints.count <= OutpointList.maxCount else { throw RPCError.badParams("at most \(OutpointList.maxCount) outpoints per call") }
        var ops = [OutPoint]()
        for text in list.outpoints {
            guard let op = OutPoint(text: text) else { throw RPCError.badParams("'\(text)' is not txid:index") }
            ops.append(op)
        }
        let found = try await chain.fetchCoins(ops)
        return ops.map { op in
            found[op].map { CoinInfo(txid: op.txid.hex, index: op.index, value: $0.output.value,
                                     publicKey: Hex.encode($0.output.publicKey), height: $0.height, coinbase: $0.isCoinbase) }
        }
    }

    /// The best chain's spender of each outpoint (nil: unspent, or not an output of the chain), in order.
    func spends(_ list: OutpointList) async throws -> [SpendInfo?] {
        guard list.outpoints.count <= OutpointList.maxCount else { throw RPCError.badParams("at most \(OutpointList.maxCount) outpoints per call") }
        var ops = [OutPoint]()
        for text in list.outpoints {
            guard let op = OutPoint(text: text) else { throw RPCError.badParams("'\(text)' is not txid:index") }
            ops.append(op)
        }
        let keys = ops.map { (Data($0.txid.bytes), $0.index) }
        let names = ops.map(\.description)
        return try await db.read { db in
            let stmt = try db.cachedStatement(sql: """
                SELECT spend.spender, spend.vin, spend.height, active.hash, header.raw FROM spend
                JOIN active ON active.height = spend.height JOIN header ON header.hash = active.hash
                WHERE spend.txid = ? AND spend.idx = ?
                """)
            return try keys.enumerated().map { i, k in
                guard let row = try Row.fetchOne(stmt, arguments: [k.0, k.1]) else { return nil }
                let header = try BlockHeader(bytes: Array(row[4] as Data))
                return SpendInfo(outpoint: names[i], txid: Hash256(bytes: Array(row[0] as Data)).hex,
                                 vin: UInt32(row[1] as Int64), height: row[2], blockHash: Hash256(bytes: Array(row[3] as Data)).hex,
                                 blockTime: header.time)
            }
        }
    }

    /// Per-block numbers of the best chain for the charts: the `count` blocks ending at `endHeight`.
    func blockStats(_ r: BlockStatsRequest) async throws -> [BlockStats] {
        guard r.count >= 1, r.count <= 10_000 else { throw RPCError.badParams("count must be 1 to 10,000") }
        let tipHeight = await chain.tip.height
        let end = min(r.endHeight ?? tipHeight, tipHeight)
        guard end >= 0 else { throw RPCError.badParams("end height must not be negative") }
        let start = max(0, end - r.count + 1)
        return try await db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT active.height, header.raw, header.size, header.tx_count,
                       (SELECT COALESCE(SUM(fee), 0) FROM tx WHERE tx.height = active.height) AS fees
                FROM active JOIN header ON header.hash = active.hash
                WHERE active.height BETWEEN ? AND ? ORDER BY active.height
                """, arguments: [start, end]).map { row in
                let header = try BlockHeader(bytes: Array(row[1] as Data))
                return BlockStats(height: row[0], time: header.time, size: row[2], txCount: row[3], fees: UInt64(row[4] as Int64),
                                  difficulty: difficulty(bits: header.bits), work: Double(CompactTarget.work(bits: header.bits)))
            }
        }
    }

    static func key(_ ref: String) throws -> Data {
        guard let k = Hex.decode(ref), k.count == 32 else { throw RPCError.badParams("public key must be 64 hex digits") }
        return Data(k)
    }

    func addressStats(_ ref: AddressRef) async throws -> AddressStats {
        let key = try Self.key(ref.publicKey)
        return try await db.read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT COALESCE(SUM(funded_n),0) AS fn, COALESCE(SUM(funded),0) AS f,
                       COALESCE(SUM(spent_n),0) AS sn, COALESCE(SUM(spent),0) AS s, COUNT(DISTINCT txid) AS n
                FROM addr WHERE pubkey = ?
                """, arguments: [key])!
            return AddressStats(fundedTxoCount: row["fn"], fundedTxoSum: UInt64(row["f"] as Int64),
                                spentTxoCount: row["sn"], spentTxoSum: UInt64(row["s"] as Int64), txCount: row["n"])
        }
    }

    func addressUTXOs(_ ref: AddressRef) async throws -> [CoinInfo] {
        let key = try Self.key(ref.publicKey)
        let pk = ref.publicKey.lowercased()
        return try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT txid, idx, value, height, coinbase FROM utxo WHERE pubkey = ? ORDER BY height, txid, idx LIMIT 5000",
                             arguments: [key]).map { row in
                CoinInfo(txid: Hash256(bytes: Array(row["txid"] as Data)).hex, index: UInt32(row["idx"] as Int64),
                         value: UInt64(row["value"] as Int64), publicKey: pk, height: row["height"], coinbase: row["coinbase"])
            }
        }
    }

    func addressTxs(_ p: AddressTxsParams) async throws -> [AddressTx] {
        let key = try Self.key(p.publicKey)
        let limit = max(1, min(p.limit, 100))
        var after: Data?
        if let a = p.afterTxid {
            guard let h = Hash256(hex: a) else { throw RPCError.badParams("'\(a)' is not a txid") }
            after = Data(h.bytes)
        }
        let afterKey = after
        return try await db.read { db in
            var cursor: (Int, Int)? = nil
            if let afterKey {
                guard let row = try Row.fetchOne(db, sql: "SELECT height, position FROM addr WHERE pubkey = ? AND txid = ?", arguments: [key, afterKey]) else {
                    throw RPCError.notFound("transaction is not in this address's history")
                }
                cursor = (row["height"], row["position"])
            }
            let rows: [Row]
            if let (h, pos) = cursor {
                rows = try Row.fetchAll(db, sql: """
                    SELECT addr.txid, addr.height, active.hash, header.raw FROM addr
                    JOIN active ON active.height = addr.height JOIN header ON header.hash = active.hash
                    WHERE addr.pubkey = ? AND (addr.height < ? OR (addr.height = ? AND addr.position < ?))
                    ORDER BY addr.height DESC, addr.position DESC LIMIT ?
                    """, arguments: [key, h, h, pos, limit])
            } else {
                rows = try Row.fetchAll(db, sql: """
                    SELECT addr.txid, addr.height, active.hash, header.raw FROM addr
                    JOIN active ON active.height = addr.height JOIN header ON header.hash = active.hash
                    WHERE addr.pubkey = ? ORDER BY addr.height DESC, addr.position DESC LIMIT ?
                    """, arguments: [key, limit])
            }
            return try rows.map { row in
                let header = try BlockHeader(bytes: Array(row[3] as Data))
                return AddressTx(txid: Hash256(bytes: Array(row[0] as Data)).hex, height: row[1],
                                 blockHash: Hash256(bytes: Array(row[2] as Data)).hex, blockTime: header.time)
            }
        }
    }

    /// The query's plan uses the index `trace_key` (the `+` keeps the planner from preferring a scan
    /// for the full id's equality), as the mempool's `MempoolStore.traceSQL`.
    static let traceSQL = "SELECT id, kind, stage, service, time, detail FROM trace WHERE substr(id, 1, 16) = ? AND +id = ? ORDER BY time, rowid"

    func trace(_ ref: TxRef) async throws -> [TraceEvent] {
        let id = ref.txid.lowercased()
        return try await db.read { db in
            var events = try ChainStorage.storedTrace(db, id)
            // A transaction's `connected` event on the best chain is derived, not stored (a block
            // connected by an older build stored it: then it is there already). It goes after the
            // events of its time or earlier, where its row would have been.
            if let connected = try ChainStorage.derivedConnected(db, txid: id), !events.contains(connected) {
                events.insert(connected, at: events.firstIndex { $0.time > connected.time } ?? events.endIndex)
            }
            return events
        }
    }

    /// Recomputes the UTXO set from the stored blocks of the best chain and
    /// compares it with the table, all in one read transaction (one snapshot,
    /// so a block connected meanwhile can't make a false mismatch).
    func verifyUTXO() async throws -> UTXOCheck {
        let (recomputed, stored) = try await db.read { db -> ([OutPoint: Coin], [OutPoint: Coin]) in
            var recomputed = [OutPoint: Coin]()
            let rows = try Row.fetchCursor(db, sql: """
                SELECT active.height AS height, block.raw AS raw FROM active JOIN block ON block.hash = active.hash
                WHERE active.height > 0 ORDER BY active.height
                """)
            while let row = try rows.next() {
                let height: Int = row["height"]
                let block = try Block(bytes: Array(row["raw"] as Data))
                for (pos, tx) in block.transactions.enumerated() {
                    if pos > 0 { for input in tx.inputs { recomputed[input.previousOutput] = nil } }
                    let txid = tx.txid
                    for (j, o) in tx.outputs.enumerated() {
                        recomputed[OutPoint(txid: txid, index: UInt32(j))] = Coin(output: o, height: height, isCoinbase: pos == 0)
                    }
                }
            }
            var stored = [OutPoint: Coin]()
            for row in try Row.fetchAll(db, sql: "SELECT txid, idx, value, pubkey, height, coinbase FROM utxo") {
                stored[OutPoint(txid: Hash256(bytes: Array(row["txid"] as Data)), index: UInt32(row["idx"] as Int64))] =
                    Coin(output: TxOutput(value: UInt64(row["value"] as Int64), publicKey: Array(row["pubkey"] as Data)),
                         height: row["height"], isCoinbase: row["coinbase"])
            }
            return (recomputed, stored)
        }
        var mismatches = [String]()
        for (op, coin) in recomputed where stored[op] != coin {
            mismatches.append("\(op): blocks say \(coin.output.value) at \(coin.height), table says \(stored[op].map { "\($0.output.value)" } ?? "missing")")
            if mismatches.count >= 20 { break }
        }
        for op in stored.keys where recomputed[op] == nil && mismatches.count < 20 {
            mismatches.append("\(op): in the table but spent or never created by the blocks")
        }
        return UTXOCheck(ok: mismatches.isEmpty && stored.count == recomputed.count, utxoCount: stored.count,
                         recomputedCount: recomputed.count, mismatches: mismatches)
    }
}

extension ChainQueries {
    /// `getrawblocks`: the stored bodies of the blocks the index knows among `hashes`, in request order,
    /// read in one database snapshot; stops before the block that would take the reply past
    /// `RawBlocksRequest.maxBytes` (the first block found is always given).
    func rawBlocks(_ request: RawBlocksRequest, maxBytes: Int = RawBlocksRequest.maxBytes) async throws -> RawBlocks {
        let hashes = try PeerRPC.hashes(request.hashes, limit: RawBlocksRequest.maxHashes)
        let known = zip(hashes, await chain.blockStates(hashes)).map { $1 != nil }
        let (found, looked) = try await db.read { db -> ([(Hash256, Data)], Int) in
            let stmt = try db.cachedStatement(sql: "SELECT raw FROM block WHERE hash = ?")
            var found = [(Hash256, Data)](), bytes = 0, looked = 0
            for (hash, isKnown) in zip(hashes, known) {
                if isKnown, let raw = try Data.fetchOne(stmt, arguments: [Data(hash.bytes)]) {
                    if !found.isEmpty && bytes + raw.count > maxBytes { break }
                    found.append((hash, raw))
                    bytes += raw.count
                }
                looked += 1
            }
            return (found, looked)
        }
        return RawBlocks(blocks: found.map { RawBlock(hash: $0.0.hex, hex: Hex.encode($0.1)) }, looked: looked)
    }
}
