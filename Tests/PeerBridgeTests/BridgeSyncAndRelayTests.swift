import ChainCore
import Foundation
import NodeKit
@testable import PeerBridge
import Testing
import TestSupport

/// Block hashes a batch of messages asks for with `getdata`.
func blocksAsked(_ messages: [Wire.Message]) -> [Hash256] {
    messages.flatMap { m -> [Hash256] in
        if case .getdata(let items) = m { return items.filter { $0.type == .block }.map(\.hash) }
        return []
    }
}

/// Transaction ids a batch of messages asks for with `getdata`.
func txsAsked(_ messages: [Wire.Message]) -> [Hash256] {
    messages.flatMap { m -> [Hash256] in
        if case .getdata(let items) = m { return items.filter { $0.type == .tx }.map(\.hash) }
        return []
    }
}

func rejected(_ messages: [Wire.Message], _ code: String) -> Bool {
    messages.contains { if case .reject(let c, _) = $0 { return c == code } else { return false } }
}

/// End-to-end sync and relay through the bridge (FakeNode + Wiretap): block download and give-up,
/// transient refusals, orphans, headers checks, transaction re-requests, batched announcements.
extension BridgeTests {
    @Test("notfound: a block nobody has is asked of each peer once, then given up, nobody scored; announced again, it is fetched again")
    func notFoundGivesUp() async throws {
        let blocks = Self.chain(3)
        let node = FakeNode(blocks: [blocks[0]])
        let b = await bridge(node)
        let (p1, t1) = await handshaken(b, port: 70, height: 3, best: blocks[3].hash)
        let (p2, t2) = await handshaken(b, port: 71, height: 3, best: blocks[3].hash)
        _ = await t1.drain(); _ = await t2.drain()
        await b.received(p1, Wire.encode(.headers(blocks[1...3].map(\.header))))
        var asked = [Int: [Hash256]]()
        for _ in 0..<10 {
            var any = false
            for (c, t) in [(p1, t1), (p2, t2)] {
                let items = blocksAsked(await t.drain())
                guard !items.isEmpty else { continue }
                any = true
                asked[c.id, default: []] += items
                await b.received(c, Wire.encode(.notfound(items.map { Wire.InvItem(.block, $0) })))
            }
            if !any { break }
        }
        let all = Set(blocks[1...3].map(\.hash))
        for id in [p1.id, p2.id] {
            let list = asked[id] ?? []
            #expect(list.count == Set(list).count, "peer \(id) asked twice for the same block: \(list.count) requests")
            #expect(Set(list) == all, "each peer asked once for each block")
        }
        let s = await b.syncStatus()
        #expect(s.blocksQueued == 0 && s.blocksInFlight == 0)
        #expect(await b.peerList().offences.isEmpty)
        // A later announcement fetches it again.
        await b.received(p2, Wire.encode(.inv([.init(.block, blocks[1].hash)])))
        #expect(blocksAsked(await t2.drain()) == [blocks[1].hash])
    }

    @Test("a block refused as time-too-new is not marked seen: its child is held, and it is fetched again when announced")
    func transientRefusal() async throws {
        let blocks = Self.chain(2)
        let node = FakeNode(blocks: [blocks[0]])
        node.sync { node.refuse[blocks[1].hash] = "time-too-new" }
        let b = await bridge(node)
        let (p, t) = await handshaken(b, port: 72)
        _ = await t.drain()
        await b.received(p, Wire.encode(.inv([.init(.block, blocks[1].hash)])))
        #expect(blocksAsked(await t.drain()) == [blocks[1].hash])
        await b.received(p, Wire.encode(.block(blocks[1])))
        #expect(node.submittedBlocks == [blocks[1].hash])
        await b.received(p, Wire.encode(.inv([.init(.block, blocks[2].hash)])))
        #expect(blocksAsked(await t.drain()) == [blocks[2].hash])
        await b.received(p, Wire.encode(.block(blocks[2])))
        #expect(!node.submittedBlocks.contains(blocks[2].hash), "its parent is not stored: held, not submitted")
        #expect(await b.syncStatus().orphans == 1)
        _ = await t.drain()
        node.sync { node.refuse = [:] }   // the clock caught up
        await b.received(p, Wire.encode(.inv([.init(.block, blocks[1].hash)])))
        #expect(blocksAsked(await t.drain()) == [blocks[1].hash], "fetched again")
        await b.received(p, Wire.encode(.block(blocks[1])))
        #expect(node.height == 2)
        #expect(await b.syncStatus().orphans == 0)
        #expect(await b.peerList().offences.isEmpty)
    }

