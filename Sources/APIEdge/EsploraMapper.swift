import ChainCore
import Foundation
import NodeKit

/// Builds Esplora objects from what the services return (resolving prevouts as needed).
struct EsploraMapper: Sendable {
    let backend: Backend
    var network: Network { backend.network }

    /// Where a transaction is: the chain first, then the mempool.
    enum Found: Sendable {
        case confirmed(ConfirmedTx, Transaction)
        case unconfirmed(MempoolEntry, Transaction)
    }

    func find(_ txid: String) async throws -> Found {
        if let c = try await backend.confirmedTx(txid) { return .confirmed(c, try decodeTx(c.hex)) }
        if let e = try await backend.mempoolEntry(txid) { return .unconfirmed(e, try decodeTx(e.hex)) }
        throw APIError.notFound("transaction \(txid) is neither in the chain nor in the mempool")
    }

    func status(_ found: Found) -> EsploraTxStatus {
        switch found {
        case .confirmed(let c, _): return .confirmed(height: c.height, hash: c.blockHash, time: c.blockTime)
        case .unconfirmed: return .unconfirmed
        }
    }

    func esplora(_ found: Found) async throws -> EsploraTx {
        switch found {
        case .confirmed(let c, let tx): return try await esplora(confirmed: c, tx: tx)
        case .unconfirmed(let e, let tx): return esplora(entry: e, tx: tx)
        }
    }

    func esplora(confirmed c: ConfirmedTx, tx: Transaction) async throws -> EsploraTx {
        let txid = tx.txid
        backend.remember(tx, txid: txid)
        let prevouts = try await backend.prevouts(tx.inputs.map(\.previousOutput))
        return EsploraTx(tx, txid: txid, fee: c.fee, status: .confirmed(height: c.height, hash: c.blockHash, time: c.blockTime),
                         prevouts: prevouts, network: network)
    }

    func esplora(entry e: MempoolEntry, tx: Transaction) -> EsploraTx {
        var prevouts = [OutPoint: TxOutput]()
        for coin in e.spent {
            if let txid = Hash256(hex: coin.txid), let key = Hex.decode(coin.publicKey) {
                prevouts[OutPoint(txid: txid, index: coin.index)] = TxOutput(value: coin.value, publicKey: key)
            }
        }
        return EsploraTx(tx, txid: tx.txid, fee: e.fee, status: .unconfirmed, prevouts: prevouts, network: network)
    }

    /// Who spends each output of a transaction: the chain store's spend index, then the mempool.
    func outspends(_ found: Found, only vout: Int? = nil) async throws -> [EsploraOutspend] {
        let tx: Transaction
        let confirmed: Bool
        switch found {
        case .confirmed(_, let t): tx = t; confirmed = true
        case .unconfirmed(_, let t): tx = t; confirmed = false
        }
        let txid = tx.txid
        let indices = vout.map { [$0] } ?? Array(tx.outputs.indices)
        let list = OutpointList(outpoints: indices.map { OutPoint(txid: txid, index: UInt32($0)).description })
        // An unconfirmed transaction's outputs can only be spent in the mempool.
        async let chainSpends: [SpendInfo?] = confirmed ? backend.chain(.getspends, list, as: [SpendInfo?].self)
                                                        : Array(repeating: nil, count: indices.count)
        async let poolSpends = backend.mempool(.getspenders, list, as: [SpendInfo?].self)
        let (c, m) = try await (chainSpends, poolSpends)
        guard c.count == indices.count, m.count == indices.count else {
            throw APIError(.badGateway, "backend-error", "a service answered the wrong number of outpoints")
        }
        return zip(c, m).map { EsploraOutspend(chain: $0, mempool: $1) }
    }

