import NodeKit
import Synchronization

/// The chain tip the chain store last published on `tip` (the feed's follower sets it): the tip
/// routes and the WebSocket hello answer from it without a bus call. Forgotten after a gap.
final class TipCache: Sendable {
    private let tip = Mutex<ChainTip?>(nil)

    var value: ChainTip? { tip.withLock { $0 } }
    func set(_ t: ChainTip) { tip.withLock { $0 = t } }
    func forget() { tip.withLock { $0 = nil } }
}

extension Feed {
    var lastTip: ChainTip? { tips.value }

    /// After a gap or a restart of the chain store's stream the cached tip may be stale:
    /// tip routes ask the chain store again until the next `tip` publication.
    func forgetTip() { tips.forget() }

    func currentTipOrAsk() async -> ChainTip? {
        if let t = lastTip { return t }
        return try? await backend.chain(.getchaintip, Empty(), as: ChainTip.self)
    }
}
