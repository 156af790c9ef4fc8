import Bus
import ChainCore
import Foundation
import Logging
import NodeKit
import Synchronization
import Testing
import TestSupport
@testable import ChainStore

/// The signature cache (SignatureCache.swift): the txids whose signatures the mempool verified,
/// bounded, filled from `hashtx` bodies, garbage ignored.
@Suite struct SignatureCacheTests {
    func txid(_ i: Int) -> Hash256 { Hash256.sha256d(Array("tx \(i)".utf8)) }

    @Test func itHoldsAtMostItsCapacityAndKeepsTheNewestHalf() {
        let cache = SignatureCache(capacity: 10)
        for i in 0..<100 { cache.insert(txid(i)) }
        #expect(cache.stats.count <= 10)
        // The newest half always stays.
        for i in 95..<100 { #expect(cache.contains(txid(i)), "txid \(i)") }
        // The oldest are gone.
        for i in 0..<80 { #expect(!cache.contains(txid(i)), "txid \(i)") }
    }

    /// Generations: a full current half becomes the previous one (still held); the one before it goes.
    @Test func evictionDropsTheOlderGenerationOnly() {
        let cache = SignatureCache(capacity: 8)
        for i in 0..<4 { cache.insert(txid(i)) }
        #expect(cache.stats.count == 4)
        for i in 4..<8 { cache.insert(txid(i)) }
        // 0...3 are now the previous generation, 4...7 the current one: all held.
        #expect(cache.stats.count == 8)
        for i in 0..<8 { #expect(cache.contains(txid(i))) }
        cache.insert(txid(8))
        // The first generation is dropped, the second kept.
        for i in 0..<4 { #expect(!cache.contains(txid(i))) }
        for i in 4..<9 { #expect(cache.contains(txid(i))) }
        #expect(cache.stats.count == 5)
        // A txid inserted again takes no second place.
        cache.insert(txid(8))
        #expect(cache.stats.count == 5)
    }

    @Test func aHashtxBodyIsTheTxidInDisplayOrderAndAnythingElseIsIgnored() {
        let cache = SignatureCache(capacity: 100)
        let id = txid(1)
        #expect(cache.insert(hashtx: Array(id.bytes.reversed())))
        #expect(cache.contains(id))
        #expect(!cache.contains(Hash256(bytes: id.bytes.reversed())), "the body is the display order, not the internal one")
        for garbage in [[], [UInt8](repeating: 7, count: 31), [UInt8](repeating: 7, count: 33), Array(id.hex.utf8)] {
            #expect(!cache.insert(hashtx: garbage))
        }
        let stats = cache.stats
        #expect(stats.count == 1 && stats.ignored == 4, "\(stats)")
    }

    /// Per transaction of a block: the coinbase is never looked up nor counted; the others count as
    /// hits or misses once the block is connected, and a lookup alone counts nothing (a prepared
    /// connection may be discarded and the block looked up again).
    @Test func aBlocksLookUpSkipsTheCoinbaseAndCountsHitsAndMissesOnceConnected() {
        let cache = SignatureCache(capacity: 100)
        cache.insert(txid(0))
        cache.insert(txid(2))
        let flags = cache.verified([txid(0), txid(1), txid(2), txid(3)])
        #expect(flags == [false, false, true, false])
        #expect(cache.verified([txid(0), txid(1), txid(2), txid(3)]) == flags, "looked up again")
        #expect(cache.verified([txid(5)]) == [false])
        #expect(cache.verified([]) == [])
        #expect(cache.stats.hits == 0 && cache.stats.misses == 0, "\(cache.stats)")
        cache.connected(flags)
        cache.connected([false])
        cache.connected([])
        let stats = cache.stats
        #expect(stats.hits == 1 && stats.misses == 2, "\(stats)")
    }

    /// Wired as cairn-chainstore wires it: a subscriber to the mempool's `hashtx` fills the cache; a
    /// body that is not 32 bytes is ignored and the ones after it still arrive.
    @Test func theMempoolsHashtxPublicationsFillIt() async throws {
        try await withHangGuard(seconds: 180) {
            let context = try ZMQContext()
            let publisher = try await Publisher(context: context, bind: ["inproc://mempool-pub-\(UUID().uuidString)"])
            let subscriber = try await Subscriber(context: context, connect: publisher.endpoints, topics: [Topic.hashtx])
            try await subscriber.ready()
            let cache = SignatureCache(capacity: 100)
            let following = Task { await cache.follow(subscriber.events, vouch: { .same }, logger: Logger(label: "test")) }
            try await waitUntil("the publisher vouched for", timeout: 10) { cache.stats.vouched }
            _ = publisher.publish(topic: Topic.hashtx, body: Array(txid(1).bytes.reversed()))
            _ = publisher.publish(topic: Topic.hashtx, body: [1, 2, 3])
            _ = publisher.publish(topic: Topic.rawtx, body: Array(txid(9).bytes.reversed()))
            _ = publisher.publish(topic: Topic.hashtx, body: Array(txid(2).bytes.reversed()))
            try await waitUntil("both txids cached", timeout: 10) { cache.contains(txid(1)) && cache.contains(txid(2)) }
            #expect(cache.stats.ignored == 1)
            #expect(!cache.contains(txid(9)), "only hashtx fills it")
            await subscriber.stop()
            await following.value
            await publisher.stop()
            await context.terminate()
        }
    }
}

/// Whose publications fill the cache: only a mempool that answered `getnodeid` as this node's, on
/// this network (a signature commits to its network's genesis hash), asked again after a reset.
@Suite struct SignatureCacheVouchTests {
    func txid(_ i: Int) -> Hash256 { Hash256.sha256d(Array("tx \(i)".utf8)) }
    func hashtx(_ i: Int) -> SubscriberEvent { .message(topic: Topic.hashtx, body: Array(txid(i).bytes.reversed()), sequence: UInt32(i)) }

    /// The verdicts `vouch` gives, in turn (the last one again once they run out), and how often it was asked.
    final class Verdicts: Sendable {
        let state: Mutex<(answers: [NodeIdentity.Verdict], asked: Int)>
        init(_ answers: [NodeIdentity.Verdict]) { state = Mutex((answers, 0)) }
        func next() -> NodeIdentity.Verdict {
            state.withLock { s in
                s.asked += 1
                return s.answers.count > 1 ? s.answers.removeFirst() : s.answers[0]
            }
        }
        var asked: Int { state.withLock { $0.asked } }
    }

    @Test func nothingIsTakenBeforeTheMempoolIsVouchedFor() async throws {
        let cache = SignatureCache(capacity: 100)
        let verdicts = Verdicts([.unreachable("not up"), .unreachable("not up"), .same])
        let (events, feed) = AsyncStream<SubscriberEvent>.makeStream()
        // The first answers are "unreachable": a publication meanwhile is dropped, and counted.
        let gate = Mutex(false)
        let following = Task {
            await cache.follow(events, vouch: {
                while !gate.withLock({ $0 }) { try? await Task.sleep(for: .milliseconds(5)) }
                return verdicts.next()
            }, retry: .milliseconds(10), logger: Logger(label: "test"))
        }
        feed.yield(hashtx(1))
        try await waitUntil("the first publication seen", timeout: 10) { cache.stats.unvouched == 1 }
        #expect(!cache.contains(txid(1)))
        gate.withLock { $0 = true }
        try await waitUntil("vouched for", timeout: 10) { cache.stats.vouched }
        #expect(verdicts.asked == 3, "asked again while it did not answer")
        feed.yield(hashtx(2))
        try await waitUntil("taken once vouched for", timeout: 10) { cache.contains(txid(2)) }
        #expect(!cache.contains(txid(1)), "what came before is not taken afterwards")
        #expect(SignatureCache.statusDetails(cache)["signatureCacheSource"] == "vouched")
        feed.finish()
        await following.value
    }

    @Test func anotherNodesOrNetworksMempoolNeverFillsIt() async throws {
        let cache = SignatureCache(capacity: 100)
        let verdicts = Verdicts([.other("it is on network testnet, this service on regtest")])
        let (events, feed) = AsyncStream<SubscriberEvent>.makeStream()
        let following = Task { await cache.follow(events, vouch: { verdicts.next() }, retry: .milliseconds(10), logger: Logger(label: "test")) }
        try await waitUntil("asked", timeout: 10) { verdicts.asked == 1 }
        for i in 1...20 { feed.yield(hashtx(i)) }
        try await waitUntil("all seen", timeout: 10) { cache.stats.unvouched == 20 }
        #expect(cache.stats.count == 0)
        #expect(verdicts.asked == 1, "not asked again before a reset")
        #expect(SignatureCache.statusDetails(cache)["signatureCacheSource"] == "not vouched")
        feed.finish()
        await following.value
    }

    @Test func aRestartedPublisherIsAskedAgain() async throws {
        let cache = SignatureCache(capacity: 100)
        // This node's mempool first; after the reset, another network's took its endpoint.
        let verdicts = Verdicts([.same, .other("it is on network testnet, this service on regtest")])
        let (events, feed) = AsyncStream<SubscriberEvent>.makeStream()
        let following = Task { await cache.follow(events, vouch: { verdicts.next() }, retry: .milliseconds(10), logger: Logger(label: "test")) }
        try await waitUntil("vouched for", timeout: 10) { cache.stats.vouched }
        feed.yield(hashtx(1))
        try await waitUntil("taken", timeout: 10) { cache.contains(txid(1)) }
        feed.yield(.reset(topic: Topic.hashtx, expected: 2, received: 0))
        feed.yield(hashtx(2))
        try await waitUntil("asked again", timeout: 10) { verdicts.asked == 2 }
        feed.yield(hashtx(3))
        try await waitUntil("seen", timeout: 10) { cache.stats.unvouched == 2 }
        #expect(!cache.stats.vouched)
        #expect(!cache.contains(txid(2)) && !cache.contains(txid(3)))
        #expect(cache.contains(txid(1)), "what the vouched-for instance published stays")
        feed.finish()
        await following.value
    }

    @Test func theVerdictOnAGetnodeidAnswer() {
        let id = String(repeating: "ab", count: 16), other = String(repeating: "cd", count: 16)
        #expect(NodeIdentity.verdict(on: .init(nodeId: id, network: "regtest"), expected: id, network: .regtest) == .same)
        #expect(NodeIdentity.verdict(on: .init(nodeId: nil, network: "regtest"), expected: nil, network: .regtest) == .same)
        #expect(NodeIdentity.verdict(on: .init(nodeId: nil, network: nil), expected: nil, network: .regtest) == .same,
                "an older authority that answers no network: the node id (or the bus's keys) decides")
        guard case .other = NodeIdentity.verdict(on: .init(nodeId: other, network: "regtest"), expected: id, network: .regtest) else {
            Issue.record("another node's id taken"); return
        }
        guard case .other = NodeIdentity.verdict(on: .init(nodeId: nil, network: "regtest"), expected: id, network: .regtest) else {
            Issue.record("no node id taken for a service that has one"); return
        }
        guard case .other = NodeIdentity.verdict(on: .init(nodeId: id, network: "testnet"), expected: id, network: .regtest) else {
            Issue.record("another network taken"); return
        }
    }
}

/// Connecting with the cache: the signature checks of the cached transactions are skipped, and only
/// theirs; every other rule still applies to them.
@Suite struct SignatureCacheConnectTests {
    let params = ChainParams.regtest

    func setup(_ cache: SignatureCache) async throws -> (StoreHarness, Chain, ChainQueries, TestWallet, [Block]) {
        let h = try StoreHarness()
        let (chain, q) = try await h.open(signatureCache: cache)
        let a = TestWallet()
        let base = await extendChain(chain, from: params.genesis, height: 1, count: params.coinbaseMaturity + 2, wallet: a)
        return (h, chain, q, a, base)
    }

    func coinbaseCoin(_ block: Block) -> (OutPoint, TxOutput) {
        let cb = block.transactions[0]
        return (OutPoint(txid: cb.txid, index: 0), cb.outputs[0])
    }

    /// The skip itself: a transaction the cache holds is not verified again, so (were the cache
    /// lying) even a bad signature of it would pass. This is the trust the cache adds, and why it
    /// is filled only from the node's own mempool.
    @Test func aCachedTransactionsSignaturesAreNotVerifiedAgain() async throws {
        let cache = SignatureCache()
        let (_, chain, q, a, base) = try await setup(cache)
        let coin = coinbaseCoin(base[0])
        var tx = a.spend([coin], to: [a.output(coin.1.value - 500)])
        tx.inputs[0].payload[5] ^= 1
        cache.insert(tx.txid)
        let block = ChainFixtures.next(after: base.last!.header, height: base.count + 1, paying: a, transactions: [tx], fees: 500)
        let r = await chain.submit(block, source: "test")
        #expect(r.accepted && r.isTip, "\(r)")
        #expect(cache.stats.hits == 1)
        #expect(try await q.verifyUTXO().ok)
    }

    /// A bad signature in a transaction the cache does not hold is refused, with its position, even
    /// when the block's other transactions are cached; nothing is written.
    @Test func aBadSignatureOutsideTheCacheIsStillRefused() async throws {
        let cache = SignatureCache()
        let (_, chain, q, a, base) = try await setup(cache)
        let good = a.spend([coinbaseCoin(base[0])], to: [a.output(coinbaseCoin(base[0]).1.value - 500)])
        var bad = a.spend([coinbaseCoin(base[1])], to: [a.output(coinbaseCoin(base[1]).1.value - 500)])
        bad.inputs[0].payload[5] ^= 1
        cache.insert(good.txid)
        let utxoBefore = try await q.chainInfo().utxoCount
        let block = ChainFixtures.next(after: base.last!.header, height: base.count + 1, paying: a, transactions: [good, bad], fees: 1_000)
        let r = await chain.submit(block, source: "test")
        #expect(!r.accepted && r.reason == "bad-txns-signature", "\(r)")
        #expect(r.message?.contains("transaction 2 input 0") == true, "\(r)")
        #expect(await chain.tip.hash == base.last!.hash)
        #expect(try await q.chainInfo().utxoCount == utxoBefore)
        // Counted only for a block connected: a refused one counts nothing.
        let stats = cache.stats
        #expect(stats.hits == 0 && stats.misses == 0, "\(stats)")
    }

    /// Only the signatures are skipped: a cached transaction spending a missing coin, or paying more
    /// than it spends, is refused as before.
    @Test func everyOtherRuleStillAppliesToACachedTransaction() async throws {
        let cache = SignatureCache()
        let (_, chain, _, a, base) = try await setup(cache)
        let ghost = a.spend([(OutPoint(txid: Hash256.sha256d([9]), index: 0), a.output(1_000))], to: [a.output(100)])
        let coin = coinbaseCoin(base[0])
        let greedy = a.spend([coin], to: [a.output(coin.1.value + 1)])
        cache.insert(ghost.txid)
        cache.insert(greedy.txid)
        let missing = ChainFixtures.next(after: base.last!.header, height: base.count + 1, paying: a, transactions: [ghost])
        let r1 = await chain.submit(missing, source: "test")
        #expect(!r1.accepted && r1.reason == "bad-txns-inputs-missingorspent", "\(r1)")
        let overspend = ChainFixtures.next(after: base.last!.header, height: base.count + 1, paying: a, transactions: [greedy], extra: [1])
        let r2 = await chain.submit(overspend, source: "test")
        #expect(!r2.accepted && r2.reason == "bad-txns-in-belowout", "\(r2)")
        #expect(await chain.tip.hash == base.last!.hash)
    }

    /// A reorganisation (the path that checks a branch without the prepared block) consults the cache too.
    @Test func aReorganisationSkipsTheCachedTransactionsToo() async throws {
        let cache = SignatureCache()
        let (_, chain, q, a, base) = try await setup(cache)
        let b = TestWallet()
        let old = await extendChain(chain, from: base.last!, height: base.count + 1, count: 1, wallet: a, extra: [1])
        let pay = a.spend([coinbaseCoin(base[0])], to: [b.output(coinbaseCoin(base[0]).1.value - 500)])
        let other = a.spend([coinbaseCoin(base[1])], to: [b.output(coinbaseCoin(base[1]).1.value - 500)])
        cache.insert(pay.txid)
        let side1 = ChainFixtures.next(after: base.last!.header, height: base.count + 1, paying: b, transactions: [pay], fees: 500, extra: [2])
        #expect(await chain.submit(side1, source: "test").reason == "inconclusive")
        let before = cache.stats
        let side2 = ChainFixtures.next(after: side1.header, height: base.count + 2, paying: b, transactions: [other], fees: 500)
        let r = await chain.submit(side2, source: "test")
        #expect(r.accepted && r.isTip, "\(r)")
        #expect(await chain.tip.hash == side2.hash && old[0].hash != side2.hash)
        let after = cache.stats
        #expect(after.hits - before.hits == 1 && after.misses - before.misses == 1, "\(before) → \(after)")
        #expect(try await q.verifyUTXO().ok)
    }

    /// Without a cache (`--no-signature-cache`) nothing is skipped.
    @Test func withoutACacheEverySignatureIsVerified() async throws {
        let h = try StoreHarness()
        let (chain, _) = try await h.open()
        let a = TestWallet()
        let base = await extendChain(chain, from: params.genesis, height: 1, count: params.coinbaseMaturity + 1, wallet: a)
        let coin = coinbaseCoin(base[0])
        var tx = a.spend([coin], to: [a.output(coin.1.value - 500)])
        tx.inputs[0].payload[5] ^= 1
        let block = ChainFixtures.next(after: base.last!.header, height: base.count + 1, paying: a, transactions: [tx], fees: 500)
        let r = await chain.submit(block, source: "test")
        #expect(!r.accepted && r.reason == "bad-txns-signature", "\(r)")
    }
}

/// The switches: the environment's values are read strictly, and a size below 2 is refused.
@Suite struct SignatureCacheSwitchTests {
    @Test func theEnvironmentSwitchReadsOnAndOffAndRefusesAnythingElse() throws {
        for on in [nil, "", "on", "1", "TRUE", "yes"] { #expect(try ChainStoreCommand.signatureCacheSwitch(on) == true) }
        for off in ["off", "OFF", "0", "false", "No"] { #expect(try ChainStoreCommand.signatureCacheSwitch(off) == false) }
        for bad in ["disable", "nope", "2"] { #expect(throws: (any Error).self) { try ChainStoreCommand.signatureCacheSwitch(bad) } }
    }

    @Test func optionsAreValidated() throws {
        #expect(throws: (any Error).self) { try ChainStoreCommand.parse(["--signature-cache-size", "1"]) }
        #expect(throws: (any Error).self) { try ChainStoreCommand.parse(["--signature-cache-size", "-5"]) }
        let ok = try ChainStoreCommand.parse(["--no-signature-cache", "--signature-cache-size", "1000"])
        #expect(ok.noSignatureCache && ok.signatureCacheSize == 1000)
    }
}
