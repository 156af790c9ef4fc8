import Bus
import ChainCore
import Foundation
import Logging
import NodeKit
import Synchronization

/// What the edge announces on every outward feed (the public ZMQ PUB and `/api/ws`), in this order.
/// Derived from the chain store's `connected`/`disconnected` and the mempool's `rawtx`/`sequence`
/// streams, with whatever those streams lost fetched by request (the Clone pattern), so a running
/// edge's subscribers see every block of the best chain and every accepted transaction.
enum FeedEvent: Sendable {
    /// A block joined the best chain (`sequence` C; a "block" message).
    case connected(height: Int, block: Block, raw: [UInt8])
    /// A block left the best chain, newest first (`sequence` D; a "block-disconnected" message):
    /// the tip is then `previous`.
    case disconnected(height: Int, hash: Hash256, previous: Hash256)
    /// The tip after a change (`hashblock` and `rawblock`, as Bitcoin Core: once per change).
    case newTip(hash: Hash256, raw: [UInt8])
    /// A transaction entered the pool (`hashtx`, `rawtx`, `sequence` A; a "tx" message), with
    /// its txid (computed once, by the follower, for every outlet).
    case txAdded(tx: Transaction, txid: Hash256, raw: [UInt8], mempoolSequence: UInt64)
    /// A transaction left the pool for another reason than a block (`sequence` R).
    case txRemoved(txid: Hash256, mempoolSequence: UInt64)
    /// The edge cannot tell what was missed: a counter reset on the public feed, a "resync" message.
    case resync(scope: String, reason: String)
}

/// Where feed events go, in the order they are posted. `post` is synchronous, so a follower's
/// check of what it announced, its bookkeeping and the post happen in one step of its actor: two
/// followers (the chain's and the mempool's) cannot overtake each other's announcements.
protocol FeedOutlet: Sendable {
    func post(_ event: FeedEvent)
}

/// A hash in display order (as the `hashblock`/`sequence` bodies carry it).
func displayHash(_ bytes: [UInt8]) -> Hash256? {
    bytes.count == 32 ? Hash256(bytes: bytes.reversed()) : nil
}

/// Every outward feed, in one order: the public ZMQ PUB (when configured), the WebSocket feed
/// `/api/ws` and the JSON-RPC WebSocket subscriptions. Each outlet gets every event in the order
/// posted: the feed and the subscriptions queue it themselves (their `post` is a synchronous
/// enqueue), so they are handed it at once; the public notifier (an actor) through a queue here,
/// emptied in order by `run()`. (One queue and one task fewer per event than handing every
/// outlet its events from one queue: under a flood, that hop was per transaction.)
final class FeedOutlets: FeedOutlet {
    let notifier: PublicNotifier?
    let outlets: [any FeedOutlet]
    private let stream: AsyncStream<FeedEvent>
    private let continuation: AsyncStream<FeedEvent>.Continuation

    /// The public notifier is handed nothing from before the feed has started (those events are
    /// dropped: a subscriber sees the counters' reset of a restarted edge only with the first event
    /// after the start, and what it fetches then holds them), so it never publishes an event before
    /// the start, and nothing piles up while the mempool or the chain store is unreachable.
    let feedStart: FeedStart

    init(notifier: PublicNotifier?, outlets: [any FeedOutlet], feedStart: FeedStart) {
        self.notifier = notifier
        self.outlets = outlets
        self.feedStart = feedStart
        // Unbounded: the followers' events must not be dropped (blocks and accepted transactions).
        (stream, continuation) = AsyncStream.makeStream(of: FeedEvent.self, bufferingPolicy: .unbounded)
    }

    /// Held while one event is handed to every outlet: the mempool's and the chain's followers post
    /// from their own tasks, and every outlet must see their events in the same order.
    private let order = Mutex(())

    func post(_ event: FeedEvent) {
        order.withLock { _ in
            for o in outlets { o.post(event) }
            if notifier != nil, feedStart.isOpen { continuation.yield(event) }
        }
    }

    func finish() { continuation.finish() }

    /// Hands the queued events to the public notifier until `finish()`.
    func run() async {
        for await event in stream {
            await notifier?.deliver(event)
        }
    }
}
