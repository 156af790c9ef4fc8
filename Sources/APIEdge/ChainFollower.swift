import Bus
import ChainCore
import Foundation
import Logging
import NodeKit

/// Follows the chain store: keeps the chain as the edge last announced it (the last `window`
/// blocks), checks every `connected`/`disconnected` publication against it, and on a gap, a
/// publisher restart or a block that does not link, fetches the difference from the chain store
/// (disconnects newest first down to the fork, then connects in order) before going on.
actor ChainFollower {
    private var announced: [(height: Int, hash: Hash256)] = []
    private var heights: [Hash256: Int] = [:]
    /// The block bytes of the announced tip, for `rawblock`.
    private var tipRaw: [UInt8] = []
    /// The tip last announced with `hashblock`.
    private var hashblockSent: Hash256?
    private let backend: Backend
    private let outlet: any FeedOutlet
    private let onConfirmed: @Sendable ([Hash256]) async -> Void
    private let onDisconnected: @Sendable () async -> Void
    /// Called before a block's announcement (the mempool follower announces the block's
    /// transactions the feed has not announced yet, so that each shows before its block).
    private let beforeConnected: @Sendable (Block) async -> Void
    private let logger: Logger
    let window: Int
    let maxCatchUp: Int
    private(set) var catchUps = 0

    init(backend: Backend, outlet: any FeedOutlet, logger: Logger, window: Int = 1000, maxCatchUp: Int = 1000,
         onConfirmed: @escaping @Sendable ([Hash256]) async -> Void = { _ in },
         onDisconnected: @escaping @Sendable () async -> Void = {},
         beforeConnected: @escaping @Sendable (Block) async -> Void = { _ in }) {
        self.onDisconnected = onDisconnected
        self.beforeConnected = beforeConnected
        self.backend = backend
        self.outlet = outlet
        self.logger = logger
        self.window = window
        self.maxCatchUp = maxCatchUp
        self.onConfirmed = onConfirmed
    }

    var tip: (height: Int, hash: Hash256)? { announced.last }

    /// The first snapshot (after the subscription is synced): where the feed starts. Nothing is announced.
    func start() async {
        await catchUp(reason: "start")
    }

    func handle(_ event: SubscriberEvent) async {
        switch event {
        case let .message(topic, body, _):
            switch topic {
            case Topic.connected:
                guard let (height, raw) = HeightPrefixed.decode(body), let block = try? Block(bytes: raw) else {
                    return logger.warning("undecodable connected message")
                }
                await connected(height: height, block: block, raw: raw)
            case Topic.disconnected:
                guard let (height, raw) = HeightPrefixed.decode(body), let block = try? Block(bytes: raw) else {
                    return logger.warning("undecodable disconnected message")
                }
                await disconnected(height: height, hash: block.hash, previous: block.header.previousHash)
            case Topic.hashblock:
                // The end of one change of the chain store's tip.
                guard let hash = displayHash(body), hash == announced.last?.hash else { return }
                await announceTip()
            default:
                break
            }
        case let .gap(topic, expected, received):
            logger.warning("missed chain store publications: fetching what was missed",
                           metadata: ["topic": "\(topic)", "expected": "\(expected)", "received": "\(received)"])
            await catchUp(reason: "gap in \(topic)")
        case let .reset(topic, _, _):
            logger.notice("chain store restarted: fetching what was missed", metadata: ["topic": "\(topic)"])
            await catchUp(reason: "chain store restarted")
        }
    }

    private func connected(height: Int, block: Block, raw: [UInt8]) async {
        let hash = block.hash
        guard let last = announced.last else { return await catchUp(reason: "not started") }
        if block.header.previousHash == last.hash && height == last.height + 1 {
            await push(height: height, block: block, raw: raw)
        } else if heights[hash] == height {
            return  // already announced (fetched while catching up)
        } else {
            await catchUp(reason: "block \(hash.hex) at \(height) does not follow \(last.hash.hex) at \(last.height)")
        }
    }

    private func disconnected(height: Int, hash: Hash256, previous: Hash256) async {
        guard let last = announced.last else { return await catchUp(reason: "not started") }
        if last.hash == hash {
            announced.removeLast()
            heights[hash] = nil
            // The tip is now its parent, even when the edge never announced it (the feed started on `hash`).
            if announced.isEmpty {
                announced = [(height - 1, previous)]
                heights[previous] = height - 1
            }
            tipRaw = []
            outlet.post(.disconnected(height: height, hash: hash, previous: previous))
            await onDisconnected()
        } else if heights[hash] == nil {
            return  // never announced, or already taken back while catching up
        } else {
            await catchUp(reason: "block \(hash.hex) disconnected below the tip")
        }
    }

    private func push(height: Int, block: Block, raw: [UInt8]) async {
        announced.append((height, block.hash))
        heights[block.hash] = height
        if announced.count > window {
            let old = announced.removeFirst()
            heights[old.hash] = nil
        }
        tipRaw = raw
        await beforeConnected(block)
        outlet.post(.connected(height: height, block: block, raw: raw))
        await onConfirmed(block.transactions.map(\.txid))
    }

    private func announceTip() async {
        guard let last = announced.last, hashblockSent != last.hash, !tipRaw.isEmpty else { return }
        hashblockSent = last.hash
        outlet.post(.newTip(hash: last.hash, raw: tipRaw))
    }

    /// Brings the announced chain to the chain store's best chain; retries until it can (the
    /// chain store may still be starting), or the task is cancelled.
    func catchUp(reason: String) async {
        catchUps += 1
        var attempt = 0
        while !Task.isCancelled {
            attempt += 1
            do {
                if try await catchUpOnce(reason: reason) { return }
            } catch {
                if attempt == 1 || attempt % 10 == 0 {
                    logger.warning("chain store not answering while catching up; retrying", metadata: ["error": "\(error)"])
                }
            }
            try? await Task.sleep(for: .milliseconds(attempt < 5 ? 200 : 1000))
        }
    }

    /// One attempt; false when the chain changed under it (try again).
    private func catchUpOnce(reason: String) async throws -> Bool {
        let tip = try await backend.chain(.getchaintip, Empty(), as: ChainTip.self)
        guard let tipHash = Hash256(hex: tip.hash) else { return true }
        guard !announced.isEmpty else {
            // The starting point: this edge announces what comes after it.
            let info = try await backend.chain(.getblock, BlockRef(hash: tip.hash), as: BlockInfo.self)
            announced = [(tip.height, tipHash)]
            heights = [tipHash: tip.height]
            tipRaw = Hex.decode(info.hex) ?? []
            hashblockSent = tipHash
            return true
        }
        if announced.last?.hash == tipHash { return true }
        // The fork point: the newest announced block still on the best chain.
        var fork: Int?
        for i in announced.indices.reversed() {
            do {
                let header = try await backend.chain(.getheader, BlockRef(hash: announced[i].hash.hex), as: HeaderInfo.self)
                if header.inBestChain { fork = i; break }
            } catch let e as APIError where e.status == .notFound {
                continue
            }
        }
        guard let f = fork, tip.height - announced[f].height <= maxCatchUp else {
            logger.warning("cannot tell what the feed missed: announcing a resync", metadata: ["reason": "\(reason)",
                           "announced": "\(announced.last!.height)", "tip": "\(tip.height)"])
            let info = try await backend.chain(.getblock, BlockRef(hash: tip.hash), as: BlockInfo.self)
            announced = [(tip.height, tipHash)]
            heights = [tipHash: tip.height]
            tipRaw = Hex.decode(info.hex) ?? []
            hashblockSent = tipHash
            outlet.post(.resync(scope: "chain", reason: "more than \(maxCatchUp) blocks or a reorg deeper than \(window) blocks missed (\(reason))"))
            return true
        }
        var replayed = 0
        while announced.count - 1 > f {
            let gone = announced.removeLast()
            heights[gone.hash] = nil
            tipRaw = []
            outlet.post(.disconnected(height: gone.height, hash: gone.hash, previous: announced[announced.count - 1].hash))
            await onDisconnected()
            replayed += 1
        }
        var height = announced[f].height + 1
        while height <= tip.height {
            let info = try await backend.chain(.getblock, BlockRef(height: height), as: BlockInfo.self)
            guard let raw = Hex.decode(info.hex), let block = try? Block(bytes: raw) else { return false }
            // A reorg while fetching: start again from the new fork point.
            guard block.header.previousHash == announced.last?.hash else { return false }
            await push(height: height, block: block, raw: raw)
            replayed += 1
            height += 1
        }
        await announceTip()
        logger.notice("feed caught up with the chain store", metadata: ["reason": "\(reason)", "events": "\(replayed)", "height": "\(tip.height)"])
        return true
    }
}
