import ChainCore
@testable import PeerBridge
import Testing

@Suite("Orphan pool: held by parent, bounded in count and bytes, highest evicted first")
struct OrphanPoolTests {
    @Test("blocks wait for their parent; taken out, they count until forgotten")
    func holdAndRelease() {
        let b = BridgeTests.chain(3)
        var pool = OrphanPool(maxCount: 10, maxBytes: 1 << 20)
        let r1 = pool.hold(b[2], tree: HeaderTree(maxKnown: 10))
        #expect(r1.isEmpty)
        let r2 = pool.hold(b[2], tree: HeaderTree(maxKnown: 10))
        #expect(r2.isEmpty, "held once")
        #expect(pool.count == 1 && pool.bytes == b[2].encodedSize && pool.contains(b[2].hash))
        let children = pool.removeChildren(of: b[1].hash)
        #expect(children.map(\.hash) == [b[2].hash])
        #expect(pool.contains(b[2].hash), "still counted while its parent is processed")
        pool.forget(b[2].hash)
        #expect(pool.isEmpty && pool.bytes == 0)
        let r3 = pool.removeChildren(of: b[1].hash)
        #expect(r3.isEmpty)
    }

    @Test("over the count bound the highest goes (unknown height counts as highest)")
    func evictsHighest() {
        let b = BridgeTests.chain(4)
        var tree = HeaderTree(maxKnown: 10)
        for h in 2...4 { tree.add(b[h].hash, parent: b[h - 1].hash, height: h) }
        var pool = OrphanPool(maxCount: 2, maxBytes: 1 << 20)
        _ = pool.hold(b[2], tree: tree)
        _ = pool.hold(b[4], tree: tree)
        let r4 = pool.hold(b[3], tree: tree)
        #expect(r4 == [b[4].hash])
        #expect(pool.contains(b[2].hash) && pool.contains(b[3].hash) && !pool.contains(b[4].hash))
        let r5 = pool.removeChildren(of: b[3].hash)
        #expect(r5.isEmpty, "the evicted block left its parent's list")
        #expect(pool.bytes == b[2].encodedSize + b[3].encodedSize)
    }

    @Test("over the byte bound blocks go until it fits, but the last one stays")
    func byteBound() {
        let b = BridgeTests.chain(3)
        var pool = OrphanPool(maxCount: 10, maxBytes: 1)
        let r6 = pool.hold(b[1], tree: HeaderTree(maxKnown: 10))
        #expect(r6.isEmpty, "one block is kept whatever its size")
        let r7 = pool.hold(b[2], tree: HeaderTree(maxKnown: 10))
        #expect(r7.count == 1)
        #expect(pool.count == 1)
    }

    @Test("an invalid block takes every descendant held with it")
    func dropDescendants() {
        let b = BridgeTests.chain(4)
        var pool = OrphanPool(maxCount: 10, maxBytes: 1 << 20)
        for h in 2...4 { _ = pool.hold(b[h], tree: HeaderTree(maxKnown: 10)) }
        pool.dropDescendants(of: b[2].hash)
        #expect(pool.count == 1 && pool.contains(b[2].hash) && pool.bytes == b[2].encodedSize)
        pool.dropDescendants(of: b[1].hash)
        #expect(pool.isEmpty && pool.bytes == 0)
    }
}
