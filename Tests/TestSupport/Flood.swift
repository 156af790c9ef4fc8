import AsyncHTTPClient
import ChainCore
import Foundation
import NIOCore
import Synchronization

/// What one `POST /api/tx` came to, as a client of the node sees it.
public enum FloodOutcome: Sendable, Equatable {
    /// 2xx: the node acknowledged it (it must never be lost from here on).
    case acknowledged
    /// 4xx: refused, with the error's code.
    case refused(code: String)
    /// Not acknowledged and not refused (a 429, a 5xx, a connection that failed or timed out):
    /// the client tries the same bytes again, after `after` seconds (a `Retry-After` if given).
    case retry(code: String, after: Double)

    /// Codes that say the transaction is already in (a retried submission that had in fact gone through).
    public static let alreadyIn: Set<String> = ["txn-already-in-mempool", "txn-already-known"]
    /// Codes a conflicting spend of a coin gets: a mempool conflict, a replacement that does not pay
    /// enough more, or a coin already spent in the chain.
    public static let conflict: Set<String> = ["txn-mempool-conflict", "insufficient-fee", "bad-txns-inputs-missingorspent"]
}

/// A payment flood for the guarantee tests (issue 11): `clients` concurrent tasks, each spending
/// coins of its own as fast as the node takes them through `POST /api/tx` (one HTTP connection per
/// client). Each transaction spends the oldest coin the client holds into two (one when it is small),
/// so the chains of unconfirmed spends stay short (the pool's ancestor limit) however long it runs.
/// A submission that is neither acknowledged nor refused is tried again with the same bytes until it
/// is one or the other; every acknowledged txid is recorded, for the test to check it was not lost.
public final class PaymentFlood: Sendable {
    public struct Tally: Sendable {
        /// Txids answered 2xx, in the order the answers came.
        public var acknowledged: [String] = []
        /// Retried submissions answered "already in" (they had gone through unacknowledged).
        public var alreadyIn = 0
        /// Code → count of submissions not acknowledged and tried again (429, 5xx, connection).
        public var retried: [String: Int] = [:]
        /// Code → count of transactions refused for good (dropped by their client).
        public var refused: [String: Int] = [:]
        public var requests = 0
        /// Seconds from the start to the stop.
        public var seconds = 0.0

        public var summary: String {
            let rate = seconds > 0 ? Double(acknowledged.count) / seconds : 0
            return "\(acknowledged.count) acknowledged in \(String(format: "%.1f", seconds)) s (\(Int(rate.rounded())) a second), \(alreadyIn) already in on a retry, \(requests) requests; retried \(retried.sorted { $0.key < $1.key }); refused \(refused.sorted { $0.key < $1.key })"
        }
    }

    public let edge: String
    public let wallet: TestWallet
    public let fee: Amount
    public let http: HTTPClient
    private let tally = Mutex(Tally())
    private let stopping = Atomic<Bool>(false)
    private let tasks = Mutex<[Task<Void, Never>]>([])
    private let startedAt = Mutex<Date?>(nil)

    /// `connections`: the HTTP connections to the edge (one per client is as fast as they can go).
    public init(edge: String, wallet: TestWallet, connections: Int = 64, fee: Amount = 1_000) {
        self.edge = edge
        self.wallet = wallet
        self.fee = fee
        http = HTTPClient(eventLoopGroupProvider: .singleton,
                          configuration: .init(connectionPool: .init(idleTimeout: .seconds(60),
                                                                     concurrentHTTP1ConnectionsPerHostSoftLimit: connections)))
    }

    /// One transaction spending `coin` into `count` equal outputs to `wallet` (the clients' coins).
    public static func fanOut(_ coin: (OutPoint, TxOutput), into count: Int, wallet: TestWallet, fee: Amount = 20_000) -> Transaction {
        let each = (coin.1.value - fee) / Amount(count)
        return wallet.spend([coin], to: (0..<count).map { _ in wallet.output(each) })
    }

