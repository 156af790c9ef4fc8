import ChainCore
import Foundation
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import NodeKit
import Synchronization

/// One WebSocket connection to a peer, either direction. Everything sent goes
/// through one queue drained by one writer task (a message larger than a
/// frame is fragmented, and two writers would interleave fragments).
final class Connection: Sendable {
    enum Direction: String, Sendable { case inbound, outbound }
    enum Outgoing: Sendable {
        case data([UInt8])
        case close(String)
    }

    let id: Int
    let direction: Direction
    let remoteHost: String
    let remotePort: Int
    /// The URL we dialled (outbound only).
    let dialURL: String?
    let outgoing: AsyncStream<Outgoing>
    private let continuation: AsyncStream<Outgoing>.Continuation
    private let state = Mutex<(closing: Bool, queuedBytes: Int, closingSince: ContinuousClock.Instant?)>((false, 0, nil))
    /// Signalled once, when the connection starts closing (the deadline below starts then).
    private let closeSignal: AsyncStream<Void>
    private let closeSignalContinuation: AsyncStream<Void>.Continuation
    /// A peer that lets more than this pile up unsent is too slow to keep.
    static let maxQueuedBytes = 64 << 20
    /// A closing connection is detached from the bridge at most this long after the close began,
    /// even when its writer is stuck on a peer that never reads (the writer is then cancelled).
    static let closeDeadline: Duration = .seconds(5)
    /// After our close, how long the reader drains what the peer still sends while waiting for its
    /// close frame: long enough for a peer on a loaded link to read our reject and answer (a reset
    /// would destroy the reject), short enough that a peer that never answers holds nothing for long.
    static let closeDrain: Duration = .seconds(3)

    init(id: Int, direction: Direction, remoteHost: String, remotePort: Int, dialURL: String?) {
        self.id = id
        self.direction = direction
        self.remoteHost = remoteHost
        self.remotePort = remotePort
        self.dialURL = dialURL
        (outgoing, continuation) = AsyncStream.makeStream(of: Outgoing.self)
        (closeSignal, closeSignalContinuation) = AsyncStream.makeStream(of: Void.self)
    }

    var isClosing: Bool { state.withLock { $0.closing } }
    /// Bytes queued and not yet taken by the socket (a peer that does not read lets them pile up).
    var queuedBytes: Int { state.withLock { $0.queuedBytes } }
    /// When the close began (nil while open).
    var closingSince: ContinuousClock.Instant? { state.withLock { $0.closingSince } }
    var remote: String { "\(Endpoints.urlHost(remoteHost)):\(remotePort)" }

    /// Queues a message; false when the connection is closing or the peer is too far behind.
    @discardableResult
    func send(_ message: Wire.Message) -> Bool { send(raw: Wire.encode(message)) }

    @discardableResult
    func send(raw bytes: [UInt8]) -> Bool {
        let ok = state.withLock { s -> Bool in
            guard !s.closing else { return false }
            s.queuedBytes += bytes.count
            return s.queuedBytes <= Self.maxQueuedBytes
        }
        guard ok else {
            if !isClosing { close("send queue over \(Self.maxQueuedBytes) bytes") }
            return false
        }
        continuation.yield(.data(bytes))
        return true
    }

    func sent(_ count: Int) { state.withLock { $0.queuedBytes -= count } }

    /// Sends what is queued, then a close frame; idempotent.
    func close(_ reason: String) {
        let first = state.withLock { s -> Bool in
            defer { s.closing = true }
            if !s.closing { s.closingSince = .now }
            return !s.closing
        }
        guard first else { return }
        continuation.yield(.close(reason))
        continuation.finish()
        closeSignalContinuation.yield()
        closeSignalContinuation.finish()
    }

    /// Runs the connection until either side closes it: one writer task, one reader task.
    static func serve(_ conn: Connection, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter,
                      bridge: Bridge, logger: Logger) async {
        await bridge.attach(conn)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await item in conn.outgoing {
                    switch item {
                    case .data(let bytes):
                        do {
                            try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
                            conn.sent(bytes.count)
                        } catch {
                            conn.close("write failed: \(error)")
                            return
                        }
                    case .close(let reason):
                        try? await outbound.close(.policyViolation, reason: String(reason.utf8.prefix(120)) ?? "closing")
                        return
                    }
                }
            }
            group.addTask {
                do {
                    for try await message in inbound.messages(maxSize: Wire.maxMessageSize) {
                        switch message {
                        case .binary(let buffer):
                            await bridge.received(conn, Array(buffer: buffer))
                        case .text:
                            if !conn.isClosing { await bridge.misbehaved(conn, .textFrame, "a text frame (the peer protocol is binary)") }
                        }
                        // After a close, what still arrives is drained unread: closing a socket with unread
                        // input resets it, and the reset would destroy our reject before the peer reads it.
                    }
                    conn.close("the peer closed the connection")
                } catch {
                    let offence = Offence(transportError: error)
                    if !conn.isClosing { await bridge.misbehaved(conn, offence, "transport error: \(error)") }
                    conn.close("transport error")
                }
            }
            // Watchdog: once closing, the bridge lets go of the peer within `closeDeadline` whatever the
            // writer is doing (a peer that never reads blocks it in `write`); the group is then cancelled,
            // which ends a pending write, and the handler's return closes the channel.
            group.addTask {
                for await _ in conn.closeSignal { break }
                try? await Task.sleep(for: Self.closeDeadline)
                if !Task.isCancelled { await bridge.detach(conn) }
            }
            // The writer ends after a close; then the reader drains until the peer answers the close,
            // for at most a few seconds (a peer that never answers is not waited for).
            _ = await group.next()
            group.addTask { try? await Task.sleep(for: Self.closeDrain) }
            _ = await group.next()
            group.cancelAll()
        }
        await bridge.detach(conn)
    }
}

extension Offence {
    /// The offence of an error the WebSocket transport ended a peer's input with, by the error's type:
    /// a frame over `Wire.maxFrameSize` (NIO's frame decoder throws `NIOWebSocketError.invalidFrameLength`)
    /// or a message over `Wire.maxMessageSize` (the WebSocket stream closes with the code
    /// `.messageTooLarge`) is oversized; anything else the transport could not read is malformed.
    init(transportError error: any Error) {
        self = Self.isTooLarge(error, depth: 3) ? .oversized : .malformed
    }

    /// Whether `error`, or an error or close code it carries, says "too large". The stream's own error
    /// type is not public (`WebSocketHandler.InternalError.close(WebSocketErrorCode)`, package access);
    /// the code it carries is, so the payloads are looked at by type (a few levels deep).
    private static func isTooLarge(_ value: Any, depth: Int) -> Bool {
        switch value {
        case let e as NIOWebSocketError: return e == .invalidFrameLength
        case let code as WebSocketErrorCode: return code == .messageTooLarge
        default:
            guard depth > 0 else { return false }
            return Mirror(reflecting: value).children.contains { isTooLarge($0.value, depth: depth - 1) }
        }
    }
}

extension Array where Element == UInt8 {
    init(buffer: ByteBuffer) {
        self = buffer.getBytes(at: buffer.readerIndex, length: buffer.readableBytes) ?? []
    }
}
