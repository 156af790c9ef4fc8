import ChainCore
import Foundation
import GRDB
import Logging
import NodeKit

/// The learning mode's owner: the node's `MiningPace`, kept in `mempool.sqlite` (table `pace`, one
/// row of JSON) so a restart keeps it, stored before a change is acknowledged. A change is announced
/// to the miners with a template notice carrying the new pace (they fetch a template, which carries
/// it too, and obey it); the first block at a step's height ends the step.
actor Pacer {
    let network: Network
    /// Where the pace is kept (its SQL is in MempoolStore.swift).
    let store: MempoolStore
    let logger: Logger
    /// Called after every change (publishes a template notice with the pace).
    private let announce: @Sendable (MiningPace) async -> Void
    private(set) var pace = MiningPace.running

    init(network: Network, db: DatabasePool, logger: Logger, announce: @escaping @Sendable (MiningPace) async -> Void) {
        self.network = network; self.store = MempoolStore(db: db); self.logger = logger; self.announce = announce
    }

    /// Creates the table if needed and loads what was stored (running when nothing was).
    func load() async throws {
        let stored = try await store.loadPace()
        guard let stored else { return }
        do {
            pace = try JSON.decode(MiningPace.self, Array(stored.utf8))
            // A node moved to another network with a pace stored keeps mining as usual.
            if network != .regtest { pace = .running }
        } catch {
            logger.warning("unreadable stored mining pace: running", metadata: ["error": "\(error)"])
        }
        if pace != .running {
            logger.notice("mining pace", metadata: ["state": "\(pace.display)", "minInterval": "\(pace.minInterval)"])
        }
    }

    func change(_ c: PaceChange, tipHeight: Int) async throws -> MiningPace {
        var next = pace
        guard try next.apply(c, network: network, tipHeight: tipHeight, now: ServiceSupport.now()) else { return pace }
        try await store(next)
        pace = next
        logger.notice("mining pace changed", metadata: ["action": "\(c.action)", "state": "\(next.display)",
                                                        "stepHeight": "\(next.stepHeight.map(String.init) ?? "-")",
                                                        "minInterval": "\(next.minInterval)"])
        await announce(next)
        return next
    }

    /// The chain's tip moved: a step whose block is in ends.
    func tipChanged(height: Int) async {
        var next = pace
        guard next.tipChanged(height: height, now: ServiceSupport.now()) else { return }
        do { try await store(next) } catch {
            logger.error("could not store the mining pace", metadata: ["error": "\(error)"])
        }
        pace = next
        logger.notice("step done: mining paused", metadata: ["height": "\(height)"])
        await announce(next)
    }

    private func store(_ p: MiningPace) async throws {
        let json = String(decoding: try JSON.encode(p), as: UTF8.self)
        try await store.storePace(json)
    }
}
