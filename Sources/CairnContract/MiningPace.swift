import ChainCore

/// The node's mining pace, the learning mode (regtest only): whether the miners may find the next
/// block, and how soon. The mempool owns it (it persists it in `mempool.sqlite` and hands it out with
/// every block template and template notice); every miner obeys the template it is given, so one
/// pause or one step holds across any number of miners.
///
///   running                 the miners mine as usual
///   paused                  no miner hashes; transactions wait in the mempool
///   paused + stepHeight     exactly one block may be found, at `stepHeight` (the height after the
///                           tip when the step was asked); the first block there ends the step
///   minInterval > 0         no miner hashes a block before `tip time + minInterval` (both states)
public struct MiningPace: Codable, Sendable, Equatable {
    /// "running" or "paused".
    public var state: String
    /// While paused: the one height a step lets the miners find (nil: no step pending).
    public var stepHeight: Int?
    /// Seconds after the tip's time before the next block may be hashed (0: no minimum).
    public var minInterval: Double
    /// Bumped at every change, so a reader can tell an old answer from a new one.
    public var revision: UInt64
    /// Unix seconds of the last change (0: never changed).
    public var updatedAt: Double

    public static let running = MiningPace(state: "running", stepHeight: nil, minInterval: 0, revision: 0, updatedAt: 0)
    /// The longest minimum interval one may set: an hour.
    public static let maxInterval: Double = 3600

    public init(state: String, stepHeight: Int?, minInterval: Double, revision: UInt64, updatedAt: Double) {
        self.state = state; self.stepHeight = stepHeight; self.minInterval = minInterval
        self.revision = revision; self.updatedAt = updatedAt
    }

    public var paused: Bool { state == "paused" }

    /// How the explorer names it: "running", "paused" or "stepping" (paused with a step pending).
    public var display: String { paused ? (stepHeight == nil ? "paused" : "stepping") : "running" }

    /// Whether a block at `height` may be found at all (leaving the interval aside).
    public func allows(height: Int) -> Bool { !paused || stepHeight == height }

    /// The earliest Unix time a block after a tip of `tipTime` may be hashed (nil: no minimum).
    public func notBefore(tipTime: UInt32) -> Double? { minInterval > 0 ? Double(tipTime) + minInterval : nil }

    /// What a miner does with a template (its height and `notBefore`) at `now`.
    public enum Decision: Sendable, Equatable {
        case mine
        /// Paused: hash nothing until a template notice says otherwise.
        case hold
        /// The minimum interval: hash nothing for this many seconds, then ask again.
        case wait(Double)
    }

    public static func decision(pace: MiningPace?, height: Int, notBefore: Double?, now: Double) -> Decision {
        guard let pace else { return .mine }   // a mempool that predates the learning mode
        if !pace.allows(height: height) { return .hold }
        if let notBefore, notBefore > now { return .wait(notBefore - now) }
        return .mine
    }
}

/// `setpace` (mempool) and `POST /api/operator/mining`: one change of the pace.
public struct PaceChange: Codable, Sendable, Equatable {
    /// "pause", "resume", "step" or "interval" (with `minInterval`).
    public var action: String
    public var minInterval: Double?
    public init(action: String, minInterval: Double? = nil) { self.action = action; self.minInterval = minInterval }
}

extension MiningPace {
    /// Applies one change on a tip at `tipHeight`; refused on any network but regtest, and for an
    /// unknown action or a bad interval. Returns whether anything changed.
    @discardableResult
    public mutating func apply(_ change: PaceChange, network: Network, tipHeight: Int, now: Double) throws(RPCError) -> Bool {
        guard network == .regtest else {
            throw RPCError("not-regtest", "the learning mode (pause, step, minimum interval) is for regtest only; this node runs \(network)")
        }
        var next = self
        switch change.action {
        case "pause":
            next.state = "paused"
            next.stepHeight = nil
        case "resume":
            next.state = "running"
            next.stepHeight = nil
        case "step":
            // One block, at the height after the tip; asking again before it is found changes nothing.
            next.state = "paused"
            next.stepHeight = tipHeight + 1
        case "interval":
            guard let seconds = change.minInterval, seconds.isFinite, seconds >= 0, seconds <= Self.maxInterval else {
                throw RPCError.badParams("minInterval must be a number of seconds from 0 to \(Int(Self.maxInterval))")
            }
            next.minInterval = seconds
        default:
            throw RPCError.badParams("action must be pause, resume, step or interval, not '\(change.action)'")
        }
        guard next != self else { return false }
        next.revision = revision + 1
        next.updatedAt = now
        self = next
        return true
    }

    /// The tip moved to `height`: a step whose block is in ends. Returns whether anything changed.
    @discardableResult
    public mutating func tipChanged(height: Int, now: Double) -> Bool {
        guard let step = stepHeight, height >= step else { return false }
        stepHeight = nil
        revision += 1
        updatedAt = now
        return true
    }
}
