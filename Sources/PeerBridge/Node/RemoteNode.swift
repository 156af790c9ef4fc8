import Bus
import ChainCore
import NodeKit

/// The local node over the bus: `LocalNode` answered by the chain store (`chain.rpc`) and the mempool (`mempool.rpc`).
struct RemoteNode: LocalNode {
    let chain: RPCClient
    let mempool: RPCClient

    func tip() async throws -> ChainTip { try await chain.call(ChainMethod.getchaintip, Empty(), as: ChainTip.self) }

    func locator() async throws -> [Hash256] {
        try await chain.call(ChainMethod.getlocator, Empty(), as: [String].self).compactMap(Hash256.init(hex:))
    }

    /// In calls of at most `PeerLimits.maxHeaders` hashes, the chain store's limit a call: a branch's
    /// missing ancestors (`queueAncestors`) may be many more (a fork deeper than that was never queued).
    func blockStates(_ hashes: [Hash256]) async throws -> [BlockState?] {
        var out = [BlockState?]()
        out.reserveCapacity(hashes.count)
        for start in stride(from: 0, to: hashes.count, by: PeerLimits.maxHeaders) {
            let part = hashes[start..<min(start + PeerLimits.maxHeaders, hashes.count)]
            let states = try await chain.call(ChainMethod.getblockstates, HashList(hashes: part.map(\.hex)), as: [BlockState?].self)
            guard states.count == part.count else {
                throw RPCError("internal", "getblockstates answered \(states.count) states for \(part.count) hashes")
            }
            out += states
        }
        return out
    }

    func heightOf(_ hash: Hash256) async throws -> Int? {
        do {
            return try await chain.call(ChainMethod.getheader, BlockRef(hash: hash.hex), as: HeaderInfo.self).height
        } catch let e as RPCError where e.code == "not-found" {
            return nil
        }
    }

    func headers(after locator: [Hash256], stop: Hash256?, count: Int) async throws -> [BlockHeader] {
        let reply = try await chain.call(ChainMethod.getheaders, HeadersRequest(locator: locator.map(\.hex), stop: stop?.hex, count: count),
                                         as: HeadersReply.self)
        return reply.headers.compactMap { Hex.decode($0).flatMap { try? BlockHeader(bytes: $0) } }
    }

    func blocks(_ hashes: [Hash256]) async throws -> (found: [Hash256: [UInt8]], looked: Int) {
        let asked = Array(hashes.prefix(RawBlocksRequest.maxHashes))
        guard !asked.isEmpty else { return ([:], 0) }
        let reply = try await chain.call(ChainMethod.getrawblocks, RawBlocksRequest(hashes: asked.map(\.hex)), as: RawBlocks.self)
        var found = [Hash256: [UInt8]]()
        for b in reply.blocks {
            guard let hash = Hash256(hex: b.hash), let raw = Hex.decode(b.hex) else { continue }
            found[hash] = raw
        }
        return (found, min(max(reply.looked, 1), asked.count))
    }

    func submitBlock(_ block: Block, source: String) async throws -> SubmitBlockResult {
        try await chain.call(ChainMethod.submitblock, SubmitBlock(hex: Hex.encode(block.encoded), source: source), as: SubmitBlockResult.self)
    }

    func mempoolTx(_ txid: Hash256) async throws -> [UInt8]? {
        do {
            return Hex.decode(try await mempool.call(MempoolMethod.getentry, TxRef(txid: txid.hex), as: MempoolEntry.self).hex)
        } catch let e as RPCError where e.code == "not-found" {
            return nil
        }
    }

    func submitTx(_ tx: Transaction) async throws -> Result<SubmitTxResult, RPCError> {
        do {
            return .success(try await mempool.call(MempoolMethod.submittx, SubmitTx(hex: Hex.encode(tx.encoded), receivedAt: ServiceSupport.now()),
                                                   as: SubmitTxResult.self))
        } catch let e as RPCError {
            return .failure(e)
        }
    }
}
