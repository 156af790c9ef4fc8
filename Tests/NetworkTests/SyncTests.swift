import Bus
import ChainCore
import Foundation
import NodeKit
import Testing
import TestSupport

extension NetworkTests {
    /// 2,000 regtest blocks after genesis, from block 12 on each carrying a transaction that spends
    /// the coinbase of block h − 11 into two outputs (so the UTXO set is not just coinbases).
    static func makeChain(_ count: Int, wallet: TestWallet) -> [Block] {
        let params = ChainParams.regtest
        var blocks = [params.genesis]
        let start = UInt32(Date().timeIntervalSince1970) - UInt32(count) - 600
        for height in 1...count {
            var txs = [Transaction]()
            var fees: Amount = 0
            if height >= 12 {
                let cb = blocks[height - 11].transactions[0]
                let value = cb.outputs[0].value
                let fee: Amount = 1_000
                txs.append(wallet.spend([(OutPoint(txid: cb.txid, index: 0), cb.outputs[0])],
                                        to: [wallet.output(value / 2), wallet.output(value - value / 2 - fee)]))
                fees = fee
            }
            let cb = ChainFixtures.coinbase(height: height, outputs: [wallet.output(params.subsidy(height: height) + fees)])
            let parent = blocks.last!.header
            blocks.append(ChainFixtures.block(parent: parent, transactions: [cb] + txs, time: max(start + UInt32(height), parent.time + 1)))
        }
        return blocks
    }

    @Test("a fresh node syncs 2,000 blocks with transactions from two peers and reaches the same tip and UTXO set")
    func freshNodeSyncs() async throws {
        let w = TestWallet()
        let blocks = Self.makeChain(2000, wallet: w)
        let a = try await Node("A", miner: nil)
        let b = try await Node("B", miner: nil)
        try await withLogs([a, b]) {
            // A gets the chain through its chain store's submitblock; B gets it from A over the peer protocol.
            let context = try ZMQContext()
            let chainA = try await RPCClient(context: context, endpoint: a.endpoints.chainRPC, timeout: .seconds(30), retries: 1)
            for block in blocks.dropFirst() {
                let r = try await chainA.call("submitblock", SubmitBlock(hex: Hex.encode(block.encoded), source: "test"), as: SubmitBlockResult.self)
                try #require(r.accepted, "\(r)")
            }
            await chainA.stop()
            await context.terminate()
            // The chain store took every block; A's edge learns its tip from the chain store's `tip`
            // publications, a moment later (it lagged behind in a loaded full run).
            try await waitUntil("A's edge shows the last block as its tip", timeout: 60) { try await a.tipHash() == blocks.last!.hash.hex }
            try await b.rpc("peer", "addpeer", AddPeer(url: a.peerURL), as: Empty.self)
            try await waitUntil("B synced 2,000 blocks from A", timeout: 240, every: 0.5) { try await b.tipHash() == blocks.last!.hash.hex }

            // A fresh node started with both as peers fetches from both in parallel.
            let began = Date()
            let d = try await Node("D", miner: nil, peers: [a.peerURL, b.peerURL])
            try await withLogs([d]) {
                // Kill D's bridge mid-sync: the supervisor restarts it and it resumes from the chain store's locator.
                try await waitUntil("D is syncing", timeout: 120, every: 0.05) { try await d.height() >= 200 }
                let killedAt = try await d.height()
                for pid in d.pids(of: "cairn-peerbridge") { kill(pid, SIGKILL) }
                try await waitUntil("D synced 2,000 blocks from A and B", timeout: 240, every: 0.5) { try await d.tipHash() == blocks.last!.hash.hex }
                #expect(killedAt < 2000, "the bridge was killed before the sync was done (at \(killedAt))")
                #expect(try String(contentsOf: d.dir.appendingPathComponent("up.log"), encoding: .utf8).contains("peerbridge restarted"))
                let seconds = Date().timeIntervalSince(began)
                print("fresh node synced 2,000 blocks (\(blocks.count - 12) transactions besides coinbases) in \(String(format: "%.1f", seconds)) s including its start")
                let sync = try await d.rpc("peer", "getsync", Empty(), as: SyncStatus.self)
                // The restarted bridge fetched only what the chain store did not have yet.
                #expect(sync.blocksAccepted > 0 && sync.blocksAccepted <= 2000 - killedAt, "\(sync), killed at \(killedAt)")
                #expect(sync.progress == 1 && sync.state == "idle", "\(sync)")
                let list = try await d.peers()
                #expect(list.peers.filter(\.handshaken).count == 2)
                // Both peers delivered blocks to the restarted bridge (parallel fetch), when it had enough
                // left to fetch to show it (in a loaded run the kill may come late); none misbehaved.
                let left = 2000 - killedAt
                print("D's bridge killed at height \(killedAt): the restarted one fetched \(left) blocks; messages in by peer \(list.peers.map { ($0.address, $0.messagesIn) })")
                if left >= 400 {
                    #expect(list.peers.allSatisfy { $0.messagesIn > 20 }, "\(list.peers.map { ($0.address, $0.messagesIn) })")
                }
                #expect(list.offences.isEmpty, "\(list.offences)")
                // Same UTXO set: D's own recomputation agrees with its set, and the set matches A's.
                let checkD = try await d.rpc("chain", "verifyutxo", Empty(), as: UTXOCheck.self)
                let checkA = try await a.rpc("chain", "verifyutxo", Empty(), as: UTXOCheck.self)
                #expect(checkD.ok && checkA.ok, "\(checkD.mismatches.prefix(5))")
                #expect(checkD.utxoCount == checkA.utxoCount)
                let infoA = try await a.rpc("chain", "getchaininfo", Empty(), as: ChainInfo.self)
                let infoD = try await d.rpc("chain", "getchaininfo", Empty(), as: ChainInfo.self)
                #expect(infoA.supply == infoD.supply && infoA.chainwork == infoD.chainwork && infoA.utxoCount == infoD.utxoCount)
                let utxosA = try await a.getArray("/api/address/\(w.address().string)/utxo").compactMap { "\($0["txid"] ?? ""):\($0["vout"] ?? "")" }
                let utxosD = try await d.getArray("/api/address/\(w.address().string)/utxo").compactMap { "\($0["txid"] ?? ""):\($0["vout"] ?? "")" }
                #expect(!utxosA.isEmpty && Set(utxosA) == Set(utxosD))
                // A transaction deep in the chain is indexed on D at the same place.
                let deep = blocks[1500].transactions[1].txid
                #expect(try await d.confirmedHeight(deep) == 1500)
            }
        }
    }
}