    /// Confirmed transactions by txid, in the given order, built concurrently.
    func esplora(confirmedTxids txids: [String]) async throws -> [EsploraTx] {
        try await withThrowingTaskGroup(of: (Int, EsploraTx?).self) { group in
            for (i, txid) in txids.enumerated() {
                group.addTask {
                    guard let c = try await backend.confirmedTx(txid) else { return (i, nil) }
                    return (i, try await esplora(confirmed: c, tx: try decodeTx(c.hex)))
                }
            }
            var out = [EsploraTx?](repeating: nil, count: txids.count)
            for try await (i, tx) in group { out[i] = tx }
            return out.compactMap { $0 }
        }
    }

    /// A page of a block's transactions.
    func blockTxs(hash: String, start: Int, count: Int = 25) async throws -> [EsploraTx] {
        let info = try await backend.chain(.getblock, BlockRef(hash: hash), as: BlockInfo.self)
        guard let raw = Hex.decode(info.hex), let block = try? Block(bytes: raw) else {
            throw APIError(.badGateway, "backend-error", "the chain store returned an undecodable block")
        }
        guard start < block.transactions.count else { return [] }
        let page = Array(block.transactions[start..<min(block.transactions.count, start + count)])
        var known = [OutPoint: TxOutput]()
        for tx in block.transactions {
            let txid = tx.txid
            for (i, o) in tx.outputs.enumerated() { known[OutPoint(txid: txid, index: UInt32(i))] = o }
        }
        let prevouts = try await backend.prevouts(page.flatMap { $0.inputs.map(\.previousOutput) }, known: known)
        let status = EsploraTxStatus.confirmed(height: info.header.height, hash: info.header.hash, time: info.header.time)
        return page.map { EsploraTx($0, txid: $0.txid, fee: nil, status: status, prevouts: prevouts, network: network) }
    }

    func addressMempool(_ address: Address) async throws -> [MempoolEntry] {
        try await backend.mempool(.getaddressmempool, AddressRef(publicKey: Hex.encode(address.publicKey)), as: [MempoolEntry].self)
    }

    /// Confirmed UTXOs minus those spent in the mempool, plus unconfirmed outputs paying the address
    /// that no mempool transaction spends.
    func utxos(_ address: Address) async throws -> [EsploraUTXO] {
        let keyHex = Hex.encode(address.publicKey)
        async let confirmed = backend.chain(.getaddressutxos, AddressRef(publicKey: keyHex), as: [CoinInfo].self)
        async let pending = addressMempool(address)
        let (coins, entries) = try await (confirmed, pending)
        var spent = Set<String>()
        for e in entries { for c in e.spent { spent.insert("\(c.txid.lowercased()):\(c.index)") } }
        var out = coins.filter { !spent.contains("\($0.txid.lowercased()):\($0.index)") }.map {
            EsploraUTXO(txid: $0.txid, vout: $0.index, value: $0.value, status: .confirmed(height: $0.height, hash: nil, time: nil),
                        coinbase: $0.coinbase)
        }
        for e in entries.sorted(by: { $0.time < $1.time }) {
            guard let raw = Hex.decode(e.hex), let tx = try? Transaction(bytes: raw) else { continue }
            for (i, o) in tx.outputs.enumerated() where o.publicKey == address.publicKey && !spent.contains("\(e.txid.lowercased()):\(i)") {
                out.append(EsploraUTXO(txid: e.txid, vout: UInt32(i), value: o.value, status: .unconfirmed, coinbase: false))
            }
        }
        return out
    }

    func addressChainTxs(_ address: Address, after: String?, limit: Int = 25) async throws -> [EsploraTx] {
        let list = try await backend.chain(.getaddresstxs,
                                           AddressTxsParams(publicKey: Hex.encode(address.publicKey), afterTxid: after, limit: limit),
                                           as: [AddressTx].self)
        return try await esplora(confirmedTxids: list.map(\.txid))
    }

    func addressMempoolTxs(_ address: Address) async throws -> [EsploraTx] {
        try await addressMempool(address).sorted { $0.time > $1.time }.map { esplora(entry: $0, tx: try decodeTx($0.hex)) }
    }
}