    @Test("a block the chain store knows as invalid (duplicate-invalid) scores invalid-block like any invalid block; a side branch or a valid duplicate costs nothing",
          arguments: [("duplicate-invalid", true), ("bad-txns-signature", true), ("inconclusive", false), ("duplicate", false)])
    func refusalScoring(reason: String, scored: Bool) async throws {
        let blocks = Self.chain(1)
        let node = FakeNode(blocks: [blocks[0]])
        node.sync { node.refuse[blocks[1].hash] = reason }
        let b = await bridge(node)
        let (p, t) = await handshaken(b, port: 71)
        _ = await t.drain()
        await b.received(p, Wire.encode(.inv([.init(.block, blocks[1].hash)])))
        #expect(blocksAsked(await t.drain()) == [blocks[1].hash])
        await b.received(p, Wire.encode(.block(blocks[1])))
        #expect(node.submittedBlocks == [blocks[1].hash])
        #expect(await b.peerList().offences["invalid-block"] == (scored ? 1 : nil), "\(reason)")
    }

    @Test("which transaction refusals score a peer is decided by RejectReason, not a copied list")
    func transactionRefusalBlame() {
        #expect(RejectReason.badSignature.provesInvalidTransaction)
        #expect(RejectReason.inBelowOut.provesInvalidTransaction)
        #expect(!RejectReason.inputsMissingOrSpent.provesInvalidTransaction, "depends on the receiver's chain")
        #expect(!RejectReason.prematureCoinbaseSpend.provesInvalidTransaction, "depends on the receiver's height")
        #expect(RejectReason(rawValue: "txn-mempool-conflict") == nil, "policy codes are not consensus reasons, so never scored")
    }

    @Test("SubmitBlockResult decodes to one outcome; its code round-trips", arguments: [
        (SubmitOutcome.sideBranch, "inconclusive"), (.duplicate, "duplicate"), (.duplicateInvalid, "duplicate-invalid"),
        (.transient("internal"), "internal"), (.transient("time-too-new"), "time-too-new"), (.unknownParent, "bad-prevblk"),
        (.invalid(.highHash), "high-hash"), (.other("something-new"), "something-new"),
    ])
    func submitOutcome(outcome: SubmitOutcome, code: String) {
        let r = SubmitBlockResult(hash: "", accepted: false, reason: code, isTip: false)
        #expect(r.outcome == outcome)
        #expect(outcome.code == code)
        #expect(SubmitBlockResult(hash: "", accepted: true, isTip: true).outcome == .accepted)
    }

    @Test("an internal refusal is transient too; a stale 'stored' parent answered bad-prevblk holds the child")
    func internalRefusal() async throws {
        let blocks = Self.chain(2)
        let node = FakeNode(blocks: [blocks[0]])
        node.sync { node.refuse[blocks[1].hash] = "internal" }
        let b = await bridge(node)
        let (p, t) = await handshaken(b, port: 74, height: 2, best: blocks[2].hash)
        _ = await t.drain()
        await b.received(p, Wire.encode(.headers(blocks[1...2].map(\.header))))
        #expect(Set(blocksAsked(await t.drain())) == Set([blocks[1].hash, blocks[2].hash]))
        await b.received(p, Wire.encode(.block(blocks[1])))
        await b.received(p, Wire.encode(.block(blocks[2])))
        #expect(!node.submittedBlocks.contains(blocks[2].hash))
        #expect(await b.syncStatus().orphans == 1)
        node.sync { node.refuse = [:] }
        await b.received(p, Wire.encode(.inv([.init(.block, blocks[1].hash)])))
        #expect(blocksAsked(await t.drain()) == [blocks[1].hash])
        await b.received(p, Wire.encode(.block(blocks[1])))
        #expect(node.height == 2)
    }

