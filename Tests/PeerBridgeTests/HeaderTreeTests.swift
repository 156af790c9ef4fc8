import ChainCore
@testable import PeerBridge
import Testing

@Suite("Header tree: learned headers, heights, expected bits")
struct HeaderTreeTests {
    @Test("headers by hash with parent and height; bounded; removed when connected")
    func basics() {
        let blocks = BridgeTests.chain(3)
        var t = HeaderTree(maxKnown: 3)
        for h in 1...3 { t.add(blocks[h].hash, parent: blocks[h - 1].hash, height: h) }
        #expect(t.count == 3 && t.height(of: blocks[2].hash) == 2 && t.parent(of: blocks[2].hash) == blocks[1].hash)
        #expect(t.hasRoom(for: 0) && !t.hasRoom(for: 1))
        #expect(t.byHeight(blocks[1].hash, blocks[3].hash) && t.byHeight(blocks[3].hash, blocks[0].hash), "unknown sorts last")
        t.remove(blocks[1].hash)
        #expect(!t.contains(blocks[1].hash) && t.hasRoom(for: 1))
    }

    @Test("ancestors: walked from a hash while known and wanted")
    func ancestors() {
        let blocks = BridgeTests.chain(4)
        var t = HeaderTree(maxKnown: 100)
        for h in 1...4 { t.add(blocks[h].hash, parent: blocks[h - 1].hash, height: h) }
        #expect(t.ancestors(from: blocks[4].hash) { _ in true } == [4, 3, 2, 1].map { blocks[$0].hash })
        #expect(t.ancestors(from: blocks[4].hash) { $0 != blocks[2].hash } == [4, 3].map { blocks[$0].hash })
        #expect(t.ancestors(from: blocks[0].hash) { _ in true }.isEmpty, "genesis is not in the tree")
    }

    @Test("expected bits: the chain store's answer after its tip, the limit without retargeting, the parent's between retargets")
    func expectedBits() {
        let blocks = BridgeTests.chain(2)
        var t = HeaderTree(maxKnown: 10)
        let regtest = ChainParams.regtest
        #expect(t.expectedBits(blocks[2].header, height: 2, parent: blocks[1].header, params: regtest) == regtest.powLimitBits,
                "regtest never retargets")
        t.nextBits = (blocks[1].hash, 0x1d00_ffff)
        #expect(t.expectedBits(blocks[2].header, height: 2, parent: nil, params: regtest) == 0x1d00_ffff)
        t.nextBits = (blocks[1].hash, 0)
        let main = ChainParams.main
        #expect(main.noRetargeting == false)
        #expect(t.expectedBits(blocks[2].header, height: 2, parent: blocks[1].header, params: main) == blocks[1].header.bits,
                "between retargets: the parent's bits (0 from the chain store means not told)")
        #expect(t.expectedBits(blocks[2].header, height: 2, parent: nil, params: main) == nil)
        #expect(t.expectedBits(blocks[2].header, height: main.retargetInterval, parent: blocks[1].header, params: main) == nil,
                "a retarget height needs the chain store's history")
    }
}
