import AsyncHTTPClient
import Bus
import ChainCore
import Foundation
import NIOCore
import NodeKit
import Synchronization
import Testing
import TestSupport

/// A whole node started the way a user starts it: `cairn up` on a fresh data folder, with its own
/// ports (TestSupport's `cairn up` harness, the NodeTests range of Tests/ports.json). Stopped
/// (SIGTERM, then SIGKILL) when the test ends.
final class Stack: TestNode, @unchecked Sendable {
    let miner: TestWallet
    var zmqPub: String { "tcp://127.0.0.1:\(28339 + offset)" }

    init(miner: TestWallet = TestWallet(), minerAddress: String? = nil, extra: [String] = [], blockInterval: Double = 0.3) async throws {
        self.miner = miner
        // `--no-miner` in `extra`: no miner address (cairn up refuses both).
        let paying = extra.contains("--no-miner") ? [] : ["--miner-address", minerAddress ?? miner.address().string]
        let offset = Ports.offset("NodeTests")
        try await super.init(name: "stack", offset: offset, folderPrefix: "cairn-node",
                             arguments: paying + ["--miner-threads", "1", "--block-interval", "\(blockInterval)",
                                                  "--zmq-pub", "tcp://127.0.0.1:\(28339 + offset)"] + extra,
                             what: "the stack answers /healthz", timeout: 90) { try await $0.healthy() }
    }

    var log: String {
        ((try? String(contentsOf: upLog, encoding: .utf8)) ?? "") + logTails(["chainstore", "mempool", "edge", "miner"], lines: 15)
    }

    // MARK: HTTP (`request`, `fetch`, `submit`: TestNode)

    /// Confirmed, spendable outputs of `wallet` (mature coinbases only).
    func spendable(_ wallet: TestWallet, tip: Int) async throws -> [(OutPoint, TxOutput)] {
        try await confirmedOutputs(of: wallet, tip: tip, depth: ChainParams.regtest.coinbaseMaturity)
    }

    // MARK: CLI

    /// Runs `cairn ARGS` to completion; returns exit status and output.
    func cairn(_ args: [String], env: [String: String] = [:]) async throws -> (Int32, String) {
        try await runProgram(Build.url("cairn"), args, env: env)
    }
}

