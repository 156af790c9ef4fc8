import ChainCore
import Foundation
import NodeKit
import Testing
import TestSupport
@testable import ChainStore

/// `chain.rpc getrawblocks`: the peer bridge's one round trip for a `getdata`'s blocks.
@Suite struct RawBlocksTests {
    let params = ChainParams.regtest

    static func unknown(_ i: Int) -> Hash256 { Hash256.sha256d(Array("unknown \(i)".utf8)) }

    /// Asks through the router, as the bus does.
    static func call(_ router: RPCRouter, _ hashes: [String]) async throws -> ReplyEnvelope<RawBlocks> {
        let request = try JSONSerialization.data(withJSONObject: ["method": "getrawblocks", "params": ["hashes": hashes]])
        return try JSONDecoder().decode(ReplyEnvelope<RawBlocks>.self, from: Data(await router.handle(Array(request))))
    }

    @Test func foundBlocksComeInRequestOrderAndUnknownOnesAreLeftOut() async throws {
        let h = try StoreHarness()
        let (chain, q) = try await h.open()
        let blocks = await extendChain(chain, from: params.genesis, height: 1, count: 4, wallet: TestWallet())
        let asked = [blocks[2].hash, Self.unknown(1), blocks[0].hash, params.genesisHash, Self.unknown(2), blocks[3].hash]
        let router = ChainRPC.router(chain: chain, queries: q, started: 0)
        let reply = try await Self.call(router, asked.map(\.hex))
        let r = try #require(reply.result, "\(String(describing: reply.error))")
        #expect(r.looked == asked.count)
        #expect(r.blocks.map(\.hash) == [blocks[2].hash.hex, blocks[0].hash.hex, params.genesisHash.hex, blocks[3].hash.hex])
        #expect(r.blocks.map(\.hex) == [blocks[2], blocks[0], params.genesis, blocks[3]].map { Hex.encode($0.encoded) },
                "each block's stored bytes")
        // Nothing known: nothing found, every hash looked at.
        let none = try await q.rawBlocks(RawBlocksRequest(hashes: (0..<5).map { Self.unknown($0).hex }))
        #expect(none == RawBlocks(blocks: [], looked: 5))
        #expect(try await q.rawBlocks(RawBlocksRequest(hashes: [])) == RawBlocks(blocks: [], looked: 0))
    }

    @Test func theReplyStopsAtTheByteBoundAndAlwaysHoldsTheFirstBlockFound() async throws {
        let h = try StoreHarness()
        let (chain, q) = try await h.open()
        let blocks = await extendChain(chain, from: params.genesis, height: 1, count: 4, wallet: TestWallet())
        let size = blocks[0].encoded.count
        let asked = [Self.unknown(1), blocks[0].hash, blocks[1].hash, Self.unknown(2), blocks[2].hash, blocks[3].hash].map(\.hex)
        // Room for two blocks: the lookup stops before the third found (the unknown one between is looked at).
        let two = try await q.rawBlocks(RawBlocksRequest(hashes: asked), maxBytes: 2 * size + size / 2)
        #expect(two.blocks.map(\.hash) == [blocks[0].hash.hex, blocks[1].hash.hex])
        #expect(two.looked == 4, "stopped before \(blocks[2].hash.hex)")
        // Asked again from there: the rest.
        let rest = try await q.rawBlocks(RawBlocksRequest(hashes: Array(asked[two.looked...])), maxBytes: 2 * size + size / 2)
        #expect(rest == RawBlocks(blocks: [blocks[2], blocks[3]].map { RawBlock(hash: $0.hash.hex, hex: Hex.encode($0.encoded)) }, looked: 2))
        // A bound smaller than any block: one block a reply, never none.
        let one = try await q.rawBlocks(RawBlocksRequest(hashes: asked), maxBytes: 1)
        #expect(one.blocks.map(\.hash) == [blocks[0].hash.hex] && one.looked == 2)
        // The default bound holds a full getdata's worth of small blocks.
        let all = try await q.rawBlocks(RawBlocksRequest(hashes: asked))
        #expect(all.blocks.count == 4 && all.looked == asked.count)
    }

    @Test func tooManyHashesOrABadOneIsRefusedAsBadParams() async throws {
        let h = try StoreHarness()
        let (chain, q) = try await h.open()
        let router = ChainRPC.router(chain: chain, queries: q, started: 0)
        let many = try await Self.call(router, (0...RawBlocksRequest.maxHashes).map { Self.unknown($0).hex })
        #expect(many.result == nil && many.error?.code == "bad-params", "\(String(describing: many.error))")
        let bad = try await Self.call(router, [params.genesisHash.hex, "not a hash"])
        #expect(bad.result == nil && bad.error?.code == "bad-params", "\(String(describing: bad.error))")
        let fine = try await Self.call(router, (0..<RawBlocksRequest.maxHashes).map { Self.unknown($0).hex })
        #expect(fine.result?.looked == RawBlocksRequest.maxHashes)
    }
}
