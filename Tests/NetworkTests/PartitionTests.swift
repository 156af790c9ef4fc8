import ChainCore
import Foundation
import NodeKit
import Testing
import TestSupport

extension NetworkTests {
    @Test("partition: both sides mine; after healing all converge to the most-work chain, the loser's transaction is mined again, a double spend ends with one confirmed")
    func partitionHeals() async throws {
        let wa = TestWallet(), wc = TestWallet()
        let payA = TestWallet(), payC = TestWallet()
        // A mines fast, C slowly: after the partition A's side has more work.
        let a = try await Node("A", miner: wa, blockInterval: 0.3)
        let b = try await Node("B", miner: nil, peers: [a.peerURL])
        let c = try await Node("C", miner: wc, blockInterval: 1.5, peers: [a.peerURL])
        try await withLogs([a, b, c]) {
            try await waitUntil("A's miner has coins mature on C's chain too, and all agree on height 14", timeout: 120) {
                guard try await c.spendable(wa).count >= 2 else { return false }
                let h = try await a.hash(at: 14)
                let (hb, hc) = try await (b.hash(at: 14), c.hash(at: 14))
                return h != nil && hb == h && hc == h
            }
            // Partition C away from A and B.
            try await c.setNetworkActive(false)
            try await waitUntil("C has no peers and A only B", timeout: 30) {
                let (pc, pa) = try await (c.handshakenPeers(), a.handshakenPeers())
                return pc == 0 && pa == 1
            }
            // Coins mature on C's (shorter) chain are mature on A's as well.
            let coins = try await c.spendable(wa)
            let x = coins[0], y = coins[1]
            // The same coin spent on both sides, to different payees; another transaction only on C's side.
            let tx1 = wa.spend([x], to: [payA.output(x.1.value - 10_000)])
            let tx2 = wa.spend([x], to: [payC.output(x.1.value - 20_000)])
            let tx3 = wa.spend([y], to: [payC.output(y.1.value - 10_000)])
            for (node, tx) in [(a, tx1), (c, tx2), (c, tx3)] {
                let (status, body) = try await node.submit(tx)
                #expect(status == 200, "\(node.name) took \(tx.txid.hex): \(body)")
            }
            try await waitUntil("tx1 confirmed on A's side, tx2 and tx3 on C's", timeout: 60) {
                let (one, two, three) = try await (a.confirmedHeight(tx1.txid), c.confirmedHeight(tx2.txid), c.confirmedHeight(tx3.txid))
                return one != nil && two != nil && three != nil
            }
            #expect(try await b.confirmedHeight(tx3.txid) == nil, "tx3 did not cross the partition")
            try await waitUntil("A's side is well ahead of C's", timeout: 60) {
                let (ha, hc) = try await (a.height(), c.height())
                return ha >= hc + 4
            }
            let forkedC = try await c.tipHash()

            // Heal.
            try await c.setNetworkActive(true)
            try await waitUntil("C reorganised onto A's chain", timeout: 90) {
                let ha = try await a.height()
                let h = ha - 1
                let ah = try await a.hash(at: h)
                let (ch, bh) = try await (c.hash(at: h), b.hash(at: h))
                return ah != nil && ch == ah && bh == ah
            }
            #expect(try await c.request("/api/block/\(forkedC)/status").1.contains("\"in_best_chain\":false"))
            // tx3 went back to C's mempool, crossed to A and is mined on the common chain.
            try await waitUntil("tx3 is confirmed on A's chain and seen the same by all", timeout: 90) {
                guard let ha = try await a.confirmedHeight(tx3.txid) else { return false }
                let (hb, hc) = try await (b.confirmedHeight(tx3.txid), c.confirmedHeight(tx3.txid))
                return hb == ha && hc == ha
            }
            // Exactly one of the double spends is confirmed, the same one everywhere.
            for n in [a, b, c] {
                let one = try await n.confirmedHeight(tx1.txid)
                let two = try await n.confirmedHeight(tx2.txid)
                #expect(one != nil && two == nil, "\(n.name): tx1 \(String(describing: one)), tx2 \(String(describing: two))")
                #expect(try await !n.inMempool(tx2.txid), "\(n.name) dropped the losing double spend")
            }
            for n in [a, b, c] {
                let check = try await n.rpc("chain", "verifyutxo", Empty(), as: UTXOCheck.self)
                #expect(check.ok, "\(n.name): \(check.mismatches.prefix(3))")
            }
        }
    }
}
