import ChainCore
import Foundation
import NodeKit
import Synchronization

/// One unit of work handed to the hashing threads.
struct Work: Sendable {
    let generation: UInt64
    let height: Int
    let previousHash: Hash256
    let bits: UInt32
    let time: UInt32
    let coinbaseValue: Amount
    let transactions: [Transaction]
    let txids: [Hash256]
    let payoutKey: [UInt8]
    let minerID: [UInt8]
    let target: Hash256
}

struct FoundBlock: Sendable {
    let block: Block
    let generation: UInt64
}

/// The coinbase each thread mines: height, the miner's id, the thread's index
/// and an extranonce, so no two threads (nor two miners) ever hash the same header.
enum CoinbaseBuilder {
    static let tag = Array("cairn".utf8)

    static func coinbase(_ w: Work, thread: UInt8, extranonce: UInt64) -> Transaction {
        let h = UInt32(w.height)
        var payload: [UInt8] = [UInt8(h & 0xff), UInt8(h >> 8 & 0xff), UInt8(h >> 16 & 0xff), UInt8(h >> 24)]
        payload += w.minerID
        payload.append(thread)
        payload += (0..<8).map { UInt8(truncatingIfNeeded: extranonce >> (8 * $0)) }
        payload += tag
        return Transaction(inputs: [TxInput(previousOutput: .null, payload: payload)],
                           outputs: [TxOutput(value: w.coinbaseValue, publicKey: w.payoutKey)])
    }

    static func header(_ w: Work, coinbase: Transaction, time: UInt32) -> BlockHeader {
        BlockHeader(version: 1, previousHash: w.previousHash, merkleRoot: Merkle.root([coinbase.txid] + w.txids).root,
                    time: time, bits: w.bits, nonce: 0)
    }
}

/// N hashing threads. Each runs on its own OS thread (never the cooperative
/// pool), scans nonces in chunks and checks the shared generation between
/// chunks, so new work takes effect within one chunk (a few milliseconds).
final class HashingThreads: Sendable {
    let count: Int
    private let current = Mutex<Work?>(nil)
    private let generation = Atomic<UInt64>(0)
    private let hashes = Atomic<UInt64>(0)
    private let running = Atomic<Bool>(true)
    private let found: AsyncStream<FoundBlock>.Continuation
    let results: AsyncStream<FoundBlock>
    static let chunk: UInt32 = 1 << 16

    init(count: Int) {
        self.count = max(1, count)
        (results, found) = AsyncStream.makeStream(of: FoundBlock.self, bufferingPolicy: .unbounded)
        for i in 0..<self.count {
            let t = Thread { [self] in self.loop(index: UInt8(truncatingIfNeeded: i)) }
            t.name = "cairn.miner.\(i)"
            t.start()
        }
    }

    /// New work; the threads drop what they were doing.
    func assign(_ work: Work) {
        current.withLock { $0 = work }
        generation.store(work.generation, ordering: .releasing)
    }

    /// Stop hashing until the next `assign`.
    func pause() {
        current.withLock { $0 = nil }
        generation.add(1 << 40, ordering: .releasing)
    }

    func stop() {
        running.store(false, ordering: .releasing)
        pause()
        found.finish()
    }

    var totalHashes: UInt64 { hashes.load(ordering: .relaxed) }

    private func loop(index: UInt8) {
        while running.load(ordering: .acquiring) {
            let gen = generation.load(ordering: .acquiring)
            guard let work = current.withLock({ $0 }), work.generation == gen else {
                usleep(2_000)
                continue
            }
            mine(work, index: index)
        }
    }

    private func mine(_ work: Work, index: UInt8) {
        var extranonce: UInt64 = 0
        while running.load(ordering: .relaxed) && generation.load(ordering: .relaxed) == work.generation {
            let coinbase = CoinbaseBuilder.coinbase(work, thread: index, extranonce: extranonce)
            let time = max(work.time, UInt32(Date().timeIntervalSince1970))
            var header = CoinbaseBuilder.header(work, coinbase: coinbase, time: time)
            var hasher = HeaderHasher(header: header)
            var start: UInt32 = 0
            while true {
                if let nonce = hasher.scan(from: start, count: Self.chunk, target: work.target) {
                    hashes.add(UInt64(nonce &- start) + 1, ordering: .relaxed)
                    header.nonce = nonce
                    found.yield(FoundBlock(block: Block(header: header, transactions: [coinbase] + work.transactions),
                                           generation: work.generation))
                    // Wait for the next piece of work rather than mining a sibling of our own block.
                    while running.load(ordering: .relaxed) && generation.load(ordering: .relaxed) == work.generation { usleep(1_000) }
                    return
                }
                hashes.add(UInt64(Self.chunk), ordering: .relaxed)
                guard generation.load(ordering: .relaxed) == work.generation else { return }
                let (next, overflow) = start.addingReportingOverflow(Self.chunk)
                if overflow { break }   // nonce space exhausted: next extranonce
                start = next
            }
            extranonce += 1
        }
    }
}
