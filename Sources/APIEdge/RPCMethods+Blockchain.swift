import ChainCore
import Foundation
import NodeKit

/// Blocks, headers and the chain: getblockchaininfo, getblock, getblockheader, gettxout, …
extension RPCMethods {

    static let blockchain: [RPCMethod] = [
        RPCMethod(name: .getblockchaininfo, category: "Blockchain", params: [],
                  summary: "Returns an object containing various state info regarding blockchain processing.",
                  result: "{chain, blocks, headers, bestblockhash, difficulty, time, mediantime, verificationprogress, initialblockdownload, chainwork, pruned, warnings}",
                  resultSchema: objectSchema, weight: 2) { _, ctx in
            async let info = ctx.backend.chain(.getchaininfo, Empty(), as: ChainInfo.self)
            async let sync = ctx.backend.withDeadline(.milliseconds(800)) { try await ctx.rpc.peerCall(.getsync, Empty(), as: SyncStatus.self) }
            let (c, s) = try await (info, sync)
            let status = try? s.get()
            let headers = max(c.height, status?.bestPeerHeight ?? c.height)
            return [
                "chain": .string(chainName(c.network)), "blocks": RPCValue(c.height), "headers": RPCValue(headers),
                "bestblockhash": .string(c.tipHash), "difficulty": .double(c.difficulty), "time": RPCValue(Int(c.tipTime)),
                "mediantime": RPCValue(Int(c.medianTimePast)),
                "verificationprogress": .double(status.map { $0.progress } ?? 1),
                "initialblockdownload": .bool(status.map { $0.state != "idle" && $0.bestPeerHeight > $0.height } ?? false),
                "chainwork": .string(c.chainwork), "pruned": false, "warnings": "",
            ]
        },
        RPCMethod(name: .getblockcount, category: "Blockchain", params: [],
                  summary: "Returns the height of the most-work fully-validated chain.\nThe genesis block has height 0.",
                  result: "n (numeric) The current block count", resultSchema: ["type": "integer"]) { _, ctx in
            RPCValue(try await ctx.edge.currentTip().height)
        },
        RPCMethod(name: .getbestblockhash, category: "Blockchain", params: [],
                  summary: "Returns the hash of the best (tip) block in the most-work fully-validated chain.",
                  result: "\"hex\" (string) the block hash, hex-encoded", resultSchema: hashSchema) { _, ctx in
            .string(try await ctx.edge.currentTip().hash)
        },
        RPCMethod(name: .getblockhash, category: "Blockchain", params: [.required("height", .int, "The height index")],
                  summary: "Returns hash of block in best-block-chain at height provided.",
                  result: "\"hex\" (string) The block hash", resultSchema: hashSchema) { args, ctx in
            let height = args.int("height") ?? -1
            guard height >= 0 else { throw RPCFault.invalidParameter("Block height out of range") }
            do {
                return .string(try await ctx.backend.chain(.getheader, BlockRef(height: height), as: HeaderInfo.self).hash)
            } catch let e as APIError where e.status == .notFound {
                throw RPCFault.invalidParameter("Block height out of range")
            }
        },
        RPCMethod(name: .getblockheader, category: "Blockchain",
                  params: [.required("blockhash", .hex, "The block hash"),
                           .optional("verbose", .bool, "true for a json object, false for the hex-encoded data", default: "true")],
                  summary: "If verbose is false, returns a string that is serialized, hex-encoded data for blockheader 'hash'.\nIf verbose is true, returns an Object with information about blockheader <hash>.",
                  result: "{hash, confirmations, height, version, versionHex, merkleroot, time, nonce, bits, difficulty, chainwork, nTx, previousblockhash, nextblockhash} or \"hex\"",
                  resultSchema: ["oneOf": [objectSchema, ["type": "string"]]]) { args, ctx in
            let hash = try args.hash("blockhash")
            async let tip = ctx.edge.currentTip()
            let h = try await header(ctx, hash)
            if args.bool("verbose") == false {
                return .string(Hex.encode(try headerBytes(h)))
            }
            let tipHeight = try await tip.height
            return headerJSON(h, tipHeight: tipHeight)
        },
        RPCMethod(name: .getblock, category: "Blockchain",
                  params: [.required("blockhash", .hex, "The block hash"),
                           .optional("verbosity", .boolOrInt, "0 for hex-encoded data, 1 for a JSON object, 2 for a JSON object with transaction data", default: "1")],
                  summary: "If verbosity is 0, returns a string that is serialized, hex-encoded data for block 'hash'.\nIf verbosity is 1, returns an Object with information about block <hash>.\nIf verbosity is 2, returns an Object with information about block <hash> and information about each transaction, with its fee.",
                  result: "\"hex\" (verbosity 0); {hash, confirmations, size, strippedsize, weight, height, version, versionHex, merkleroot, tx, time, nonce, bits, difficulty, chainwork, nTx, previousblockhash, nextblockhash} (1: tx is the txids; 2: decoded transactions)",
                  resultSchema: ["oneOf": [objectSchema, ["type": "string"]]],
                  heavier: RPCHeavier(param: "verbosity", defaultLevel: 1, levels: [(1, 2), (2, 4)])) { args, ctx in
            let hash = try args.hash("blockhash")
            let verbosity = args.level("verbosity") ?? 1
            guard (0...3).contains(verbosity) else { throw RPCFault.invalidParameter("Verbosity must be 0, 1 or 2 (got \(verbosity))") }
            async let tip = ctx.edge.currentTip()
            let info: BlockInfo
            do {
                info = try await ctx.backend.chain(.getblock, BlockRef(hash: hash), as: BlockInfo.self)
            } catch let e as APIError where e.status == .notFound {
                throw RPCFault.invalidAddressOrKey("Block not found")
            }
            if verbosity == 0 { return .string(info.hex) }
            guard let raw = Hex.decode(info.hex), let block = try? Block(bytes: raw) else {
                throw RPCFault.internalError("the chain store returned an undecodable block")
            }
            let tipHeight = try await tip.height
            guard case .object(var o) = headerJSON(info.header, tipHeight: tipHeight) else { return .null }
            o["size"] = RPCValue(raw.count)
            o["strippedsize"] = RPCValue(raw.count)
            o["weight"] = RPCValue(raw.count * 4)
            if verbosity == 1 {
                o["tx"] = .array(block.txids.map { .string($0.hex) })
            } else {
                var known = [OutPoint: TxOutput]()
                for tx in block.transactions {
                    let txid = tx.txid
                    for (i, out) in tx.outputs.enumerated() { known[OutPoint(txid: txid, index: UInt32(i))] = out }
                }
                let prevouts = try await ctx.backend.prevouts(block.transactions.flatMap { $0.inputs.map(\.previousOutput) }, known: known)
                let network = ctx.backend.network
                o["tx"] = .array(block.transactions.map { tx in
                    var j = txJSON(tx, network: network)
                    if !tx.isCoinbase, let paid = fee(tx, prevouts: prevouts), case .object(var t) = j {
                        t["fee"] = .amount(paid)
                        j = .object(t)
                    }
                    return j
                })
            }
            return .object(o)
        },
        RPCMethod(name: .gettxout, category: "Blockchain",
                  params: [.required("txid", .hex, "The transaction id"), .required("n", .int, "vout number"),
                           .optional("include_mempool", .bool, "Whether to include the mempool. Note that an unspent output that is spent in the mempool won't appear.", default: "true")],
                  summary: "Returns details about an unspent transaction output.",
                  result: "null if the output is spent or does not exist; else {bestblock, confirmations, value, scriptPubKey: {hex, address, type}, coinbase}",
                  resultSchema: ["oneOf": [objectSchema, ["type": "null"]]], weight: 2) { args, ctx in
            let txid = try args.hash("txid")
            guard let n = args.int("n"), n >= 0, n <= Int(UInt32.max) else { throw RPCFault.invalidParameter("Invalid parameter, vout cannot be negative") }
            let includeMempool = args.bool("include_mempool") ?? true
            let tip = try await ctx.edge.currentTip()
            let network = ctx.backend.network
            let coins = try await ctx.backend.chain(.getcoins, OutpointList(outpoints: ["\(txid):\(n)"]), as: [CoinInfo?].self)
            if let coin = coins.first ?? nil {
                if includeMempool {
                    let spenders = try await ctx.backend.mempool(.getaddressmempool, AddressRef(publicKey: coin.publicKey), as: [MempoolEntry].self)
                    if spenders.contains(where: { $0.spent.contains { $0.txid.lowercased() == txid && Int($0.index) == n } }) { return .null }
                }
                guard let key = Hex.decode(coin.publicKey) else { throw RPCFault.internalError("undecodable coin") }
                return ["bestblock": .string(tip.hash), "confirmations": RPCValue(tip.height - coin.height + 1),
                        "value": .amount(coin.value), "scriptPubKey": scriptPubKey(key, network: network), "coinbase": .bool(coin.coinbase)]
            }
            guard includeMempool, let entry = try await ctx.backend.mempoolEntry(txid) else { return .null }
            let tx = try decodeTx(entry.hex)
            guard n < tx.outputs.count else { return .null }
            let out = tx.outputs[n]
            let spenders = try await ctx.backend.mempool(.getaddressmempool, AddressRef(publicKey: Hex.encode(out.publicKey)), as: [MempoolEntry].self)
            if spenders.contains(where: { $0.spent.contains { $0.txid.lowercased() == txid && Int($0.index) == n } }) { return .null }
            return ["bestblock": .string(tip.hash), "confirmations": 0, "value": .amount(out.value),
                    "scriptPubKey": scriptPubKey(out.publicKey, network: network), "coinbase": false]
        },
    ]
}
