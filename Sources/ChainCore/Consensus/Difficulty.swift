import BigInt

/// The difficulty rule.
///
/// Every `retargetInterval` blocks (a new block at height h with h % interval == 0),
/// the target is scaled by how long the last window took:
///
///     actual   = time(h-1) - time(h-interval)     // interval-1 block gaps
///     expected = (interval - 1) * targetSpacing
///     actual   clamped to [expected / 4, expected * 4]
///     target'  = min(target(h-1) * actual / expected, powLimit)
///
/// Between adjustments the bits stay those of the parent. So one step changes
/// difficulty by at most ×4 or ÷4, and the target never exceeds the network's
/// limit: difficulty never falls below the minimum. Regtest never retargets.
public enum Difficulty {
    /// Whether the block at `height` is the first of a new window.
    public static func isRetargetHeight(_ height: Int, params: ChainParams) -> Bool {
        !params.noRetargeting && params.retargetInterval > 1 && height > 0 && height % params.retargetInterval == 0
    }

    /// Height of the block whose time opens the window ending at `height - 1`.
    public static func windowStartHeight(for height: Int, params: ChainParams) -> Int {
        height - params.retargetInterval
    }

    /// The bits required of the block at `height`.
    /// - Parameters:
    ///   - parentBits, parentTime: the header at `height - 1`.
    ///   - windowStartTime: the time of the header at `windowStartHeight(for: height)`;
    ///     only read at a retarget height.
    public static func nextBits(height: Int, parentBits: UInt32, parentTime: UInt32,
                                windowStartTime: @autoclosure () -> UInt32, params: ChainParams) -> UInt32 {
        if params.noRetargeting { return params.powLimitBits }
        guard isRetargetHeight(height, params: params) else { return parentBits }
        let actual = Int64(parentTime) - Int64(windowStartTime())
        return retarget(bits: parentBits, actualTimespan: actual, params: params)
    }

    /// One adjustment step, clamped.
    public static func retarget(bits: UInt32, actualTimespan: Int64, params: ChainParams) -> UInt32 {
        let expected = Int64(params.retargetInterval - 1) * params.targetSpacing
        let actual = min(max(actualTimespan, expected / 4), expected * 4)
        let old = CompactTarget.decode(bits).target
        var new = old * BigUInt(actual) / BigUInt(expected)
        if new > params.powLimit { new = params.powLimit }
        if new == 0 { new = 1 }
        return CompactTarget.encode(new)
    }

    /// Median of the last (up to) 11 block times, as Bitcoin's median-time-past.
    public static func medianTimePast(_ times: [UInt32]) -> UInt32 {
        let recent = times.suffix(ChainParams.medianTimeSpan).sorted()
        guard !recent.isEmpty else { return 0 }
        return recent[recent.count / 2]
    }
}
