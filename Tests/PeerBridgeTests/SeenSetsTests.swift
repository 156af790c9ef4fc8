import ChainCore
@testable import PeerBridge
import Testing

/// The relay's seen-sets (Relay/SeenSets.swift), synchronously: three independent bounded sets, each
/// forgetting its oldest member first at its own limit.
@Suite("Seen-sets (relay)")
struct SeenSetsTests {
    static func hash(_ i: Int) -> Hash256 { Hash256(w0: UInt64(i), w1: 7, w2: 0, w3: 0) }

    @Test("a hash seen as a block is not seen as a transaction, nor as stored, and the other way round")
    func theSetsAreIndependent() {
        var seen = SeenSets()
        #expect(seen.blocks.count == 0 && seen.txs.count == 0 && seen.storedBlocks.count == 0)
        let h = Self.hash(1)
        let firstAsBlock = seen.blocks.insert(h)
        #expect(firstAsBlock)
        #expect(!seen.txs.contains(h) && !seen.storedBlocks.contains(h))
        let firstAsTx = seen.txs.insert(h)
        #expect(firstAsTx, "a first sighting as a transaction")
        #expect(!seen.storedBlocks.contains(h))
        let firstAsStored = seen.storedBlocks.insert(h)
        #expect(firstAsStored)
        let again = [seen.blocks.insert(h), seen.txs.insert(h), seen.storedBlocks.insert(h)]
        #expect(again == [false, false, false], "each is seen once")
    }

    @Test("blocks and stored blocks keep the newest blockLimit, transactions the newest txLimit; the oldest go first")
    func eachSetIsBoundedAtItsLimit() {
        var seen = SeenSets()
        for i in 0...SeenSets.blockLimit {
            seen.blocks.insert(Self.hash(i))
            seen.storedBlocks.insert(Self.hash(i))
        }
        #expect(seen.blocks.count == SeenSets.blockLimit && seen.storedBlocks.count == SeenSets.blockLimit)
        #expect(!seen.blocks.contains(Self.hash(0)) && seen.blocks.contains(Self.hash(1)) && seen.blocks.contains(Self.hash(SeenSets.blockLimit)))
        #expect(!seen.storedBlocks.contains(Self.hash(0)) && seen.storedBlocks.contains(Self.hash(SeenSets.blockLimit)))

        for i in 0...SeenSets.txLimit { seen.txs.insert(Self.hash(i)) }
        #expect(seen.txs.count == SeenSets.txLimit)
        #expect(!seen.txs.contains(Self.hash(0)) && seen.txs.contains(Self.hash(1)) && seen.txs.contains(Self.hash(SeenSets.txLimit)))
        #expect(seen.blocks.count == SeenSets.blockLimit, "filling one set leaves the others as they were")
    }
}
