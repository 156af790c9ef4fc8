import Bus
import ChainCore
import Foundation
import GRDB
import Logging
import NodeKit
import Synchronization
import Testing
import TestSupport
@testable import ChainStore

/// The chain store's trace events on its PUB socket: a block's events are published after the
/// reply, in the order stored, and the socket's high-water mark holds every event of a block
/// far larger than the old mark of 1,000 messages, so a subscriber that reads nothing while the
/// block connects still gets them all, with no gap.
@Suite struct TracePublishTests {
    let params = ChainParams.regtest

    @Test func aSubscriberGetsEveryTraceEventOfABlockLargerThanTheOldHighWaterMarkWithNoGap() async throws {
        try await withHangGuard(seconds: 180) {
            let h = try StoreHarness()
            let context = try ZMQContext()
            // Wired as cairn-chainstore wires it (ChainStoreCommand).
            let publisher = try await Publisher(context: context, bind: ["inproc://chain-trace-\(UUID().uuidString)"],
                                                hwm: ChainNotifier.publisherHWM)
            let notifier = ChainNotifier(publisher: publisher)
            let db = try DatabasePool(path: h.dir.appendingPathComponent("chain.sqlite").path)
            try Schema.migrator().migrate(db)
            // Every event handed to the notifier, in the order handed.
            let handed = Mutex<[TraceEvent]>([])
            let chain = try await Chain(db: db, params: params, logger: Logger(label: "test"), onTrace: { events in
                handed.withLock { $0 += events }
                notifier.trace(events)
            }) { change, tip in
                handed.withLock { $0 += change.disconnected.flatMap(\.trace) + change.connected.flatMap(\.trace) }
                await notifier.publish(change, tip: tip)
            }
            // A slow subscriber: small buffers of its own, and it reads nothing until the big block has connected.
            let subscriber = try await Subscriber(context: context, connect: publisher.endpoints, topics: [Topic.trace],
                                                  hwm: 100, capacity: 100)
            try await subscriber.ready()

            let a = TestWallet()
            let base = await extendChain(chain, from: params.genesis, height: 1, count: params.coinbaseMaturity + 1, wallet: a)
            // 1,500 transactions, each spending the one before (5,001 would take long to sign in a debug build;
            // 1,500 is already over the old high-water mark).
            let count = 1_500
            var coin = (OutPoint(txid: base[0].transactions[0].txid, index: 0), base[0].transactions[0].outputs[0])
            var txs = [Transaction]()
            for _ in 0..<count {
                let tx = a.spend([coin], to: [a.output(coin.1.value - 100)])
                txs.append(tx)
                coin = (OutPoint(txid: tx.txid, index: 0), tx.outputs[0])
            }
            let block = ChainFixtures.next(after: base.last!.header, height: base.count + 1, paying: a, transactions: txs,
                                           fees: Amount(count) * 100)
            let r = await chain.submit(block, source: "test")
            #expect(r.accepted && r.isTip, "\(r)")

            // Every event handed out, in that order, is what the subscriber must read (a block's
            // transactions' `connected` events are published, though only the block's is stored).
            let stored = handed.withLock { $0 }
            #expect(stored.count > count + 3 + base.count)
            // The trace topic carries these events only, numbered from 0: the last is number stored.count - 1.
            let last = UInt32(stored.count - 1)
            var received = [TraceEvent]()
            var gaps = [SubscriberEvent]()
            reading: for await event in subscriber.events {
                switch event {
                case let .message(_, body, sequence):
                    received.append(try JSON.decode(TraceEvent.self, body))
                    if sequence >= last { break reading }
                case let .gap(_, _, next), let .reset(_, _, next):
                    gaps.append(event)
                    if next > last { break reading }
                }
            }
            #expect(gaps.isEmpty, "\(gaps)")
            #expect(received == stored)
            // The big block's own events: the block, then each of its transactions (coinbase included).
            let blockHex = block.hash.hex
            #expect(received.filter { $0.id == blockHex || $0.detail?.hasPrefix("block \(blockHex) ") == true }.count == count + 3)
            await subscriber.stop()
            await publisher.stop()

            // The control: the same events through a publisher with the old mark of 1,000, to the same
            // slow subscriber, lose some (so the chain store's mark is what keeps them).
            let old = try await Publisher(context: context, bind: ["inproc://chain-trace-old-\(UUID().uuidString)"], hwm: 1_000)
            let slow = try await Subscriber(context: context, connect: old.endpoints, topics: [Topic.trace], hwm: 100, capacity: 100)
            try await slow.ready()
            for e in stored { old.publish(topic: Topic.trace, body: try JSON.encode(e)) }
            await old.flush()
            let reader = Task { () -> Bool in
                for await event in slow.events {
                    switch event {
                    case let .message(_, _, sequence):
                        if sequence >= last { return false }
                    case .gap, .reset:
                        return true
                    }
                }
                return false
            }
            // Markers after the events, until the reader has its answer: a loss at the tail shows
            // as a gap when the first marker arrives.
            let marker = Task {
                while !Task.isCancelled {
                    old.publish(topic: Topic.trace, body: Array("end".utf8))
                    try? await Task.sleep(for: .milliseconds(50))
                }
            }
            let lost = await reader.value
            marker.cancel()
            await marker.value
            #expect(lost)
            await slow.stop()
            await old.stop()
            await context.terminate()
        }
    }
}