    @Test("a block that arrives while our chain store is unreachable goes back to the queue; nobody is scored")
    func chainStoreDownDuringProcess() async throws {
        let blocks = Self.chain(2)
        let node = FakeNode(blocks: [blocks[0]])
        let b = await bridge(node)
        let (p, t) = await handshaken(b, port: 73, height: 2, best: blocks[2].hash)
        _ = await t.drain()
        await b.received(p, Wire.encode(.headers(blocks[1...2].map(\.header))))
        #expect(Set(blocksAsked(await t.drain())) == Set([blocks[1].hash, blocks[2].hash]))
        node.sync { node.unreachable = true }
        await b.received(p, Wire.encode(.block(blocks[1])))
        #expect(blocksAsked(await t.drain()) == [blocks[1].hash], "asked again, not lost")
        node.sync { node.unreachable = false }
        await b.received(p, Wire.encode(.block(blocks[1])))
        await b.received(p, Wire.encode(.block(blocks[2])))
        #expect(node.height == 2)
        #expect(await b.peerList().offences.isEmpty)
    }

    @Test("orphans: a block without proof of work is refused and scored, an unrequested one is not held, the pool is bounded in bytes")
    func orphanPool() async throws {
        let blocks = Self.chain(5)
        let node = FakeNode(blocks: [blocks[0]])
        let b = await bridge(node) { $0.maxOrphanBytes = blocks[2].encodedSize * 2 + 8 }
        // Unrequested, parent unknown: not held, no headers asked, scored unrequested-data.
        let (p1, t1) = await handshaken(b, port: 75)
        _ = await t1.drain()
        await b.received(p1, Wire.encode(.block(blocks[3])))
        #expect(await b.syncStatus().orphans == 0)
        #expect(!(await t1.drain()).contains { if case .getheaders = $0 { return true } else { return false } })
        #expect(await b.peerList().offences["unrequested-data"] == 1)

        // Requested, parent unknown: held, but only as many bytes as the bound allows.
        await b.received(p1, Wire.encode(.inv(blocks[2...5].map { Wire.InvItem(.block, $0.hash) })))
        #expect(Set(blocksAsked(await t1.drain())) == Set(blocks[2...5].map(\.hash)))
        for blk in blocks[2...5] { await b.received(p1, Wire.encode(.block(blk))) }
        #expect(await b.syncStatus().orphans == 2, "four held blocks over a two-block byte bound")

        // Without proof of work (a nonce the target refuses): scored invalid-block, never submitted.
        var bad = blocks[1]
        for n in UInt32(0)... {
            bad.header.nonce = n
            if (try? BlockRules.checkProofOfWork(bad.header, params: Self.params)) == nil { break }
        }
        let (p2, t2) = await handshaken(b, port: 76)
        _ = await t2.drain()
        await b.received(p2, Wire.encode(.inv([.init(.block, bad.hash)])))
        _ = await t2.drain()
        await b.received(p2, Wire.encode(.block(bad)))
        #expect(rejected(await t2.drain(), "misbehaving"))
        #expect(await b.peerList().offences["invalid-block"] == 1)
        #expect(!node.submittedBlocks.contains(bad.hash))
    }

    /// A block after `parent` on a branch of its own (paid to another wallet, so it differs from the main chain's).
    static func fork(from parent: Block, at height: Int, count: Int) -> [Block] {
        let w = TestWallet()
        var out = [Block]()
        var last = parent.header
        for i in 0..<count {
            let b = ChainFixtures.next(after: last, height: height + i, paying: w)
            out.append(b)
            last = b.header
        }
        return out
    }