    /// The outputs of `tx` as coins.
    public static func coins(of tx: Transaction) -> [(OutPoint, TxOutput)] {
        tx.outputs.enumerated().map { (OutPoint(txid: tx.txid, index: UInt32($0.offset)), $0.element) }
    }

    /// POSTs `tx` once.
    public func submit(_ tx: Transaction) async -> FloodOutcome {
        var req = HTTPClientRequest(url: edge + "/api/tx")
        req.method = .POST
        req.body = .bytes(ByteBuffer(string: Hex.encode(tx.encoded)))
        do {
            let resp = try await http.execute(req, timeout: .seconds(20))
            let body = String(buffer: try await resp.body.collect(upTo: 1 << 20))
            let status = Int(resp.status.code)
            if (200..<300).contains(status) { return .acknowledged }
            let code = Self.errorCode(body) ?? "\(status)"
            if status == 429 || status >= 500 || code == "chain-unavailable" {
                let after = resp.headers.first(name: "retry-after").flatMap(Double.init) ?? 0.1
                return .retry(code: "\(status) \(code)", after: min(max(after, 0.05), 1))
            }
            return .refused(code: code)
        } catch {
            return .retry(code: "connection", after: 0.1)
        }
    }

    /// Submits `tx` until it is acknowledged or refused (a refusal "already in" counts as in).
    /// Returns true when it is in, with the codes of the refusal otherwise; gives up retrying after `patience` seconds.
    public func submitUntilDecided(_ tx: Transaction, patience: Double = 60) async -> (admitted: Bool, code: String?) {
        let deadline = Date().addingTimeInterval(patience)
        while true {
            switch await submit(tx) {
            case .acknowledged: return (true, nil)
            case .refused(let code) where FloodOutcome.alreadyIn.contains(code): return (true, code)
            case .refused(let code): return (false, code)
            case .retry(let code, let after):
                guard Date() < deadline else { return (false, "gave up: \(code)") }
                try? await Task.sleep(for: .seconds(after))
            }
        }
    }

    static func errorCode(_ text: String) -> String? {
        let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        return (json?["error"] as? [String: Any])?["code"] as? String
    }

    /// Starts one client per element of `coins` (each spends only its own).
    public func start(_ coins: [[(OutPoint, TxOutput)]]) {
        startedAt.withLock { $0 = $0 ?? Date() }
        let started = coins.map { mine in Task { await self.client(mine) } }
        tasks.withLock { $0 += started }
    }

    public var acknowledgedCount: Int { tally.withLock { $0.acknowledged.count } }
    public var current: Tally { tally.withLock { $0 } }

    /// Stops the clients (each finishes the request it has in flight) and answers what they saw.
    public func stop() async -> Tally {
        stopping.store(true, ordering: .relaxed)
        for t in tasks.withLock({ $0 }) { await t.value }
        let since = startedAt.withLock { $0 } ?? Date()
        tally.withLock { $0.seconds = Date().timeIntervalSince(since) }
        try? await http.shutdown()
        return current
    }

