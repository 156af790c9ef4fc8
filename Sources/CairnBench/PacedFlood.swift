import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The paced (open-loop) load generator of the flood's latency figure, as cheap as the closed loop's:
/// its request bodies are ready before the window (signed off the clock), and it sends over kept-alive
/// NIO connections, no task or client pool per request.
///
/// Request i's scheduled time is `start + i / rate`, and its latency counts from that time, whenever
/// it actually went out (no coordinated omission): a request that waits for a free connection waits
/// on the clock. The requests are dealt to one lane per event loop (request i to lane i % lanes), each
/// lane with its share of the connections; a lane's timer releases its requests at their scheduled
/// times to any idle connection of the lane, or queues them until one is free. Everything a lane
/// touches lives on its event loop, so nothing is locked on the way.
final class PacedFlood: Sendable {
    /// The request bodies, in send order.
    let bodies: [ByteBuffer]
    /// Requests a second.
    let rate: Double

    init(bodies: [ByteBuffer], rate: Double) {
        self.bodies = bodies
        self.rate = rate
    }

    /// What one run measured.
    struct Result: Sendable {
        /// Acknowledged requests (200): seconds from the scheduled time to the answer's end.
        var latencies: [Double] = []
        /// Every request sent: seconds from its scheduled time to its sending (a free connection's wait included).
        var sendLags: [Double] = []
        var refused = 0
        /// Requests sent whose connection closed before the answer, or never answered before the give-up time.
        var unanswered = 0
        /// Requests that had to wait for a free connection.
        var waited = 0
        var connectionsLost = 0
        var firstSend: NIODeadline?
        var lastSend: NIODeadline?
        var start = NIODeadline.now()
        var end = NIODeadline.now()

        var sent: Int { sendLags.count }
        /// Requests a second actually sent (first to last send).
        var sendRate: Double {
            guard let a = firstSend, let b = lastSend, sent > 1, b > a else { return .nan }
            return Double(sent - 1) / (Double((b - a).nanoseconds) / 1e9)
        }
    }

    /// Opens `connections` kept-alive connections to `host:port` (spread over the event loops), then
    /// posts every body to `/api/tx` on the schedule from `start` (at least 100 ms after the connections
    /// are up); returns once every request is answered, or `giveUp` seconds after the last scheduled time.
    func run(host: String, port: Int, connections: Int, giveUp: Double = 60) async throws -> Result {
        let loops = Array(MultiThreadedEventLoopGroup.singleton.makeIterator())
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/api/tx")
        head.headers.add(name: "Host", value: "\(host):\(port)")
        head.headers.add(name: "Content-Type", value: "text/plain")
        let lanes = loops.enumerated().map { PacedLane(flood: self, loop: $0.element, index: $0.offset, count: loops.count, head: head) }
        var channels = [any Channel]()
        for k in 0..<max(connections, lanes.count) {
            let lane = lanes[k % lanes.count]
            let channel = try await ClientBootstrap(group: lane.loop)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(PacedConnection(lane: lane))
                    }
                }
                .connect(host: host, port: port).get()
            channels.append(channel)
        }
        let start = NIODeadline.now() + .milliseconds(100)
        let last = start + .nanoseconds(Int64(Double(max(0, bodies.count - 1)) / rate * 1e9))
        let done = lanes.map { lane in lane.loop.flatSubmit { lane.begin(start: start, giveUp: last + .nanoseconds(Int64(giveUp * 1e9))) } }
        var result = Result()
        result.start = start
        for (lane, f) in zip(lanes, done) {
            try await f.get()
            let part = try await lane.loop.submit { lane.result }.get()
            result.latencies += part.latencies
            result.sendLags += part.sendLags
            result.refused += part.refused
            result.unanswered += part.unanswered
            result.waited += part.waited
            result.connectionsLost += part.connectionsLost
            if let f = part.firstSend { result.firstSend = min(result.firstSend ?? f, f) }
            if let l = part.lastSend { result.lastSend = max(result.lastSend ?? l, l) }
            result.end = max(result.end, part.end)
        }
        for c in channels { try? await c.close() }
        return result
    }

    /// Request i's scheduled time.
    func due(_ i: Int, from start: NIODeadline) -> NIODeadline {
        start + .nanoseconds(Int64(Double(i) / rate * 1e9))
    }
}

