import ChainCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NodeKit
import Synchronization

/// The closed-loop flood's load generator, as cheap as a real load tool: its transactions are signed
/// before the timed window (a real client signs on its own machine), and each of its connections is
/// one NIO channel that sends the next pre-encoded request from its event loop as soon as the last
/// answer is read (kept alive: no connection set up per request, no task or client pool between).
///
/// The transactions are chains from the start coins: each chain's next transaction spends the
/// previous one's first output (deterministic Ed25519: it depends only on the previous txid), so a
/// chain is signed in order and the chains in parallel on every core. They go out breadth first, as
/// the signing-while-sending generator sent them: every chain's first transaction, then, for each
/// accepted one, the next of its chain at the back of the queue; a refused one ends its chain.
final class PresignedFlood: Sendable {
    struct Step: Sendable { var chain: Int32; var index: Int32 }

    let roots: [(OutPoint, TxOutput)]
    /// The pre-signed transactions of each chain, and their request bodies (hex).
    let chains: [[Transaction]]
    let bodies: [[ByteBuffer]]
    let chainDepth: Int
    let accepted = Atomic<Int>(0)
    let refused = Atomic<Int>(0)
    /// Connections that stopped before the deadline (nothing queued at that moment, or closed by
    /// the edge): printed, since fewer connections send less.
    let endedEarly = Atomic<Int>(0)
    /// What to send next, in order.
    private let queue: Mutex<ArraySlice<Step>>
    /// Chains whose pre-signed transactions were all accepted before `chainDepth`: their next coin.
    private let grown = Mutex<[(OutPoint, TxOutput, Int)]>([])

    var count: Int { chains.reduce(0) { $0 + $1.count } }

    /// At least `total` transactions (as many steps on every chain, `chainDepth + 1` at most) signed
    /// on `cores` tasks.
    init(node: BenchNode, roots: [(OutPoint, TxOutput)], total: Int, fee: Amount, chainDepth: Int, cores: Int) async {
        self.roots = roots
        self.chainDepth = chainDepth
        let steps = min(chainDepth + 1, max(1, (total + roots.count - 1) / max(1, roots.count)))
        let parts = max(1, min(cores, roots.count))
        let signed = await withTaskGroup(of: (Int, [[Transaction]]).self) { group in
            for part in 0..<parts {
                group.addTask {
                    var out = [[Transaction]]()
                    for c in stride(from: part, to: roots.count, by: parts) {
                        var (op, coin) = roots[c]
                        var chain = [Transaction]()
                        chain.reserveCapacity(steps)
                        for _ in 0..<steps {
                            let tx = node.spend(op, coin, to: [TxOutput(value: coin.value - fee, publicKey: node.pub)])
                            chain.append(tx)
                            op = OutPoint(txid: tx.txid, index: 0); coin = tx.outputs[0]
                        }
                        out.append(chain)
                    }
                    return (part, out)
                }
            }
            return await group.reduce(into: [Int: [[Transaction]]]()) { $0[$1.0] = $1.1 }
        }
        var chains = [[Transaction]](repeating: [], count: roots.count)
        for (part, list) in signed {
            for (k, chain) in list.enumerated() { chains[part + k * parts] = chain }
        }
        self.chains = chains
        bodies = chains.map { $0.map { ByteBuffer(string: Hex.encode($0.encoded)) } }
        queue = Mutex(roots.indices.map { Step(chain: Int32($0), index: 0) }[...])
    }

    /// The next request to send, if any is left.
    func take() -> Step? { queue.withLock { $0.popFirst() } }

    /// How many requests wait to be sent.
    var queued: Int { queue.withLock { $0.count } }

    func body(_ s: Step) -> ByteBuffer { bodies[Int(s.chain)][Int(s.index)] }

    /// The answer to `s`: accepted, its chain's next transaction queued (or, past the pre-signed
    /// ones, its output kept for later parts); refused, its chain ends.
    func settle(_ s: Step, ok: Bool) {
        guard ok else { refused.add(1, ordering: .relaxed); return }
        accepted.add(1, ordering: .relaxed)
        let next = Step(chain: s.chain, index: s.index + 1)
        if Int(next.index) < chains[Int(s.chain)].count {
            queue.withLock { $0.append(next) }
        } else if Int(s.index) < chainDepth {
            let tx = chains[Int(s.chain)][Int(s.index)]
            grown.withLock { $0.append((OutPoint(txid: tx.txid, index: 0), tx.outputs[0], Int(s.index) + 1)) }
        }
    }

    /// The coins the chains go on from (unsent steps first, then grown chains), with their depth.
    func remaining() -> [(OutPoint, TxOutput, Int)] {
        let unsent = queue.withLock { Array($0) }.map { s -> (OutPoint, TxOutput, Int) in
            guard s.index > 0 else { return (roots[Int(s.chain)].0, roots[Int(s.chain)].1, 0) }
            let previous = chains[Int(s.chain)][Int(s.index) - 1]
            return (OutPoint(txid: previous.txid, index: 0), previous.outputs[0], Int(s.index))
        }
        return unsent + grown.withLock { $0 }
    }

    /// `connections` kept-alive connections to `host:port`, each posting the next transaction to
    /// `/api/tx` once the last answer is read, while `clock.now < deadline` and requests are left.
    func send(host: String, port: Int, connections: Int, until deadline: ContinuousClock.Instant) async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/api/tx")
        head.headers.add(name: "Host", value: "\(host):\(port)")
        head.headers.add(name: "Content-Type", value: "text/plain")
        let template = head
        var done = [EventLoopFuture<Void>]()
        var channels = [any Channel]()
        for _ in 0..<connections {
            let promise = group.next().makePromise(of: Void.self)
            let channel = try await ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(
                            FloodConnection(flood: self, head: template, deadline: deadline, done: promise))
                    }
                }
                .connect(host: host, port: port).get()
            channels.append(channel)
            done.append(promise.futureResult)
        }
        for f in done { try? await f.get() }
        for c in channels { try? await c.close() }
    }
}

/// One connection of `PresignedFlood.send`: a request at a time, the next sent from the event loop
/// when the answer's end is read.
private final class FloodConnection: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let flood: PresignedFlood
    let head: HTTPRequestHead
    let deadline: ContinuousClock.Instant
    let done: EventLoopPromise<Void>
    var current: PresignedFlood.Step?
    var status: UInt = 0
    var finished = false

    init(flood: PresignedFlood, head: HTTPRequestHead, deadline: ContinuousClock.Instant, done: EventLoopPromise<Void>) {
        self.flood = flood; self.head = head; self.deadline = deadline; self.done = done
    }

    func channelActive(context: ChannelHandlerContext) {
        sendNext(context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): status = h.status.code
        case .body: break
        case .end:
            if let s = current { flood.settle(s, ok: status == 200) }
            current = nil
            sendNext(context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let s = current { flood.settle(s, ok: false); current = nil }
        finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func finish() {
        guard !finished else { return }
        finished = true
        if ContinuousClock.now < deadline { flood.endedEarly.add(1, ordering: .relaxed) }
        done.succeed(())
    }

    private func sendNext(_ context: ChannelHandlerContext) {
        guard ContinuousClock.now < deadline, let s = flood.take() else {
            finish()
            return
        }
        current = s
        let body = flood.body(s)
        var head = self.head
        head.headers.add(name: "Content-Length", value: String(body.readableBytes))
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

/// This process's CPU time so far (user + system, seconds), from /proc/self/stat.
enum ProcessCPU {
    static func seconds() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // After the command's closing parenthesis: field 3 (state) onwards; utime and stime are fields 14 and 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