    private func client(_ coins: [(OutPoint, TxOutput)]) async {
        var queue = coins
        var head = 0
        var pending: Transaction?
        // "Missing inputs" is retried a while: after a restart the mempool may still be taking back
        // what it had on disk (a parent this client saw acknowledged).
        var missingTries = 0
        while !stopping.load(ordering: .relaxed) {
            if pending == nil {
                guard head < queue.count else { try? await Task.sleep(for: .milliseconds(50)); continue }
                let coin = queue[head]
                head += 1
                if head > 1_024 { queue.removeFirst(head); head = 0 }
                guard coin.1.value >= fee + 2_000 else { continue }
                let left = coin.1.value - fee
                let outputs = left >= 20_000 ? [wallet.output(left / 2), wallet.output(left - left / 2)] : [wallet.output(left)]
                pending = wallet.spend([coin], to: outputs)
                missingTries = 0
            }
            guard let tx = pending else { continue }
            let outcome = await submit(tx)
            tally.withLock { $0.requests += 1 }
            switch outcome {
            case .acknowledged:
                tally.withLock { $0.acknowledged.append(tx.txid.hex) }
                queue += Self.coins(of: tx)
                pending = nil
            case .refused(let code) where FloodOutcome.alreadyIn.contains(code):
                tally.withLock { $0.alreadyIn += 1 }
                queue += Self.coins(of: tx)
                pending = nil
            case .refused(let code) where code == "too-long-mempool-chain" || (code == "bad-txns-inputs-missingorspent" && missingTries < 100):
                if code != "too-long-mempool-chain" { missingTries += 1 }
                tally.withLock { $0.retried[code, default: 0] += 1 }
                try? await Task.sleep(for: .milliseconds(200))
            case .refused(let code):
                tally.withLock { $0.refused[code, default: 0] += 1 }
                pending = nil
            case .retry(let code, let after):
                tally.withLock { $0.retried[code, default: 0] += 1 }
                try? await Task.sleep(for: .seconds(after))
            }
        }
    }
}

extension TestNode {
    /// The txids of `txids` the node does not find (neither in its mempool nor in its chain): `txids`
    /// less `held()`.
    public func missing(_ txids: [String]) async -> [String] {
        guard let held = try? await held() else { return txids }
        return txids.filter { !held.contains($0) }
    }

    /// Every txid the node holds: its mempool's (`/api/mempool/txids`), then those of every block of
    /// its best chain (`/api/block/:hash/txids`, `parallel` blocks at a time): one request per block
    /// instead of one per transaction (`/api/tx/:txid`).
    public func held(parallel: Int = 8) async throws -> Set<String> {
        let (status, text, _) = try await fetch("/api/mempool/txids")
        guard status == 200, let pool = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String] else {
            throw TimedOut(what: "the mempool's txids (\(status))")
        }
        let tip = try await height()
        guard tip >= 0 else { throw TimedOut(what: "the tip's height") }
        let chain = try await withThrowingTaskGroup(of: [String].self) { group in
            for lane in 0..<parallel {
                group.addTask {
                    var txids = [String]()
                    for h in stride(from: lane, through: tip, by: parallel) {
                        let (found, hash, _) = try await self.fetch("/api/block-height/\(h)")
                        guard found == 200 else { throw TimedOut(what: "the block at height \(h) (\(found))") }
                        let (listed, list, _) = try await self.fetch("/api/block/\(hash.trimmingCharacters(in: .whitespacesAndNewlines))/txids")
                        guard listed == 200, let ids = try JSONSerialization.jsonObject(with: Data(list.utf8)) as? [String] else {
                            throw TimedOut(what: "the txids of block \(h) (\(listed))")
                        }
                        txids += ids
                    }
                    return txids
                }
            }
            var all = [String]()
            for try await part in group { all += part }
            return all
        }
        return Set(pool).union(chain)
    }

    /// Waits (up to `timeout`) until every txid of `txids` is found in the mempool or the chain;
    /// answers those still missing then.
    public func waitUntilFound(_ txids: [String], timeout: Double = 120) async -> [String] {
        var left = txids
        try? await waitUntil("every acknowledged transaction is in the mempool or the chain", timeout: timeout, every: 1) {
            left = await missing(left)
            return left.isEmpty
        }
        return left
    }

    /// Confirmation of a transaction: nil when the node does not know it, else (confirmed, height).
    public func confirmation(_ txid: String) async throws -> (confirmed: Bool, height: Int?)? {
        let (code, status) = try await get("/api/tx/\(txid)/status")
        guard code == 200 else { return nil }
        return (status["confirmed"] as? Bool == true, status["block_height"] as? Int)
    }
}