    @Test("headers: unsolicited ones are scored and ignored; wrong bits are an invalid header; a branch not above our tip is not fetched")
    func headersChecked() async throws {
        let blocks = Self.chain(5)
        let node = FakeNode(blocks: blocks)
        let b = await bridge(node)
        // Unsolicited: this peer is at our tip, nobody asked it for headers.
        let (p0, t0) = await handshaken(b, port: 77, height: 5, best: blocks[5].hash)
        _ = await t0.drain()
        let side = Self.fork(from: blocks[0], at: 1, count: 6)
        await b.received(p0, Wire.encode(.headers(side.map(\.header))))
        #expect(await b.peerList().offences["unrequested-data"] == 1)
        var s = await b.syncStatus()
        #expect(s.headersKnown == 0 && s.blocksQueued == 0 && s.blocksInFlight == 0)

        // Solicited (it claims a best block we do not have), but the branch is only 2 long against our 5.
        let (p1, t1) = await handshaken(b, port: 78, height: 5, best: side[1].hash)
        #expect(await t1.drain().contains { if case .getheaders = $0 { return true } else { return false } })
        await b.received(p1, Wire.encode(.headers(side[0...1].map(\.header))))
        #expect(blocksAsked(await t1.drain()).isEmpty)
        s = await b.syncStatus()
        #expect(s.blocksQueued == 0 && s.blocksInFlight == 0)

        // The same branch grown past our tip: all of it is fetched.
        let (p2, t2) = await handshaken(b, port: 79, height: 6, best: side[5].hash)
        _ = await t2.drain()
        await b.received(p2, Wire.encode(.headers(side.map(\.header))))
        s = await b.syncStatus()
        #expect(s.blocksQueued + s.blocksInFlight == 6)

        // Bits other than the network's (regtest never retargets), with valid proof of work for them.
        var odd = Self.fork(from: blocks[0], at: 1, count: 1)[0].header
        odd.bits = 0x207f_fffe
        for n in UInt32(0)... {
            odd.nonce = n
            if (try? BlockRules.checkProofOfWork(odd, params: Self.params)) != nil { break }
        }
        let (p3, t3) = await handshaken(b, port: 80, height: 7, best: odd.hash)
        _ = await t3.drain()
        await b.received(p3, Wire.encode(.headers([odd])))
        #expect(rejected(await t3.drain(), "misbehaving"))
        #expect(await b.peerList().offences["invalid-header"] == 1)
    }

    @Test("best peer height is what the peers connected now have shown: not a version's claim; a peer gone takes it with it")
    func bestPeerHeightFollowsPeers() async throws {
        let blocks = Self.chain(2)
        let node = FakeNode(blocks: blocks)
        let b = await bridge(node)
        // A claim of 40 (or of 4 billion) alone moves nothing: no "initial sync" on a word.
        let (p, t) = await handshaken(b, port: 81, height: 40, best: Hash256.sha256d([40]))
        #expect(await b.syncStatus().bestPeerHeight == 2)
        let (liar, _) = await handshaken(b, port: 83, height: UInt32.max, best: Hash256.sha256d([41]))
        #expect(await b.syncStatus().bestPeerHeight == 2)
        // Headers that connect, with their proof of work, show heights 3 to 5.
        #expect(await t.drain().contains { if case .getheaders = $0 { return true } else { return false } })
        let ahead = Self.fork(from: blocks[2], at: 3, count: 3)
        await b.received(p, Wire.encode(.headers(ahead.map(\.header))))
        #expect(await b.syncStatus().bestPeerHeight == 5)
        await b.detach(p)
        await b.detach(liar)
        #expect(await b.syncStatus().bestPeerHeight == 2)
    }

    @Test("headers that arrive while our chain store is unreachable are not the peer's fault")
    func chainStoreDownDuringHeaders() async throws {
        let blocks = Self.chain(2)
        let node = FakeNode(blocks: blocks)
        let b = await bridge(node)
        let side = Self.fork(from: blocks[1], at: 2, count: 2)
        let (p, t) = await handshaken(b, port: 82, height: 3, best: side[1].hash)
        #expect(await t.drain().contains { if case .getheaders = $0 { return true } else { return false } })
        node.sync { node.unreachable = true }
        await b.received(p, Wire.encode(.headers(side.map(\.header))))
        #expect(await b.peerList().offences.isEmpty)
        #expect(!t.closed)
    }

