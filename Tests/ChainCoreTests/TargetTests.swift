import BigInt
import Testing
@testable import ChainCore

@Suite struct CompactBits {
    /// Bitcoin Core's SetCompact/GetCompact vectors (arith_uint256_tests).
    @Test(arguments: [
        (UInt32(0x0000_0000), "0", false, false, UInt32(0)),
        (0x0012_3456, "0", false, false, 0),
        (0x0100_3456, "0", false, false, 0),
        (0x0200_0056, "0", false, false, 0),
        (0x0300_0000, "0", false, false, 0),
        (0x0400_0000, "0", false, false, 0),
        (0x0092_3456, "0", false, false, 0),
        (0x0180_3456, "0", false, false, 0),
        (0x0280_0056, "0", false, false, 0),
        (0x0380_0000, "0", false, false, 0),
        (0x0480_0000, "0", false, false, 0),
        (0x0112_3456, "12", false, false, 0x0112_0000),
        (0x0212_3456, "1234", false, false, 0x0212_3400),
        (0x0312_3456, "123456", false, false, 0x0312_3456),
        (0x0412_3456, "12345600", false, false, 0x0412_3456),
        (0x0500_9234, "92340000", false, false, 0x0500_9234),
        (0x2012_3456, "1234560000000000000000000000000000000000000000000000000000000000", false, false, 0x2012_3456),
    ])
    func decodeAndReencode(bits: UInt32, hex: String, negative: Bool, overflow: Bool, reencoded: UInt32) {
        let d = CompactTarget.decode(bits)
        #expect(d.target == BigUInt(hex, radix: 16)!)
        #expect(d.isNegative == negative)
        #expect(d.isOverflow == overflow)
        #expect(CompactTarget.encode(d.target) == reencoded)
    }

    @Test func negativeAndOverflowingEncodingsAreRejected() {
        #expect(CompactTarget.decode(0x01fe_dcba).isNegative)
        #expect(CompactTarget.decode(0x0492_3456).isNegative)
        #expect(CompactTarget.decode(0xff12_3456).isOverflow)
        #expect(CompactTarget.decode(0x2301_0000).isOverflow)   // 35 bytes
        let limit = ChainParams.regtest.powLimit
        #expect(CompactTarget.target(bits: 0x01fe_dcba, limit: limit) == nil)
        #expect(CompactTarget.target(bits: 0xff12_3456, limit: limit) == nil)
        #expect(CompactTarget.target(bits: 0, limit: limit) == nil)
        // easier than the network allows
        #expect(CompactTarget.target(bits: 0x2100_ffff, limit: limit) == nil)
        #expect(CompactTarget.target(bits: ChainParams.main.powLimitBits, limit: ChainParams.main.powLimit) != nil)
    }

    @Test func chainWorkIsTwoTo256OverTargetPlusOne() {
        // Bitcoin's genesis: 0x0100010001 hashes.
        #expect(CompactTarget.work(bits: 0x1d00_ffff) == BigUInt(0x1_0001_0001))
        // harder target, more work; invalid bits, none
        #expect(CompactTarget.work(bits: 0x1c00_ffff) > CompactTarget.work(bits: 0x1d00_ffff))
        #expect(CompactTarget.work(bits: 0x01fe_dcba) == 0)
        let w = CompactTarget.work(bits: 0x1b04_864c)
        #expect(CompactTarget.work(fromBytes: CompactTarget.workBytes(w)) == w)
        #expect(CompactTarget.workBytes(w).count == 32)
    }

    @Test func mostCumulativeWorkWinsNotMostBlocks() {
        // three easy blocks against one hard block: the hard one carries more work
        let easy = CompactTarget.work(bits: 0x1f00_ffff) * 3
        let hard = CompactTarget.work(bits: 0x1e00_ffff)
        #expect(hard > easy)
    }
}

@Suite struct Retargeting {
    let p = ChainParams.testnet
    var expected: Int64 { Int64(p.retargetInterval - 1) * p.targetSpacing }
    let bits: UInt32 = 0x1e00_ffff

    @Test func onlyAtWindowBoundaries() {
        #expect(!Difficulty.isRetargetHeight(1, params: p))
        #expect(Difficulty.isRetargetHeight(p.retargetInterval, params: p))
        #expect(Difficulty.nextBits(height: 5, parentBits: bits, parentTime: 1000, windowStartTime: 0, params: p) == bits)
    }

    @Test func onScheduleKeepsTheTarget() {
        #expect(Difficulty.retarget(bits: bits, actualTimespan: expected, params: p) == bits)
    }

    @Test func twiceAsFastDoublesDifficulty() {
        let new = CompactTarget.decode(Difficulty.retarget(bits: bits, actualTimespan: expected / 2, params: p)).target
        let old = CompactTarget.decode(bits).target
        // the compact form keeps 3 significant bytes
        #expect(new <= old / 2 && new >= old / 2 - (old >> 16))
    }

    @Test func aStepIsClampedToFourTimes() {
        let old = CompactTarget.decode(bits).target
        let fast = CompactTarget.decode(Difficulty.retarget(bits: bits, actualTimespan: 1, params: p)).target
        let negative = CompactTarget.decode(Difficulty.retarget(bits: bits, actualTimespan: -5000, params: p)).target
        #expect(fast == CompactTarget.decode(CompactTarget.encode(old * BigUInt(expected / 4) / BigUInt(expected))).target)
        #expect(fast < old / 4 + (old >> 12))
        #expect(negative == fast)
        let slowBits: UInt32 = 0x1c00_ffff
        let slowOld = CompactTarget.decode(slowBits).target
        let slow = CompactTarget.decode(Difficulty.retarget(bits: slowBits, actualTimespan: expected * 100, params: p)).target
        #expect(slow == CompactTarget.decode(CompactTarget.encode(slowOld * 4)).target)
    }

    @Test func neverBelowTheMinimumDifficulty() {
        // naivecoin's difficulty went negative; here the target stops at the limit
        let bits = Difficulty.retarget(bits: p.powLimitBits, actualTimespan: expected * 4, params: p)
        #expect(bits == p.powLimitBits)
        var b = p.powLimitBits
        for _ in 0..<10 { b = Difficulty.retarget(bits: b, actualTimespan: Int64.max / 2, params: p) }
        #expect(b == p.powLimitBits)
    }

    @Test func regtestNeverRetargets() {
        let r = ChainParams.regtest
        #expect(Difficulty.nextBits(height: 2016, parentBits: r.powLimitBits, parentTime: 0, windowStartTime: 0, params: r) == r.powLimitBits)
    }

    @Test func medianTimePastOfElevenBlocks() {
        #expect(Difficulty.medianTimePast([5, 1, 9, 3, 7]) == 5)
        #expect(Difficulty.medianTimePast(Array(1...20)) == 15)  // the last 11: 10...20
        #expect(Difficulty.medianTimePast([]) == 0)
    }
}