/// One event loop's share of a `PacedFlood`: requests `index`, `index + count`, …, released by a timer
/// at their scheduled times to an idle connection of the lane, or queued until one is free.
/// Only touched on `loop`.
private final class PacedLane: @unchecked Sendable {
    let flood: PacedFlood
    let loop: any EventLoop
    let index: Int
    let count: Int
    let head: HTTPRequestHead
    var start = NIODeadline.now()
    var giveUp = NIODeadline.now()
    /// The lane's next request to release.
    var next: Int
    /// The lane's requests in all.
    let total: Int
    var settled = 0
    var pending = CircularBuffer<Int>()
    var idle = [PacedConnection]()
    var result = PacedFlood.Result()
    var done: EventLoopPromise<Void>?
    var running = false

    init(flood: PacedFlood, loop: any EventLoop, index: Int, count: Int, head: HTTPRequestHead) {
        self.flood = flood; self.loop = loop; self.index = index; self.count = count; self.head = head
        next = index
        total = flood.bodies.count > index ? (flood.bodies.count - index + count - 1) / count : 0
        result.latencies.reserveCapacity(total)
        result.sendLags.reserveCapacity(total)
    }

    func begin(start: NIODeadline, giveUp: NIODeadline) -> EventLoopFuture<Void> {
        self.start = start
        self.giveUp = giveUp
        let promise = loop.makePromise(of: Void.self)
        done = promise
        running = true
        if total == 0 { finish() } else {
            loop.scheduleTask(deadline: flood.due(next, from: start)) { self.tick() }
            loop.scheduleTask(deadline: giveUp) { self.finish() }
        }
        return promise.futureResult
    }

    /// Releases every request whose time has come, and sets the timer for the next.
    func tick() {
        guard running else { return }
        let now = NIODeadline.now()
        while next < flood.bodies.count && flood.due(next, from: start) <= now {
            let i = next
            next += count
            if let c = idle.popLast() { c.send(i, scheduled: flood.due(i, from: start)) } else {
                pending.append(i)
                result.waited += 1
            }
        }
        if next < flood.bodies.count {
            // At most one timer a millisecond: above 1,000 requests a second a lane releases its due
            // requests together (each still counted from its own scheduled time, so this can only add
            // to the latencies measured, never hide any), instead of a wakeup of its own for each.
            loop.scheduleTask(deadline: max(flood.due(next, from: start), now + PacedLane.tickFloor)) { self.tick() }
        }
    }

    /// The shortest time between two releases of a lane.
    static let tickFloor = TimeAmount.milliseconds(1)

    /// `connection` is free: the oldest queued request, or it waits for the next release.
    func idle(_ connection: PacedConnection) {
        guard running, let i = pending.popFirst() else {
            idle.append(connection)
            return
        }
        connection.send(i, scheduled: flood.due(i, from: start))
    }

    func sent(_ scheduled: NIODeadline, at now: NIODeadline) {
        result.sendLags.append(Double((now - scheduled).nanoseconds) / 1e9)
        if result.firstSend == nil { result.firstSend = now }
        result.lastSend = now
    }

    func settle(scheduled: NIODeadline, status: UInt?) {
        guard running else { return }
        switch status {
        case 200?: result.latencies.append(Double((NIODeadline.now() - scheduled).nanoseconds) / 1e9)
        case nil: result.unanswered += 1
        default: result.refused += 1
        }
        settled += 1
        if settled == total { finish() }
    }

    func lost(_ connection: PacedConnection) {
        result.connectionsLost += 1
        idle.removeAll { $0 === connection }
    }

    func finish() {
        guard running else { return }
        running = false
        // Never sent, or sent and not answered by the give-up time.
        result.unanswered += total - settled
        result.end = NIODeadline.now()
        done?.succeed(())
    }
}

/// One kept-alive connection of a `PacedLane`: a request at a time, free again when its answer's end is read.
private final class PacedConnection: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let lane: PacedLane
    var context: ChannelHandlerContext?
    var current: NIODeadline?
    var status: UInt = 0

    init(lane: PacedLane) { self.lane = lane }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelActive(context: ChannelHandlerContext) {
        lane.idle(self)
        context.fireChannelActive()
    }

    func send(_ i: Int, scheduled: NIODeadline) {
        guard let context else { lane.settle(scheduled: scheduled, status: nil); return }
        current = scheduled
        let body = lane.flood.bodies[i]
        var head = lane.head
        head.headers.add(name: "Content-Length", value: String(body.readableBytes))
        lane.sent(scheduled, at: .now())
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): status = h.status.code
        case .body: break
        case .end:
            if let s = current {
                current = nil
                lane.settle(scheduled: s, status: status)
            }
            lane.idle(self)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        lane.lost(self)
        if let s = current { current = nil; lane.settle(scheduled: s, status: nil) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