    @Test("a transaction asked for and not delivered (notfound, disconnect, silence) is asked of another peer that announced it")
    func txFallback() async throws {
        let node = FakeNode(blocks: Self.chain(1))
        let b = await bridge(node)
        let (p1, t1) = await handshaken(b, port: 83)
        let (p2, t2) = await handshaken(b, port: 84)
        let (p3, t3) = await handshaken(b, port: 85)
        _ = await t1.drain(); _ = await t2.drain(); _ = await t3.drain()
        let tx1 = Hash256.sha256d([1]), tx2 = Hash256.sha256d([2]), tx3 = Hash256.sha256d([3])

        // notfound: the next announcer is asked.
        await b.received(p1, Wire.encode(.inv([.init(.tx, tx1)])))
        #expect(txsAsked(await t1.drain()) == [tx1])
        await b.received(p2, Wire.encode(.inv([.init(.tx, tx1)])))
        #expect(txsAsked(await t2.drain()).isEmpty, "already asked of p1")
        await b.received(p1, Wire.encode(.notfound([.init(.tx, tx1)])))
        #expect(txsAsked(await t2.drain()) == [tx1])

        // Nobody else announced it: forgotten, so a later announcement fetches it.
        await b.received(p2, Wire.encode(.notfound([.init(.tx, tx1)])))
        await b.received(p3, Wire.encode(.inv([.init(.tx, tx1)])))
        #expect(txsAsked(await t3.drain()) == [tx1])

        // Disconnect: the next announcer is asked.
        await b.received(p1, Wire.encode(.inv([.init(.tx, tx2)])))
        #expect(txsAsked(await t1.drain()) == [tx2])
        await b.received(p2, Wire.encode(.inv([.init(.tx, tx2)])))
        await b.detach(p1)
        #expect(txsAsked(await t2.drain()) == [tx2])

        // Silence: after the stall timeout (here: any time at all) the next announcer is asked.
        let b2 = await bridge(node) { $0.stallTimeout = .nanoseconds(-1) }
        let (q1, u1) = await handshaken(b2, port: 86)
        let (q2, u2) = await handshaken(b2, port: 87)
        _ = await u1.drain(); _ = await u2.drain()
        await b2.received(q1, Wire.encode(.inv([.init(.tx, tx3)])))
        #expect(txsAsked(await u1.drain()) == [tx3])
        await b2.received(q2, Wire.encode(.inv([.init(.tx, tx3)])))
        await b2.checkStalls()
        #expect(txsAsked(await u2.drain()) == [tx3])
        #expect(await b.peerList().offences.isEmpty)
        #expect(await b2.peerList().offences.isEmpty)
    }

    @Test("announcements of a burst of local transactions go out batched: one inv per peer")
    func batchedAnnouncements() async throws {
        let node = FakeNode(blocks: Self.chain(1))
        // The timer is pushed out of the way: on a loaded machine 600 additions can outlast 100 ms,
        // and what is checked here is that they are batched, not how fast the test runs.
        let b = await bridge(node) { $0.txAnnounceDelay = .seconds(3600) }
        let (_, t1) = await handshaken(b, port: 88)
        _ = await t1.drain()
        let w = TestWallet()
        var ids = [Hash256]()
        for i in 0..<600 {
            let tx = w.spend([(OutPoint(txid: Hash256.sha256d([UInt8(i % 256), UInt8(i / 256)]), index: 0), w.output(100))], to: [w.output(50)])
            ids.append(tx.txid)
            await b.txAdded(tx.encoded)
        }
        await b.flushAnnouncements()
        let sent = await t1.drain()
        let invs = sent.compactMap { m -> [Wire.InvItem]? in if case .inv(let items) = m { return items } else { return nil } }
        #expect(invs.count == 1, "one inv, not \(invs.count)")
        #expect(invs.flatMap { $0 }.map(\.hash) == ids)
    }
}
