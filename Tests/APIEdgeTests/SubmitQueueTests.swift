@testable import APIEdge
import Bus
import ChainCore
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import NodeKit
import Synchronization
import Testing
import TestSupport

/// What the holding mempool holds: the submissions it received, and the gate they wait behind.
final class Hold: Sendable {
    let received = Atomic<Int>(0)
    let busy = Atomic<Bool>(false)
    private let gate = Mutex<(open: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    func open() {
        let waiting = gate.withLock { g in
            g.open = true
            defer { g.waiting = [] }
            return g.waiting
        }
        for w in waiting { w.resume() }
    }

    func wait() async {
        await withCheckedContinuation { c in
            let now = gate.withLock { g in
                if g.open { return true }
                g.waiting.append(c)
                return false
            }
            if now { c.resume() }
        }
    }
}

/// A mempool that holds every `submittx` (and each transaction of a `submittxs` batch) until let go (as one whose disk is slow would), and
/// answers `mempool-busy` while `busy` is set (as one whose writer's queue is full).
final class HoldingMempool: Sendable {
    let server: RequestServer
    let hold = Hold()
    var endpoint: String { server.endpoints[0] }

    init(context: ZMQContext) async throws {
        let hold = self.hold
        let submit: @Sendable (SubmitTx) async throws -> SubmitTxResult = { p in
            if hold.busy.load(ordering: .relaxed) { throw RPCError("mempool-busy", "20000 admissions are waiting for the disk; retry shortly") }
            hold.received.add(1, ordering: .relaxed)
            await hold.wait()
            guard let raw = Hex.decode(p.hex), let tx = try? Transaction(bytes: raw) else { throw RPCError("bad-encoding", "not a transaction") }
            return SubmitTxResult(txid: tx.txid.hex, fee: 1_000, size: raw.count)
        }
        let router = RPCRouter([
            "submittx": RPCRouter.method(SubmitTx.self, submit),
            "submittxs": RPCRouter.submitBatch(submit),
        ])
        server = try await RequestServer(context: context, bind: ["tcp://127.0.0.1:*"]) { await router.handle($0) }
    }

    func stop() async { await server.stop() }
}

/// Issue 11: a client that floods gets 503 with `Retry-After` once the submission queue is full,
/// and everyone else keeps being served.
@Suite("Submission backpressure")
struct SubmitQueueTests {
    @Test("the (limit+1)th submission in flight gets 503 queue-full with Retry-After; a GET is still served; then it drains")
    func floodIsRefusedOthersServed() async throws {
        let context = try ZMQContext()
        let mempool = try await HoldingMempool(context: context)
        try await Stack.with(configure: { c in
            c.endpoints.mempoolRPC = mempool.endpoint
            c.rpcTimeout = .seconds(60)
        }) { s in
            let limit = 3
            s.edge.backend.submits.setLimit(limit)
            let hex = Hex.encode(s.fixture.pending.encoded)
            try await s.http { c in
                let held = Task {
                    try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                        for _ in 0..<limit {
                            group.addTask { try await c.execute(uri: "/api/tx", method: .post, body: ByteBuffer(string: hex)).status }
                        }
                        return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
                    }
                }
                // the first two are held by the mempool (two batches in flight), the other waits in the edge's batcher
                try await waitUntil("\(limit) submissions in flight") { s.edge.backend.submits.count == limit }
                try await waitUntil("the first two held by the mempool") { mempool.hold.received.load(ordering: .relaxed) == 2 }
                let received = mempool.hold.received.load(ordering: .relaxed)

                // one more: refused at once, the JSON error shape, a retry hint; nothing sent on
                let refused = try await c.execute(uri: "/api/tx", method: .post, body: ByteBuffer(string: hex))
                expectError(refused, .serviceUnavailable, "queue-full")
                #expect(refused.headers[.retryAfter] == "1")
                #expect(mempool.hold.received.load(ordering: .relaxed) == received)

                // JSON-RPC sendrawtransaction: Core's "retry later" code, with the HTTP meaning in data
                let rpc = try await RPCClientHelper(client: c).post(#"{"jsonrpc":"2.0","id":1,"method":"sendrawtransaction","params":["\#(hex)",0]}"#)
                let error = rpc.object["error"] as? [String: Any]
                #expect(error?["code"] as? Int == -28, "body: \(rpc.text)")
                let data = error?["data"] as? [String: Any]
                #expect(data?["code"] as? String == "queue-full" && data?["retryAfter"] as? Int == 1, "body: \(rpc.text)")

                // other clients are served meanwhile
                let tip = try await c.execute(uri: "/api/blocks/tip/height", method: .get)
                #expect(tip.status == .ok)
                #expect(Int(tip.text) == s.fixture.blocks.count - 1)

                // the held ones are answered once the mempool answers, and the queue takes more again
                mempool.hold.open()
                #expect(try await held.value == Array(repeating: .ok, count: limit))
                #expect(s.edge.backend.submits.count == 0)
                let after = try await c.execute(uri: "/api/tx", method: .post, body: ByteBuffer(string: hex))
                #expect(after.status == .ok && after.text == s.fixture.pending.txid.hex)

                // the mempool's own queue full (`mempool-busy`): the same 503, not a client error
                mempool.hold.busy.store(true, ordering: .relaxed)
                let busy = try await c.execute(uri: "/api/tx", method: .post, body: ByteBuffer(string: hex))
                expectError(busy, .serviceUnavailable, "queue-full")
                #expect(busy.headers[.retryAfter] == "1")
            }
        }
        await mempool.stop()
        await context.terminate()
    }
}
