import Bus
import ChainCore
import Foundation
import NodeKit

/// Mining: getblocktemplate (long poll), submitblock, getmininginfo.
extension RPCMethods {

    /// The mempool's template as the JSON-RPC result (`getblocktemplaterpc`, binary: a small header
    /// and the result's bytes, rendered once per template by the mempool). A mempool without that
    /// method (an older one) is asked for its `BlockTemplate`, rendered here the same way.
    static func renderedTemplate(_ request: TemplateRequest, ctx: RPCContext) async throws -> (header: TemplateRPC.Header, result: ArraySlice<UInt8>) {
        do {
            return try TemplateRPC.parse(try await ctx.backend.mempool.callBinary(TemplateRPC.method, JSON.encode(request)))
        } catch let e as RPCError where e.code == "unknown-method" {
            let t = try await ctx.backend.mempool(.getblocktemplate, request, as: BlockTemplate.self)
            return (TemplateRPC.Header(t), TemplateRPC.result(t)[...])
        } catch let e as RPCError {
            throw APIError.fromRPC(e, service: .mempool)
        } catch let e as BusError {
            throw APIError.fromBus(e, service: .mempool)
        }
    }

    static let mining: [RPCMethod] = [
        RPCMethod(name: .getblocktemplate, category: "Mining",
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
                let peers = try await ctx.rpc.peerCall(.getpeers, Empty(), as: PeerList.self)
                if peers.peers.isEmpty { throw RPCFault(RPCFault.clientNotConnectedCode, "Cairn is not connected!") }
                let sync = try await ctx.rpc.peerCall(.getsync, Empty(), as: SyncStatus.self)
                if sync.bestPeerHeight > sync.height { throw RPCFault(RPCFault.clientInInitialDownloadCode, "Cairn is in initial sync and waiting for blocks...") }
            }
            let request = TemplateRequest(minerID: "rpc-getblocktemplate", address: "", hashrate: 0, threads: 0)
            var (header, result) = try await renderedTemplate(request, ctx: ctx)
            if let longPollID {
                let deadline = ContinuousClock.now + .seconds(60)
                while longPollID == header.longPollID && ContinuousClock.now < deadline && !Task.isCancelled {
                    let waitOn = await ctx.rpc.longPoll.wait(timeout: deadline - ContinuousClock.now)
                    (header, result) = try await renderedTemplate(request, ctx: ctx)
                    if !waitOn { break }   // the edge is stopping: the template as it is now
                }
            }
            // The learning mode: a paused node hands out no work, to JSON-RPC miners either.
            if let pace = header.pace, !pace.allows(height: header.height) {
                throw RPCFault(RPCFault.miscCode, "Mining is paused (the learning mode, GET /api/mining): no block template until a step or resume")
            }
            // The result as the mempool rendered it (Bitcoin Core's shape, `TemplateRPC`), not parsed here.
            return .preencoded(Array(result))
        },
        RPCMethod(name: .submitblock, category: "Mining",
                  params: [.required("hexdata", .hex, "the hex-encoded block data to submit"), .optional("dummy", .string, "ignored (bitcoind's workid)")],
                  summary: "Attempts to submit new block to network.",
                  result: "null if accepted; else a string: duplicate, duplicate-invalid, inconclusive (stored on a side chain), or the rule it broke (e.g. high-hash)",
                  resultSchema: ["oneOf": [["type": "null"], ["type": "string"]]], weight: 4, operatorOnly: true) { args, ctx in
            guard let raw = Hex.decode(args.string("hexdata") ?? ""), let block = try? Block(bytes: raw) else {
                throw RPCFault.deserialization("Block decode failed")
            }
            guard block.transactions.first?.isCoinbase == true else { throw RPCFault.deserialization("Block does not start with a coinbase") }
            let r = try await ctx.backend.chain(.submitblock, SubmitBlock(hex: Hex.encode(raw), source: "rpc"), as: SubmitBlockResult.self)
            // BIP 22: null only for a block that became the tip; "inconclusive" for one stored on a side branch.
            if let reason = r.reason { return .string(reason) }
            return r.accepted ? .null : .string("rejected")
        },
        RPCMethod(name: .getmininginfo, category: "Mining", params: [],
                  summary: "Returns a json object containing mining-related information.",
                  result: "{blocks, difficulty, networkhashps, pooledtx, chain, warnings}", resultSchema: objectSchema, weight: 2) { _, ctx in
            async let info = ctx.backend.chain(.getchaininfo, Empty(), as: ChainInfo.self)
            async let pool = ctx.backend.mempool(.getmempoolinfo, Empty(), as: MempoolInfo.self)
            async let recent = ctx.backend.chain(.getblocks, BlockRange(startHeight: nil, count: 121), as: [HeaderInfo].self)
            let (c, m, headers) = try await (info, pool, recent)
            return ["blocks": RPCValue(c.height), "difficulty": .double(c.difficulty), "networkhashps": .double(networkHashRate(headers)),
                    "pooledtx": RPCValue(m.count), "chain": .string(chainName(c.network)), "warnings": ""]
        },
        RPCMethod(name: .estimatesmartfee, category: "Util",
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
            let m = try await ctx.backend.mempool(.getmempoolinfo, Empty(), as: MempoolInfo.self)
            let estimates = FeeEstimator.estimates(histogram: m.feeHistogram, minFeeRate: m.minFeeRate)
            let blocks = FeeEstimator.targets.first { $0 >= target } ?? FeeEstimator.targets.last!
            guard let rate = estimates[String(blocks)] else { return ["errors": ["Insufficient data or no feerate found"], "blocks": RPCValue(blocks)] }
            return ["feerate": perKB(rate), "blocks": RPCValue(blocks)]
        },
    ]
}
