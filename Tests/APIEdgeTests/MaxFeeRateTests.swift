@testable import APIEdge
import Testing

/// JSON-RPC `maxfeerate` (CRN/kB) as the highest fee the mempool lets a transaction pay: refused as
/// bitcoind refuses it, and the fee for the size rounded up as Core's `CFeeRate::GetFee`.
@Suite struct MaxFeeRateTests {
    static func code(_ rate: Double?) -> Int? {
        do {
            _ = try RPCMethods.maxFeeRate(rate)
            return nil
        } catch {
            return error.code
        }
    }

    @Test func theRateInBaseUnitsAKilobyte() throws {
        #expect(try RPCMethods.maxFeeRate(nil) == 10_000_000, "Core's default, 0.10")
        #expect(try RPCMethods.maxFeeRate(0) == 0)
        #expect(try RPCMethods.maxFeeRate(0.00000001) == 1)
        #expect(try RPCMethods.maxFeeRate(0.99999999) == 99_999_999)
        #expect(Self.code(-0.00000001) == -3)
        #expect(Self.code(.nan) == -3 && Self.code(.infinity) == -3)
        #expect(Self.code(0.000000004) == -3, "more than 8 decimals is refused, not taken as no limit")
        #expect(Self.code(1) == -8 && Self.code(21_000_000) == -8)
    }

    @Test func theFeeForTheSizeRoundedUp() {
        #expect(RPCMethods.maxFee(perKB: 0, size: 250) == nil, "0: no limit")
        #expect(RPCMethods.maxFee(perKB: 1, size: 250) == 1, "never 0 for a rate above 0")
        #expect(RPCMethods.maxFee(perKB: 1_000, size: 250) == 250)
        #expect(RPCMethods.maxFee(perKB: 1_001, size: 250) == 251, "250.25 rounded up: paying exactly the rate passes")
        #expect(RPCMethods.maxFee(perKB: 99_999_999, size: 4_000_000) == 399_999_996_000)
    }
}
