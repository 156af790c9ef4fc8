import ChainCore
import Foundation
import NodeKit

/// The JSON-RPC methods: Bitcoin Core's names, params and result shapes, answered from the same
/// services as the REST routes (chain store, mempool, peer bridge over the bus). Where Cairn differs
/// from Bitcoin (no scripts: an output pays a 32-byte Ed25519 key; no witness, no locktime) the shapes
/// keep Bitcoin's field names and leave out what does not exist (docs/PROTOCOL.md, JSON-RPC).
enum RPCMethods {
    static let hashSchema: RPCValue = ["type": "string", "pattern": "^[0-9a-f]{64}$"]
    static let objectSchema: RPCValue = ["type": "object"]

    static var all: [RPCMethod] { blockchain + mempool + mining + network + util + control + subscriptions }

    // MARK: Subscriptions (WebSocket)

    static func session(_ ctx: RPCContext, _ name: String) throws -> RPCSession {
        guard let s = ctx.session else {
            throw RPCFault.invalidRequest("\(name) is available over WebSocket only: connect to ws://<edge>/rpc")
        }
        return s
    }

    static let subscriptions: [RPCMethod] = [
        RPCMethod(name: "subscribe", category: "Subscriptions (WebSocket)",
                  params: [.required("kind", .string, "newHeads (blocks connected, and disconnected with removed=true), newTransactions (mempool entries), or addresses"),
                           .optional("addresses", .array, "For kind addresses: the addresses whose transactions (paying or spending) to push (at most 1,000)")],
                  summary: "Over WebSocket only: pushes {\"jsonrpc\":\"2.0\",\"method\":\"subscription\",\"params\":{\"subscription\":id,\"result\":…}} for each event.\nA connection that does not read its messages is closed (1008) when its queue is full.",
                  result: "\"id\" (string) The subscription id, for unsubscribe", resultSchema: ["type": "string"], weight: 10) { args, ctx in
            let s = try session(ctx, "subscribe")
            switch args.string("kind") ?? "" {
            case "newHeads": return .string(try s.hub.subscribe(s.id, .newHeads))
            case "newTransactions": return .string(try s.hub.subscribe(s.id, .newTransactions))
            case "addresses":
                guard case .array(let list)? = args.value("addresses"), !list.isEmpty, list.count <= RPCSubscriptions.maxAddressesPerSubscription else {
                    throw RPCFault.invalidParameter("addresses: give 1 to \(RPCSubscriptions.maxAddressesPerSubscription) addresses")
                }
                var keys = [[UInt8]: String]()
                for item in list {
                    guard case .string(let text) = item else { throw RPCFault.typeError("addresses must be strings") }
                    do {
                        let a = try Address(text, network: ctx.backend.network)
                        keys[a.publicKey] = a.string
                    } catch let e as AddressError {
                        throw RPCFault.invalidAddressOrKey("Invalid address \(text.prefix(100)): \(e.description)")
                    }
                }
                return .string(try s.hub.subscribe(s.id, .addresses(keys)))
            case let other:
                throw RPCFault.invalidParameter("unknown subscription kind '\(other.prefix(40))': newHeads, newTransactions or addresses")
            }
        },
        RPCMethod(name: "unsubscribe", category: "Subscriptions (WebSocket)", params: [.required("subscription", .string, "The id subscribe answered")],
                  summary: "Over WebSocket only: stops a subscription of this connection.", result: "true|false (boolean) Whether there was one",
                  resultSchema: ["type": "boolean"]) { args, ctx in
            let s = try session(ctx, "unsubscribe")
            return .bool(s.hub.unsubscribe(s.id, args.string("subscription") ?? ""))
        },
    ]

    // MARK: Blockchain

