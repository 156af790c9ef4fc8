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

    /// The build folder: executables sit beside the test bundle.
    static var binaries: URL { Build.directory }

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

    // MARK: HTTP

    /// (status, body, headers with lower-cased names)
    func request(_ path: String, method: String = "GET", body: String? = nil, headers: [(String, String)] = []) async throws -> (Int, String, [String: String]) {
        try await fetch(path, method: method, body: body, headers: headers)
    }

    /// POSTs a transaction; the txid when the node acknowledged it.
    func submit(_ tx: Transaction) async throws -> (Int, String) {
        let (status, text, _) = try await request("/api/tx", method: "POST", body: Hex.encode(tx.encoded))
        return (status, text)
    }

    /// Confirmed, spendable outputs of `wallet` (mature coinbases only).
    func spendable(_ wallet: TestWallet, tip: Int) async throws -> [(OutPoint, TxOutput)] {
        let utxos = try await getArray("/api/address/\(wallet.address().string)/utxo")
        var out = [(OutPoint, TxOutput)]()
        for u in utxos {
            guard let txid = (u["txid"] as? String).flatMap(Hash256.init(hex:)), let vout = u["vout"] as? Int,
                  let value = u["value"] as? Int, let status = u["status"] as? [String: Any],
                  status["confirmed"] as? Bool == true, let h = status["block_height"] as? Int,
                  tip - h >= ChainParams.regtest.coinbaseMaturity else { continue }
            out.append((OutPoint(txid: txid, index: UInt32(vout)), wallet.output(Amount(value))))
        }
        return out
    }

    // MARK: CLI

    /// Runs `cairn ARGS` to completion; returns exit status and output.
    func cairn(_ args: [String], env: [String: String] = [:]) async throws -> (Int32, String) {
        try await Self.run(Self.binaries.appendingPathComponent("cairn"), args, env: env)
    }

    static func run(_ exe: URL, _ args: [String], env: [String: String] = [:]) async throws -> (Int32, String) {
        try await runProgram(exe, args, env: env)
    }
}

