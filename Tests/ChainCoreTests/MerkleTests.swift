import Testing
@testable import ChainCore

@Suite struct MerkleTree {
    /// Bitcoin block 100,000.
    @Test func bitcoinBlock100000() {
        let txids = [
            "8c14f0db3df150123e6f3dbbf30f8b955a8249b62ac1d1ff16284aefa3d06d87",
            "fff2525b8931402dd09222c50775608f75787bd2b87e56995a7bdd30f79702c4",
            "6359f0868171b1d194cbee1af2f16ea598ae8fad666d9b012c8ed2b79a236ec4",
            "e9a66845e05d5abc0ad04ec80f774a7e585c6e8db975962d069a522137b80c1d",
        ].map { Hash256(hex: $0)! }
        let (root, mutated) = Merkle.root(txids)
        #expect(root.hex == "f3e94742aca4b5ef85488dc37c06c3282295ffec960994b2c0d5ac2a25a95766")
        #expect(!mutated)
    }

    @Test func singleTransactionRootIsItsTxid() {
        let h = Hash256.sha256d([1, 2, 3])
        #expect(Merkle.root([h]) == (h, false))
    }

    /// CVE-2012-2459: [a, b, c] and [a, b, c, c] have the same root; the second is flagged.
    @Test func duplicatedTailGivesTheSameRootAndIsFlagged() {
        let hs = (0..<3).map { Hash256.sha256d([UInt8($0)]) }
        let odd = Merkle.root(hs)
        let dup = Merkle.root(hs + [hs[2]])
        #expect(odd.root == dup.root)
        #expect(!odd.mutated)
        #expect(dup.mutated)
        // also deeper in the tree: [a,b,c,d,e,f] vs [a,b,c,d,e,f,e,f]
        let six = (0..<6).map { Hash256.sha256d([UInt8($0)]) }
        let eight = six + six[4...5]
        #expect(Merkle.root(six).root == Merkle.root(eight).root)
        #expect(Merkle.root(eight).mutated)
    }
}