    static let blockchain: [RPCMethod] = [
        RPCMethod(name: "getblockchaininfo", category: "Blockchain", params: [],
                  summary: "Returns an object containing various state info regarding blockchain processing.",
                  result: "{chain, blocks, headers, bestblockhash, difficulty, time, mediantime, verificationprogress, initialblockdownload, chainwork, pruned, warnings}",
                  resultSchema: objectSchema, weight: 2) { _, ctx in
            async let info = ctx.backend.chain("getchaininfo", Empty(), as: ChainInfo.self)
            async let sync = ctx.backend.withDeadline(.milliseconds(800)) { try await ctx.rpc.peerCall("getsync", Empty(), as: SyncStatus.self) }
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
        RPCMethod(name: "getblockcount", category: "Blockchain", params: [],
                  summary: "Returns the height of the most-work fully-validated chain.\nThe genesis block has height 0.",
                  result: "n (numeric) The current block count", resultSchema: ["type": "integer"]) { _, ctx in
            RPCValue(try await ctx.edge.currentTip().height)
        },
        RPCMethod(name: "getbestblockhash", category: "Blockchain", params: [],
                  summary: "Returns the hash of the best (tip) block in the most-work fully-validated chain.",
                  result: "\"hex\" (string) the block hash, hex-encoded", resultSchema: hashSchema) { _, ctx in
            .string(try await ctx.edge.currentTip().hash)
        },
        RPCMethod(name: "getblockhash", category: "Blockchain", params: [.required("height", .int, "The height index")],
                  summary: "Returns hash of block in best-block-chain at height provided.",
                  result: "\"hex\" (string) The block hash", resultSchema: hashSchema) { args, ctx in
            let height = args.int("height") ?? -1
            guard height >= 0 else { throw RPCFault.invalidParameter("Block height out of range") }
            do {
                return .string(try await ctx.backend.chain("getheader", BlockRef(height: height), as: HeaderInfo.self).hash)
            } catch let e as APIError where e.status == .notFound {
                throw RPCFault.invalidParameter("Block height out of range")
            }
        },
        RPCMethod(name: "getblockheader", category: "Blockchain",
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
        RPCMethod(name: "getblock", category: "Blockchain",
                  params: [.required("blockhash", .hex, "The block hash"),
                           .optional("verbosity", .boolOrInt, "0 for hex-encoded data, 1 for a JSON object, 2 for a JSON object with transaction data", default: "1")],
                  summary: "If verbosity is 0, returns a string that is serialized, hex-encoded data for block 'hash'.\nIf verbosity is 1, returns an Object with information about block <hash>.\nIf verbosity is 2, returns an Object with information about block <hash> and information about each transaction, with its fee.",
                  result: "\"hex\" (verbosity 0); {hash, confirmations, size, strippedsize, weight, height, version, versionHex, merkleroot, tx, time, nonce, bits, difficulty, chainwork, nTx, previousblockhash, nextblockhash} (1: tx is the txids; 2: decoded transactions)",
                  resultSchema: ["oneOf": [objectSchema, ["type": "string"]]], weight: 4) { args, ctx in
            let hash = try args.hash("blockhash")
            let verbosity = args.level("verbosity") ?? 1
            guard (0...3).contains(verbosity) else { throw RPCFault.invalidParameter("Verbosity must be 0, 1 or 2 (got \(verbosity))") }
            async let tip = ctx.edge.currentTip()
            let info: BlockInfo
            do {
                info = try await ctx.backend.chain("getblock", BlockRef(hash: hash), as: BlockInfo.self)
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
        RPCMethod(name: "gettxout", category: "Blockchain",
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
            let coins = try await ctx.backend.chain("getcoins", OutpointList(outpoints: ["\(txid):\(n)"]), as: [CoinInfo?].self)
            if let coin = coins.first ?? nil {
                if includeMempool {
                    let spenders = try await ctx.backend.mempool("getaddressmempool", AddressRef(publicKey: coin.publicKey), as: [MempoolEntry].self)
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
            let spenders = try await ctx.backend.mempool("getaddressmempool", AddressRef(publicKey: Hex.encode(out.publicKey)), as: [MempoolEntry].self)
            if spenders.contains(where: { $0.spent.contains { $0.txid.lowercased() == txid && Int($0.index) == n } }) { return .null }
            return ["bestblock": .string(tip.hash), "confirmations": 0, "value": .amount(out.value),
                    "scriptPubKey": scriptPubKey(out.publicKey, network: network), "coinbase": false]
        },
    ]

    // MARK: Raw transactions and mempool

    static let mempool: [RPCMethod] = [
        RPCMethod(name: "getrawtransaction", category: "Rawtransactions",
                  params: [.required("txid", .hex, "The transaction id"),
                           .optional("verbose", .boolOrInt, "0 (or false) for hex-encoded data, 1 (or true) for a JSON object", default: "0"),
                           .optional("blockhash", .hex, "The block in which to look for the transaction")],
                  summary: "Return the raw transaction data: from the mempool, the chain's transaction index, or the given block.",
                  result: "\"hex\" (verbose 0); {in_active_chain, txid, hash, version, size, vsize, weight, vin, vout, hex, blockhash, confirmations, time, blocktime} (verbose 1)",
                  resultSchema: ["oneOf": [objectSchema, ["type": "string"]]], weight: 2) { args, ctx in
            let txid = try args.hash("txid")
            let verbose = (args.level("verbose") ?? 0) > 0
            let network = ctx.backend.network
            async let tip = ctx.edge.currentTip()
            if args.value("blockhash") != nil {
                let blockHash = try args.hash("blockhash")
                let info: BlockInfo
                do {
                    info = try await ctx.backend.chain("getblock", BlockRef(hash: blockHash), as: BlockInfo.self)
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
        RPCMethod(name: "sendrawtransaction", category: "Rawtransactions",
                  params: [.required("hexstring", .hex, "The hex string of the raw transaction"),
                           .optional("maxfeerate", .amount, "Reject transactions whose fee rate is higher than this, in CRN/kB; 0 accepts any", default: "0.10")],
                  summary: "Submit a raw transaction (serialized, hex-encoded) to the node's mempool, which relays it to its peers.\nAnswers its txid; a transaction already in the mempool answers its txid again.",
                  result: "\"hex\" (string) The transaction hash in hex", resultSchema: hashSchema) { args, ctx in
            let hex = args.string("hexstring") ?? ""
            guard let raw = Hex.decode(hex), let tx = try? Transaction(bytes: raw) else { throw RPCFault.deserialization("TX decode failed") }
            let txid = tx.txid
            let maxRate = args.double("maxfeerate") ?? 0.10
            guard maxRate >= 0 else { throw RPCFault.typeError("Amount out of range") }
            try await checkMaxFeeRate(tx, size: raw.count, maxRate: maxRate, ctx: ctx)
            let edge = ctx.edge
            let receivedAt = ServiceSupport.now()
            edge.metrics.txSubmitted.increment()
            edge.stamps.record(TraceEvent(id: txid.hex, kind: "tx", stage: "received", service: "edge", time: receivedAt, detail: "rpc sendrawtransaction"))
            do {
                let result = try await ctx.backend.mempool("submittx", SubmitTx(hex: hex, receivedAt: receivedAt), as: SubmitTxResult.self)
                edge.metrics.txAccepted.increment()
                return .string(result.txid)
            } catch let e as APIError where e.status == .badRequest {
                if e.code == "txn-already-in-mempool" { return .string(txid.hex) }
                edge.metrics.txRejected(code: e.code)
                throw txFault(e)
            }
        },
        RPCMethod(name: "testmempoolaccept", category: "Rawtransactions",
                  params: [.required("rawtxs", .array, "An array of hex strings of raw transactions (1 to 25)"),
                           .optional("maxfeerate", .amount, "Reject transactions whose fee rate is higher than this, in CRN/kB; 0 accepts any", default: "0.10")],
                  summary: "Returns result of mempool acceptance tests indicating if the raw transactions would be accepted by the mempool, without adding them.\nEach is tested on its own against the current pool (not as a package).",
                  result: "[{txid, allowed, vsize, fees: {base}, reject-reason}]", resultSchema: ["type": "array"], weight: 4) { args, ctx in
            guard case .array(let list)? = args.value("rawtxs"), (1...25).contains(list.count) else {
                throw RPCFault.invalidParameter("Array must contain between 1 and 25 transactions.")
            }
            let maxRate = args.double("maxfeerate") ?? 0.10
            var out = [RPCValue]()
            for item in list {
                guard case .string(let hex) = item, let raw = Hex.decode(hex), let tx = try? Transaction(bytes: raw) else {
                    throw RPCFault.deserialization("TX decode failed")
                }
                let txid = tx.txid.hex
                do {
                    try await checkMaxFeeRate(tx, size: raw.count, maxRate: maxRate, ctx: ctx)
                    let r = try await ctx.backend.mempool("testtx", SubmitTx(hex: hex, receivedAt: nil), as: SubmitTxResult.self)
                    out.append(["txid": .string(txid), "allowed": true, "vsize": RPCValue(r.size), "fees": ["base": .amount(r.fee)]])
                } catch let e as APIError where e.status == .badRequest {
                    out.append(["txid": .string(txid), "allowed": false, "reject-reason": .string(e.code)])
                } catch let f as RPCFault where f.code == RPCFault.verifyErrorCode && f.message.hasPrefix("max-fee-exceeded") {
                    out.append(["txid": .string(txid), "allowed": false, "reject-reason": "max-fee-exceeded"])
                }
            }
            return .array(out)
        },
        RPCMethod(name: "getmempoolinfo", category: "Blockchain", params: [],
                  summary: "Returns details on the active state of the TX memory pool.",
                  result: "{loaded, size, bytes, total_fee, mempoolminfee, minrelaytxfee, mempool_sequence}", resultSchema: objectSchema) { _, ctx in
            let m = try await ctx.backend.mempool("getmempoolinfo", Empty(), as: MempoolInfo.self)
            let minFee = perKB(m.minFeeRate)
            return ["loaded": true, "size": RPCValue(m.count), "bytes": RPCValue(m.bytes), "total_fee": .amount(m.totalFee),
                    "mempoolminfee": minFee, "minrelaytxfee": minFee, "mempool_sequence": .int(Int64(clamping: m.mempoolSequence))]
        },
        RPCMethod(name: "getrawmempool", category: "Blockchain",
                  params: [.optional("verbose", .bool, "True for a json object, false for array of transaction ids", default: "false"),
                           .optional("mempool_sequence", .bool, "If verbose=false, returns a json object with transaction list and mempool sequence number attached.", default: "false")],
                  summary: "Returns all transaction ids in memory pool as a json array of string transaction ids.\nHint: use getmempoolentry to fetch a specific transaction from the mempool.",
                  result: "[\"txid\",…]; {txid: entry, …} (verbose); {txids, mempool_sequence} (mempool_sequence)",
                  resultSchema: ["oneOf": [["type": "array"], objectSchema]], weight: 4) { args, ctx in
            let verbose = args.bool("verbose") ?? false
            let sequence = args.bool("mempool_sequence") ?? false
            if verbose && sequence { throw RPCFault.invalidParameter("Verbose results cannot contain mempool sequence values.") }
            let snapshot = try await ctx.backend.mempool("getrawmempool", Empty(), as: RawMempool.self)
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
        RPCMethod(name: "getmempoolentry", category: "Blockchain", params: [.required("txid", .hex, "The transaction id (must be in mempool)")],
                  summary: "Returns mempool data for given transaction.",
                  result: "{vsize, weight, time, fees: {base, modified}, depends}", resultSchema: objectSchema) { args, ctx in
            let txid = try args.hash("txid")
            guard let e = try await ctx.backend.mempoolEntry(txid) else { throw RPCFault.invalidAddressOrKey("Transaction not in mempool") }
            return entryJSON(e)
        },
    ]

    // MARK: Mining

    static let mining: [RPCMethod] = [
        RPCMethod(name: "getblocktemplate", category: "Mining",
                  params: [.optional("template_request", .object, "{\"mode\": \"template\", \"longpollid\": \"…\"}: with the longpollid of a previous answer, waits (up to 60 s) until the tip or the mempool's work changes", default: "{}")],
                  summary: "Returns data needed to construct a block to work on (BIP 22/23 shape).\nThe coinbase is the miner's to build: its first input's payload starts with the height (u32 LE), as docs/PROTOCOL.md requires.",
                  result: "{version, rules, previousblockhash, transactions: [{data, txid, hash, depends, weight}], coinbasevalue, longpollid, target, mintime, mutable, noncerange, sizelimit, curtime, bits, height}",
                  resultSchema: objectSchema, weight: 4) { args, ctx in
            var longPollID: String?
            if case .object(let request)? = args.value("template_request") {
                if let mode = request["mode"], mode != .null {
                    guard case .string(let m) = mode else { throw RPCFault.invalidParameter("Invalid mode") }
                    guard m == "template" else { throw RPCFault.invalidParameter("Invalid mode: only \"template\" is supported") }
                }
                if let id = request["longpollid"], id != .null {
                    guard case .string(let s) = id else { throw RPCFault.typeError("longpollid must be a string") }
                    longPollID = s
                }
            }
            if ctx.backend.network == .main {
                let peers = try await ctx.rpc.peerCall("getpeers", Empty(), as: PeerList.self)
                if peers.peers.isEmpty { throw RPCFault(RPCFault.clientNotConnectedCode, "Cairn is not connected!") }
                let sync = try await ctx.rpc.peerCall("getsync", Empty(), as: SyncStatus.self)
                if sync.bestPeerHeight > sync.height { throw RPCFault(RPCFault.clientInInitialDownloadCode, "Cairn is in initial sync and waiting for blocks...") }
            }
            let request = TemplateRequest(minerID: "rpc-getblocktemplate", address: "", hashrate: 0, threads: 0)
            var t = try await ctx.backend.mempool("getblocktemplate", request, as: BlockTemplate.self)
            if let longPollID {
                let deadline = ContinuousClock.now + .seconds(60)
                while longPollID == "\(t.previousHash)\(t.mempoolSequence)" && ContinuousClock.now < deadline && !Task.isCancelled {
                    await ctx.rpc.longPoll.wait(timeout: deadline - ContinuousClock.now)
                    t = try await ctx.backend.mempool("getblocktemplate", request, as: BlockTemplate.self)
                }
            }
            return templateJSON(t)
        },
        RPCMethod(name: "submitblock", category: "Mining",
                  params: [.required("hexdata", .hex, "the hex-encoded block data to submit"), .optional("dummy", .string, "ignored (bitcoind's workid)")],
                  summary: "Attempts to submit new block to network.",
                  result: "null if accepted; else a string: duplicate, duplicate-invalid, inconclusive (stored on a side chain), or the rule it broke (e.g. high-hash)",
                  resultSchema: ["oneOf": [["type": "null"], ["type": "string"]]], weight: 4, operatorOnly: true) { args, ctx in
            guard let raw = Hex.decode(args.string("hexdata") ?? ""), let block = try? Block(bytes: raw) else {
                throw RPCFault.deserialization("Block decode failed")
            }
            guard block.transactions.first?.isCoinbase == true else { throw RPCFault.deserialization("Block does not start with a coinbase") }
            let r = try await ctx.backend.chain("submitblock", SubmitBlock(hex: Hex.encode(raw), source: "rpc"), as: SubmitBlockResult.self)
            // BIP 22: null only for a block that became the tip; "inconclusive" for one stored on a side branch.
            if let reason = r.reason { return .string(reason) }
            return r.accepted ? .null : .string("rejected")
        },
        RPCMethod(name: "getmininginfo", category: "Mining", params: [],
                  summary: "Returns a json object containing mining-related information.",
                  result: "{blocks, difficulty, networkhashps, pooledtx, chain, warnings}", resultSchema: objectSchema, weight: 2) { _, ctx in
            async let info = ctx.backend.chain("getchaininfo", Empty(), as: ChainInfo.self)
            async let pool = ctx.backend.mempool("getmempoolinfo", Empty(), as: MempoolInfo.self)
            async let recent = ctx.backend.chain("getblocks", BlockRange(startHeight: nil, count: 121), as: [HeaderInfo].self)
            let (c, m, headers) = try await (info, pool, recent)
            return ["blocks": RPCValue(c.height), "difficulty": .double(c.difficulty), "networkhashps": .double(networkHashRate(headers)),
                    "pooledtx": RPCValue(m.count), "chain": .string(chainName(c.network)), "warnings": ""]
        },
        RPCMethod(name: "estimatesmartfee", category: "Util",
                  params: [.required("conf_target", .int, "Confirmation target in blocks (1 - 1008)"),
                           .optional("estimate_mode", .string, "unset, economical or conservative (the same estimate here)", default: "unset")],
                  summary: "Estimates the fee per kilobyte needed for a transaction to begin confirmation within conf_target blocks, from the mempool's fee histogram (as GET /api/fee-estimates).",
                  result: "{feerate (CRN/kB), blocks}", resultSchema: objectSchema) { args, ctx in
            guard let target = args.int("conf_target"), (1...1008).contains(target) else {
                throw RPCFault.invalidParameter("Invalid conf_target, must be between 1 and 1008")
            }
            let mode = (args.string("estimate_mode") ?? "unset").lowercased()
            guard ["unset", "economical", "conservative"].contains(mode) else {
                throw RPCFault.invalidParameter("Invalid estimate_mode parameter, must be one of: \"unset\", \"economical\", \"conservative\"")
            }
            let m = try await ctx.backend.mempool("getmempoolinfo", Empty(), as: MempoolInfo.self)
            let estimates = FeeEstimator.estimates(histogram: m.feeHistogram, minFeeRate: m.minFeeRate)
            let blocks = FeeEstimator.targets.first { $0 >= target } ?? FeeEstimator.targets.last!
            guard let rate = estimates[String(blocks)] else { return ["errors": ["Insufficient data or no feerate found"], "blocks": RPCValue(blocks)] }
            return ["feerate": perKB(rate), "blocks": RPCValue(blocks)]
        },
    ]

    // MARK: Network

    static let network: [RPCMethod] = [
        RPCMethod(name: "getnetworkinfo", category: "Network", params: [],
                  summary: "Returns an object containing various state info regarding P2P networking (the peer bridge's).",
                  result: "{version, subversion, connections, connections_in, connections_out, relayfee, incrementalfee, localaddresses, warnings}",
                  resultSchema: objectSchema, weight: 2) { _, ctx in
            async let pool = ctx.backend.mempool("getmempoolinfo", Empty(), as: MempoolInfo.self)
            let peers: PeerList?
            do { peers = try await ctx.rpc.peerCall("getpeers", Empty(), as: PeerList.self) } catch let f as RPCFault where f.code == RPCFault.p2pDisabledCode { peers = nil }
            let m = try await pool
            let list = peers?.peers ?? []
            let inbound = list.filter { $0.direction == "inbound" }.count
            var local = [RPCValue]()
            if let listen = peers?.listen, let url = URL(string: listen), let host = url.host {
                local.append(["address": .string(host), "port": RPCValue(url.port ?? 0), "score": 1])
            }
            let relay = perKB(m.minFeeRate)
            return ["version": RPCValue(versionNumber), "subversion": .string("/Cairn:\(NodeRoutes.version)/"),
                    "connections": RPCValue(list.count), "connections_in": RPCValue(inbound), "connections_out": RPCValue(list.count - inbound),
                    "relayfee": relay, "incrementalfee": relay, "localaddresses": .array(local),
                    "warnings": peers == nil ? "the peer bridge does not answer: no P2P" : ""]
        },
        RPCMethod(name: "getpeerinfo", category: "Network", params: [],
                  summary: "Returns data about each connected network peer as a json array of objects.",
                  result: "[{id, addr, inbound, connection_type, conntime, lastrecv, bytessent, bytesrecv, pingtime, version, subver, startingheight, synced_blocks, banscore}]",
                  resultSchema: ["type": "array"]) { _, ctx in
            let peers = try await ctx.rpc.peerCall("getpeers", Empty(), as: PeerList.self)
            return .array(peers.peers.map { p in
                var o: [String: RPCValue] = [
                    "id": RPCValue(p.id), "addr": .string(p.address), "inbound": .bool(p.direction == "inbound"),
                    "connection_type": p.direction == "inbound" ? "inbound" : "outbound-full-relay",
                    "conntime": RPCValue(Int(p.connectedAt)), "lastrecv": RPCValue(Int(p.lastMessageAt)),
                    "bytessent": RPCValue(p.bytesOut), "bytesrecv": RPCValue(p.bytesIn), "version": .int(Int64(p.protocolVersion)),
                    "subver": .string(p.userAgent), "startingheight": RPCValue(p.startHeight), "synced_blocks": RPCValue(p.bestHeight),
                    "banscore": RPCValue(p.score),
                ]
                if let ping = p.pingTime { o["pingtime"] = .double(ping) }
                return .object(o)
            })
        },
        RPCMethod(name: "getconnectioncount", category: "Network", params: [],
                  summary: "Returns the number of connections to other nodes.", result: "n (numeric) The connection count",
                  resultSchema: ["type": "integer"]) { _, ctx in
            RPCValue(try await ctx.rpc.peerCall("getpeers", Empty(), as: PeerList.self).peers.count)
        },
    ]

    // MARK: Util and control

    static let util: [RPCMethod] = [
        RPCMethod(name: "validateaddress", category: "Util", params: [.required("address", .string, "The Cairn address to validate")],
                  summary: "Return information about the given Cairn address (bech32m of an Ed25519 public key).",
                  result: "{isvalid, address, scriptPubKey (the public key, hex), isscript, iswitness} or {isvalid: false, error}",
                  resultSchema: objectSchema) { args, ctx in
            let text = args.string("address") ?? ""
            do {
                let a = try Address(text, network: ctx.backend.network)
                return ["isvalid": true, "address": .string(a.string), "scriptPubKey": .string(Hex.encode(a.publicKey)),
                        "isscript": false, "iswitness": false]
            } catch let e as AddressError {
                return ["isvalid": false, "error": .string(e.description), "error_locations": []]
            }
        },
    ]

    static let control: [RPCMethod] = [
        RPCMethod(name: "uptime", category: "Control", params: [],
                  summary: "Returns the total uptime of the server (this edge).", result: "n (numeric) The number of seconds that the server has been running",
                  resultSchema: ["type": "integer"]) { _, ctx in
            RPCValue(Int((ContinuousClock.now - ctx.rpc.startedAt).components.seconds))
        },
        RPCMethod(name: "help", category: "Control", params: [.optional("command", .string, "The command to get help on", default: "all commands")],
                  summary: "List all commands, or get help for a specified command.", result: "\"text\" (string) The help text",
                  resultSchema: ["type": "string"]) { args, ctx in
            guard let name = args.string("command") else { return .string(ctx.methods.overview) }
            guard let m = ctx.methods.method(name) else { return .string("help: unknown command: \(name.prefix(80))") }
            return .string(m.help)
        },
        RPCMethod(name: "rpc.discover", category: "Control", params: [],
                  summary: "The OpenRPC document of these methods (built from the same table as help).",
                  result: "{openrpc, info, methods}", resultSchema: objectSchema) { _, ctx in
            ctx.methods.openRPC(version: NodeRoutes.version, network: ctx.backend.network.rawValue)
        },
        RPCMethod(name: "addnode", category: "Network",
                  params: [.required("node", .string, "The peer to connect to: host:port, or ws://host:port"),
                           .required("command", .string, "'add' or 'onetry' (Cairn's peer bridge keeps a peer it was given)")],
                  summary: "Asks the peer bridge to connect to a node (peer.rpc addpeer).", result: "null",
                  resultSchema: ["type": "null"], operatorOnly: true) { args, ctx in
            let node = (args.string("node") ?? "").trimmingCharacters(in: .whitespaces)
            let command = args.string("command") ?? ""
            guard command == "add" || command == "onetry" else {
                throw RPCFault.invalidParameter("Error: command must be 'add' or 'onetry' (a peer cannot be removed here)")
            }
            let url = node.hasPrefix("ws://") || node.hasPrefix("wss://") ? node : "ws://\(node)"
            guard !node.isEmpty, let parsed = URL(string: url), parsed.host != nil, parsed.port != nil else {
                throw RPCFault(-30, "Error: invalid node address '\(node.prefix(80))': use host:port or ws://host:port")
            }
            _ = try await ctx.rpc.peerCall("addpeer", AddPeer(url: url), as: Empty.self)
            return .null
        },
        RPCMethod(name: "setnetworkactive", category: "Network", params: [.required("state", .bool, "true to enable networking, false to disable")],
                  summary: "Disable/enable all p2p network activity (the peer bridge drops every peer and dials none while off).",
                  result: "true|false (boolean) The value that was passed in", resultSchema: ["type": "boolean"], operatorOnly: true) { args, ctx in
            let state = args.bool("state") ?? true
            return .bool(try await ctx.rpc.peerCall("setnetworkactive", NetworkActive(active: state), as: NetworkActive.self).active)
        },
    ]

    // MARK: shapes

    /// A fee rate in base units per byte as bitcoind shows one: CRN per kilobyte, 8 decimals.
    static func perKB(_ unitsPerByte: Double) -> RPCValue {
        .amount(unitsPerByte.isFinite && unitsPerByte > 0 ? UInt64((unitsPerByte * 1000).rounded()) : 0)
    }

    /// Bitcoin Core's chain names.
    static func chainName(_ network: String) -> String { network == "testnet" ? "test" : network }

    /// 0.1.0 → 100, as bitcoind's 270000 for 27.0.0.
    static var versionNumber: Int {
        let parts = NodeRoutes.version.split(separator: ".").compactMap { Int($0) } + [0, 0, 0]
        return parts[0] * 10_000 + parts[1] * 100 + parts[2]
    }

    static func header(_ ctx: RPCContext, _ hash: String) async throws -> HeaderInfo {
        do {
            return try await ctx.backend.chain("getheader", BlockRef(hash: hash), as: HeaderInfo.self)
        } catch let e as APIError where e.status == .notFound {
            throw RPCFault.invalidAddressOrKey("Block not found")
        }
    }

    static func headerBytes(_ h: HeaderInfo) throws -> [UInt8] {
        guard let prev = Hash256(hex: h.previousHash), let root = Hash256(hex: h.merkleRoot) else {
            throw RPCFault.internalError("the chain store returned an undecodable header")
        }
        return BlockHeader(version: h.version, previousHash: prev, merkleRoot: root, time: h.time, bits: h.bits, nonce: h.nonce).encoded
    }

    static func headerJSON(_ h: HeaderInfo, tipHeight: Int) -> RPCValue {
        var o: [String: RPCValue] = [
            "hash": .string(h.hash), "confirmations": RPCValue(h.inBestChain ? tipHeight - h.height + 1 : -1), "height": RPCValue(h.height),
            "version": .int(Int64(h.version)), "versionHex": .string(String(format: "%08x", UInt32(bitPattern: h.version))),
            "merkleroot": .string(h.merkleRoot), "time": RPCValue(Int(h.time)), "nonce": .int(Int64(h.nonce)),
            "bits": .string(String(format: "%08x", h.bits)), "difficulty": .double(h.difficulty), "chainwork": .string(h.chainwork),
            "nTx": RPCValue(h.txCount),
        ]
        if h.height > 0 { o["previousblockhash"] = .string(h.previousHash) }
        if let next = h.nextHash { o["nextblockhash"] = .string(next) }
        return .object(o)
    }

    /// An output's "script": Cairn pays a public key, so the hex is the 32-byte key.
    static func scriptPubKey(_ key: [UInt8], network: Network) -> RPCValue {
        var o: [String: RPCValue] = ["hex": .string(Hex.encode(key)), "type": "ed25519"]
        if key.count == Limits.publicKeySize { o["address"] = .string(Address(publicKey: key, network: network).string) }
        return .object(o)
    }

    static func txJSON(_ tx: Transaction, network: Network) -> RPCValue {
        let txid = tx.txid.hex
        let size = tx.encodedSize
        return [
            "txid": .string(txid), "hash": .string(txid), "version": .int(Int64(tx.version)), "size": RPCValue(size), "vsize": RPCValue(size),
            "weight": RPCValue(size * 4),
            "vin": .array(tx.inputs.map { i -> RPCValue in
                i.previousOutput.isNull
                    ? ["coinbase": .string(Hex.encode(i.payload))]
                    : ["txid": .string(i.previousOutput.txid.hex), "vout": .int(Int64(i.previousOutput.index)), "signature": .string(Hex.encode(i.payload))]
            }),
            "vout": .array(tx.outputs.enumerated().map { n, o -> RPCValue in
                ["value": .amount(o.value), "n": RPCValue(n), "scriptPubKey": scriptPubKey(o.publicKey, network: network)]
            }),
        ]
    }

    static func fee(_ tx: Transaction, prevouts: [OutPoint: TxOutput]) -> UInt64? {
        var inSum: UInt64 = 0
        for i in tx.inputs {
            guard let p = prevouts[i.previousOutput] else { return nil }
            inSum &+= p.value
        }
        let outSum = tx.outputs.reduce(UInt64(0)) { $0 &+ $1.value }
        return inSum >= outSum ? inSum - outSum : nil
    }

    static func entryJSON(_ e: MempoolEntry) -> RPCValue {
        ["vsize": RPCValue(e.size), "weight": RPCValue(e.size * 4), "time": RPCValue(Int(e.time)),
         "fees": ["base": .amount(e.fee), "modified": .amount(e.fee)], "depends": .array(e.depends.map { .string($0) })]
    }

    static func templateJSON(_ t: BlockTemplate) -> RPCValue {
        var index = [String: Int]()
        for (i, txid) in t.txids.enumerated() { index[txid] = i + 1 }
        let txs: [RPCValue] = zip(t.transactions, t.txids).map { hex, txid in
            var depends = Set<Int>()
            if let raw = Hex.decode(hex), let tx = try? Transaction(bytes: raw) {
                for input in tx.inputs { if let d = index[input.previousOutput.txid.hex] { depends.insert(d) } }
            }
            return ["data": .string(hex), "txid": .string(txid), "hash": .string(txid), "depends": .array(depends.sorted().map { RPCValue($0) }),
                    "weight": RPCValue(hex.utf8.count / 2 * 4)]
        }
        let target = CompactTarget.hashValue(CompactTarget.decode(t.bits).target).hex
        return [
            "version": .int(Int64(Transaction.currentVersion)), "rules": [], "vbavailable": [:], "vbrequired": 0,
            "previousblockhash": .string(t.previousHash), "transactions": .array(txs), "coinbaseaux": [:],
            "coinbasevalue": .int(Int64(clamping: t.coinbaseValue)), "longpollid": .string("\(t.previousHash)\(t.mempoolSequence)"),
            "target": .string(target), "mintime": RPCValue(Int(t.minTime)), "mutable": ["time", "transactions", "prevblock"],
            "noncerange": "00000000ffffffff", "sizelimit": RPCValue(Limits.maxBlockSize), "weightlimit": RPCValue(Limits.maxBlockSize * 4),
            "curtime": RPCValue(Int(t.time)), "bits": .string(String(format: "%08x", t.bits)), "height": RPCValue(t.height),
        ]
    }

    /// Bitcoin Core's GetNetworkHashPS over the last 120 blocks: work done over the time it took.
    static func networkHashRate(_ headers: [HeaderInfo]) -> Double {
        guard let newest = headers.first, let oldest = headers.last, newest.height > oldest.height else { return 0 }
        let times = headers.map(\.time)
        let span = Double((times.max() ?? 0) - (times.min() ?? 0))
        guard span > 0 else { return 0 }
        return (hexToDouble(newest.chainwork) - hexToDouble(oldest.chainwork)) / span
    }

    static func hexToDouble(_ hex: String) -> Double {
        hex.utf8.reduce(0.0) { acc, c in
            let v: UInt8 = c >= 97 ? c - 87 : c >= 65 ? c - 55 : c - 48
            return acc * 16 + Double(v & 0x0f)
        }
    }

    /// bitcoind's -25 "max-fee-exceeded" when the fee rate is above `maxRate` CRN/kB (0: no limit). Inputs
    /// that can't be found are left to the mempool to refuse.
    static func checkMaxFeeRate(_ tx: Transaction, size: Int, maxRate: Double, ctx: RPCContext) async throws {
        guard maxRate > 0, !tx.isCoinbase else { return }
        let prevouts = try await ctx.backend.prevouts(tx.inputs.map(\.previousOutput))
        guard let fee = fee(tx, prevouts: prevouts) else { return }
        let rate = Double(fee) / Double(size) * 1000 / 100_000_000
        if rate > maxRate {
            throw RPCFault(RPCFault.verifyErrorCode,
                           "max-fee-exceeded: fee rate \(rate) CRN/kB is above maxfeerate \(maxRate) (Fee exceeds maximum configured by user (e.g. -maxtxfee, maxfeerate))")
        }
    }

    /// A mempool refusal as bitcoind reports it: missing inputs -25, already in the chain -27, a
    /// transaction that does not decode -22, every other rule -26.
    static func txFault(_ e: APIError) -> RPCFault {
        switch e.code {
        case "bad-encoding": return .deserialization("TX decode failed: \(e.message)")
        case "bad-txns-inputs-missingorspent": return RPCFault(RPCFault.verifyErrorCode, "bad-txns-inputs-missingorspent (\(e.message))")
        case "txn-already-known": return RPCFault(RPCFault.verifyAlreadyInChainCode, "Transaction already in block chain")
        default: return RPCFault(RPCFault.verifyRejectedCode, "\(e.code) (\(e.message))")
        }
    }
}
