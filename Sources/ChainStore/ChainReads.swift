import ChainCore
import Foundation
import GRDB
import NodeKit

/// The reads validation needs, outside the writer: a stored block and its undo data, and the coins
/// a block spends, in one read or split across readers (every statement is `ChainStorage`'s).
extension Chain {
    func loadBlock(_ hash: Hash256) async throws -> Block {
        guard let raw = try await db.read({ db in try ChainStorage.block(db, hash) }) else {
            throw ChainStoreError.corrupt("block \(hash.hex) missing")
        }
        return try Block(bytes: Array(raw))
    }

    func loadBlockAndUndo(_ hash: Hash256) async throws -> (Block, [SpentCoin]) {
        let block = try await loadBlock(hash)
        guard let raw = try await db.read({ db in try ChainStorage.undo(db, hash) }) else {
            throw ChainStoreError.corrupt("undo data of \(hash.hex) missing")
        }
        return (block, try UndoCoding.decode(Array(raw)))
    }

    /// The coins of `outpoints` in the best chain's UTXO set, read in one transaction.
    func fetchCoins(_ outpoints: [OutPoint]) async throws -> [OutPoint: Coin] {
        guard !outpoints.isEmpty else { return [:] }
        return try await db.read { db in try ChainStorage.coins(db, outpoints) }
    }

    /// The outpoints `block`'s non-coinbase transactions spend, in block order.
    static func spentOutpoints(_ block: Block) -> [OutPoint] {
        block.transactions.dropFirst().flatMap { $0.inputs.map(\.previousOutput) }
    }

    /// `fetchCoins` split across the cores, each part read on a reader of its own. The parts may
    /// read different snapshots: only for the writer's own validation, while no other write of the
    /// UTXO set can run (blocks are processed one at a time).
    func fetchCoinsInParallel(_ outpoints: [OutPoint], parallelism: Int = SignatureBatch.defaultParallelism) async throws -> [OutPoint: Coin] {
        try await Self.fetchCoinsInParallel(outpoints, db: db, parallelism: parallelism)
    }

    static func fetchCoinsInParallel(_ outpoints: [OutPoint], db: DatabasePool,
                                     parallelism: Int = SignatureBatch.defaultParallelism) async throws -> [OutPoint: Coin] {
        let part = max(Self.coinsPerRead, (outpoints.count + parallelism - 1) / max(1, parallelism))
        guard outpoints.count > part else {
            guard !outpoints.isEmpty else { return [:] }
            return try await db.read { db in try ChainStorage.coins(db, outpoints) }
        }
        return try await withThrowingTaskGroup(of: [OutPoint: Coin].self) { group in
            for start in stride(from: 0, to: outpoints.count, by: part) {
                let slice = Array(outpoints[start..<min(start + part, outpoints.count)])
                group.addTask { try await db.read { db in try ChainStorage.coins(db, slice) } }
            }
            var all = [OutPoint: Coin](minimumCapacity: outpoints.count)
            for try await coins in group { all.merge(coins) { a, _ in a } }
            return all
        }
    }

    /// Below this many outpoints a second reader costs more than it saves.
    static let coinsPerRead = 500
}
