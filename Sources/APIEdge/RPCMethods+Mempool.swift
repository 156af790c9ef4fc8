import ChainCore
import Foundation
import NodeKit

/// Raw transactions and the mempool: sendrawtransaction, testmempoolaccept, getrawmempool, …
extension RPCMethods {

    static let mempool: [RPCMethod] = [
        RPCMethod(name: .getrawtransaction, category: "Rawtransactions",
                  params: [.required("txid", .hex, "The transaction id"),
                           .optional("verbose", .boolOrInt, "0 (or false) for hex-encoded data, 1 (or true) for a JSON object", default: "0"),
                           .optional("blockhash", .hex, "The block in which to look for the transaction")],
                  summary: "Return the raw transaction data: from the mempool, the chain's transaction index, or the given block.",
                  result: "\"hex\" (verbose 0); {in_active_chain, txid, hash, version, size, vsize, weight, vin, vout, hex, blockhash, confirmations, time, blocktime} (verbose 1)",
                  resultSchema: ["oneOf": [objectSchema, ["type": "string"]]],
                  heavier: RPCHeavier(param: "verbose", defaultLevel: 0, levels: [(1, 2)])) { args, ctx in
            let txid = try args.hash("txid")
            let verbose = (args.level("verbose") ?? 0) > 0
            let network = ctx.backend.network
            async let tip = ctx.edge.currentTip()
            if args.value("blockhash") != nil {
                let blockHash = try args.hash("blockhash")
                let info: BlockInfo
                do {
                    info = try await ctx.backend.chain(.getblock, BlockRef(hash: blockHash), as: BlockInfo.self)
                } catch let e as APIError where e.status == .notFound {
                    throw RPCFault.invalidAddressOrKey("Block hash not found")
                }
                guard let raw = Hex.decode(info.hex), let block = try? Block(bytes: raw) else { throw RPCFault.internalError("undecodable block") }
                guard let tx = block.transactions.first(where: { $0.txid.hex == txid }) else {
                    throw RPCFault.invalidAddressOrKey("No such transaction found in the provided block.")
                }
                guard verbose else { return .string(Hex.encode(tx.encoded)) }
                guard case .object(var o) = txJSON(tx, network: network) else { return .null }
                o["in_active_chain"] = .bool(info.header.inBestChain)
                o["hex"] = .string(Hex.encode(tx.encoded))
                o["blockhash"] = .string(info.header.hash)
                let tipHeight = try await tip.height
                o["confirmations"] = RPCValue(info.header.inBestChain ? tipHeight - info.header.height + 1 : 0)
                o["time"] = RPCValue(Int(info.header.time))
                o["blocktime"] = RPCValue(Int(info.header.time))
                return .object(o)
            }
            if let c = try await ctx.backend.confirmedTx(txid) {
                guard verbose else { return .string(c.hex) }
                guard case .object(var o) = txJSON(try decodeTx(c.hex), network: network) else { return .null }
                o["hex"] = .string(c.hex)
                o["blockhash"] = .string(c.blockHash)
                let tipHeight = try await tip.height
                o["confirmations"] = RPCValue(tipHeight - c.height + 1)
                o["time"] = RPCValue(Int(c.blockTime))
                o["blocktime"] = RPCValue(Int(c.blockTime))
                return .object(o)
            }
            if let e = try await ctx.backend.mempoolEntry(txid) {
                guard verbose else { return .string(e.hex) }
                guard case .object(var o) = txJSON(try decodeTx(e.hex), network: network) else { return .null }
                o["hex"] = .string(e.hex)
                return .object(o)
            }
            throw RPCFault.invalidAddressOrKey("No such mempool or blockchain transaction")
        },
        RPCMethod(name: .sendrawtransaction, category: "Rawtransactions",
                  params: [.required("hexstring", .hex, "The hex string of the raw transaction"),
                           .optional("maxfeerate", .amount, "Reject transactions whose fee rate is higher than this, in CRN/kB; 0 accepts any", default: "0.10")],
                  summary: "Submit a raw transaction (serialized, hex-encoded) to the node's mempool, which relays it to its peers.\nAnswers its txid; a transaction already in the mempool answers its txid again.",
                  result: "\"hex\" (string) The transaction hash in hex", resultSchema: hashSchema, weight: 4) { args, ctx in
            let hex = args.string("hexstring") ?? ""
            guard let raw = Hex.decode(hex), let tx = try? Transaction(bytes: raw) else { throw RPCFault.deserialization("TX decode failed") }
            let txid = tx.txid
            let maxFee = maxFee(perKB: try maxFeeRate(args.double("maxfeerate")), size: raw.count)
            let edge = ctx.edge
            let receivedAt = ServiceSupport.now()
            edge.metrics.txSubmitted.increment()
            edge.stamps.received(txid, at: receivedAt, detail: "rpc sendrawtransaction")
            do {
                let result = try await ctx.backend.submitTx(raw: raw, receivedAt: receivedAt, maxFee: maxFee)
                edge.metrics.txAccepted.increment()
                return .string(result.txid)
            } catch let e as APIError where e.code == "queue-full" {
                throw SubmitQueue.fault(e)
            } catch let e as APIError where e.status == .badRequest {
                if e.code == MempoolRefusal.alreadyInPool.rawValue { return .string(txid.hex) }
                edge.metrics.txRejected(code: e.code)
                throw txFault(e)
            }
        },
        RPCMethod(name: .testmempoolaccept, category: "Rawtransactions",
                  params: [.required("rawtxs", .array, "An array of hex strings of raw transactions (1 to 25)"),
                           .optional("maxfeerate", .amount, "Reject transactions whose fee rate is higher than this, in CRN/kB; 0 accepts any", default: "0.10")],
                  summary: "Returns result of mempool acceptance tests indicating if the raw transactions would be accepted by the mempool, without adding them.\nEach is tested on its own against the current pool (not as a package).",
                  result: "[{txid, allowed, vsize, fees: {base}, reject-reason}]", resultSchema: ["type": "array"], weight: 4) { args, ctx in
            guard case .array(let list)? = args.value("rawtxs"), (1...25).contains(list.count) else {
                throw RPCFault.invalidParameter("Array must contain between 1 and 25 transactions.")
            }
            let perKB = try maxFeeRate(args.double("maxfeerate"))
            var out = [RPCValue]()
            for item in list {
                guard case .string(let hex) = item, let raw = Hex.decode(hex), let tx = try? Transaction(bytes: raw) else {
                    throw RPCFault.deserialization("TX decode failed")
                }
                let txid = tx.txid.hex
                let maxFee = maxFee(perKB: perKB, size: raw.count)
                do {
                    let r = try await ctx.backend.mempool(.testtx, SubmitTx(hex: hex, receivedAt: nil, maxFee: maxFee), as: SubmitTxResult.self)
                    out.append(["txid": .string(txid), "allowed": true, "vsize": RPCValue(r.size), "fees": ["base": .amount(r.fee)]])
                } catch let e as APIError where e.status == .badRequest {
                    out.append(["txid": .string(txid), "allowed": false, "reject-reason": .string(e.code)])
                }
            }
            return .array(out)
        },
        RPCMethod(name: .getmempoolinfo, category: "Blockchain", params: [],
                  summary: "Returns details on the active state of the TX memory pool.",
                  result: "{loaded, size, bytes, total_fee, mempoolminfee, minrelaytxfee, mempool_sequence}", resultSchema: objectSchema) { _, ctx in
            let m = try await ctx.backend.mempool(.getmempoolinfo, Empty(), as: MempoolInfo.self)
            let minFee = perKB(m.minFeeRate)
            return ["loaded": true, "size": RPCValue(m.count), "bytes": RPCValue(m.bytes), "total_fee": .amount(m.totalFee),
                    "mempoolminfee": minFee, "minrelaytxfee": minFee, "mempool_sequence": .int(Int64(clamping: m.mempoolSequence))]
        },
        RPCMethod(name: .getrawmempool, category: "Blockchain",
                  params: [.optional("verbose", .bool, "True for a json object, false for array of transaction ids", default: "false"),
                           .optional("mempool_sequence", .bool, "If verbose=false, returns a json object with transaction list and mempool sequence number attached.", default: "false")],
                  summary: "Returns all transaction ids in memory pool as a json array of string transaction ids.\nHint: use getmempoolentry to fetch a specific transaction from the mempool.",
                  result: "[\"txid\",…]; {txid: entry, …} (verbose); {txids, mempool_sequence} (mempool_sequence)",
                  resultSchema: ["oneOf": [["type": "array"], objectSchema]], weight: 2,
                  heavier: RPCHeavier(param: "verbose", defaultLevel: 0, levels: [(1, 4)])) { args, ctx in
            let verbose = args.bool("verbose") ?? false
            let sequence = args.bool("mempool_sequence") ?? false
            if verbose && sequence { throw RPCFault.invalidParameter("Verbose results cannot contain mempool sequence values.") }
            let snapshot = try await ctx.backend.mempool(.getrawmempool, Empty(), as: RawMempool.self)
            if sequence {
                return ["txids": .array(snapshot.txids.map { .string($0) }), "mempool_sequence": .int(Int64(clamping: snapshot.mempoolSequence))]
            }
            guard verbose else { return .array(snapshot.txids.map { .string($0) }) }
            let entries = try await withThrowingTaskGroup(of: MempoolEntry?.self) { group in
                var out = [String: RPCValue]()
                var pending = snapshot.txids[...]
                for _ in 0..<16 {
                    guard let t = pending.popFirst() else { break }
                    group.addTask { try await ctx.backend.mempoolEntry(t) }
                }
                while let e = try await group.next() {
                    if let e { out[e.txid] = entryJSON(e) }  // gone meanwhile (mined): left out
                    if let t = pending.popFirst() { group.addTask { try await ctx.backend.mempoolEntry(t) } }
                }
                return out
            }
            return .object(entries)
        },
        RPCMethod(name: .getmempoolentry, category: "Blockchain", params: [.required("txid", .hex, "The transaction id (must be in mempool)")],
                  summary: "Returns mempool data for given transaction.",
                  result: "{vsize, weight, time, fees: {base, modified}, depends}", resultSchema: objectSchema) { args, ctx in
            let txid = try args.hash("txid")
            guard let e = try await ctx.backend.mempoolEntry(txid) else { throw RPCFault.invalidAddressOrKey("Transaction not in mempool") }
            return entryJSON(e)
        },
    ]
}
