import CZMQ

/// The libzmq socket types the Bus uses.
public enum ZMQSocketType: Sendable, CaseIterable {
    case pub, sub, xpub, xsub, req, rep, dealer, router, push, pull, pair

    var raw: Int32 {
        switch self {
        case .pub: ZMQ_PUB
        case .sub: ZMQ_SUB
        case .xpub: ZMQ_XPUB
        case .xsub: ZMQ_XSUB
        case .req: ZMQ_REQ
        case .rep: ZMQ_REP
        case .dealer: ZMQ_DEALER
        case .router: ZMQ_ROUTER
        case .push: ZMQ_PUSH
        case .pull: ZMQ_PULL
        case .pair: ZMQ_PAIR
        }
    }
}

/// One libzmq socket. **Not thread-safe**: create, use and close it on one thread only (the Bus
/// services each own a dedicated thread for this; see `SocketThread`).
///
/// Messages are multipart: `[[UInt8]]`, one array per frame. Every socket starts with `LINGER = 0`.
/// All failures throw `ZMQError`; `EINTR` is retried. The socket keeps its context alive and is
/// closed by `close()` or `deinit`.
public final class ZMQSocket {
    public let type: ZMQSocketType
    public let context: ZMQContext
    private(set) var handle: UnsafeMutableRawPointer?

    public init(context: ZMQContext, type: ZMQSocketType) throws(ZMQError) {
        let handle = try context.makeSocket(type: type.raw)
        self.context = context
        self.type = type
        self.handle = handle
        try setOption(ZMQ_LINGER, Int32(0))
    }

    deinit { close() }

    /// Closes the socket (idempotent). Pending outgoing messages are dropped (linger 0 by default).
    public func close() {
        if let handle {
            zmq_close(handle)
            self.handle = nil
            context.socketClosed()
        }
    }

    public var isClosed: Bool { handle == nil }

    func requireHandle() throws(ZMQError) -> UnsafeMutableRawPointer {
        guard let handle else { throw ZMQError(code: ENOTSOCK) }
        return handle
    }

    // MARK: Endpoints

    public func bind(_ endpoint: String) throws(ZMQError) {
        let handle = try requireHandle()
        try check(zmq_bind(handle, endpoint))
    }

    public func connect(_ endpoint: String) throws(ZMQError) {
        let handle = try requireHandle()
        try check(zmq_connect(handle, endpoint))
    }

    public func unbind(_ endpoint: String) throws(ZMQError) {
        let handle = try requireHandle()
        try check(zmq_unbind(handle, endpoint))
    }

    public func disconnect(_ endpoint: String) throws(ZMQError) {
        let handle = try requireHandle()
        try check(zmq_disconnect(handle, endpoint))
    }

    /// The endpoint last bound or connected, with a wildcard port resolved
    /// (bind `tcp://127.0.0.1:*`, then read the real port here).
    public var lastEndpoint: String? {
        guard let bytes = try? bytesOption(ZMQ_LAST_ENDPOINT, capacity: 1024) else { return nil }
        let trimmed = bytes.prefix { $0 != 0 }
        return trimmed.isEmpty ? nil : String(decoding: trimmed, as: UTF8.self)
    }

    // MARK: Sending and receiving

    /// Sends a multipart message. With `dontWait`, returns false instead of blocking when the message
    /// cannot be queued now (`EAGAIN`); a blocking send with `SNDTIMEO` also returns false on timeout.
    @discardableResult
    public func send(_ frames: [[UInt8]], dontWait: Bool = false) throws(ZMQError) -> Bool {
        let handle = try requireHandle()
        precondition(!frames.isEmpty, "a ZeroMQ message has at least one frame")
        let base: Int32 = dontWait ? ZMQ_DONTWAIT : 0
        for (index, frame) in frames.enumerated() {
            let flags = index < frames.count - 1 ? base | ZMQ_SNDMORE : base
            while true {
                let rc = frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) }
                if rc >= 0 { break }
                let error = zmq_errno()
                if error == EINTR { continue }
                // libzmq accepts the rest of a multipart message once its first frame is queued.
                if error == EAGAIN && index == 0 { return false }
                throw ZMQError(code: error)
            }
        }
        return true
    }

    /// Receives one multipart message, or nil if none is ready (`dontWait`) or `RCVTIMEO` expired.
    public func receive(dontWait: Bool = false) throws(ZMQError) -> [[UInt8]]? {
        let handle = try requireHandle()
        var frames: [[UInt8]] = []
        var message = zmq_msg_t()
        zmq_msg_init(&message)
        defer { zmq_msg_close(&message) }
        while true {
            // Later frames of a multipart message are already there once the first one arrived.
            let flags: Int32 = dontWait && frames.isEmpty ? ZMQ_DONTWAIT : 0
            let rc = zmq_msg_recv(&message, handle, flags)
            if rc < 0 {
                let error = zmq_errno()
                if error == EINTR { continue }
                if error == EAGAIN && frames.isEmpty { return nil }
                throw ZMQError(code: error)
            }
            let size = zmq_msg_size(&message)
            if size == 0 {
                frames.append([])
            } else {
                let data = zmq_msg_data(&message)!
                frames.append(Array(UnsafeRawBufferPointer(start: data, count: size)))
            }
            if zmq_msg_more(&message) == 0 { return frames }
        }
    }

    // MARK: Raw options

    public func setOption(_ option: Int32, _ value: Int32) throws(ZMQError) {
        let handle = try requireHandle()
        var value = value
        try check(zmq_setsockopt(handle, option, &value, MemoryLayout<Int32>.size))
    }

    public func setOption(_ option: Int32, _ value: Int64) throws(ZMQError) {
        let handle = try requireHandle()
        var value = value
        try check(zmq_setsockopt(handle, option, &value, MemoryLayout<Int64>.size))
    }

    public func setOption(_ option: Int32, bytes: [UInt8]) throws(ZMQError) {
        let handle = try requireHandle()
        try check(bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) })
    }

    public func int32Option(_ option: Int32) throws(ZMQError) -> Int32 {
        let handle = try requireHandle()
        var value: Int32 = 0
        var size = MemoryLayout<Int32>.size
        try check(zmq_getsockopt(handle, option, &value, &size))
        return value
    }

    func bytesOption(_ option: Int32, capacity: Int) throws(ZMQError) -> [UInt8] {
        let handle = try requireHandle()
        var buffer = [UInt8](repeating: 0, count: capacity)
        var size = capacity
        try check(buffer.withUnsafeMutableBytes { zmq_getsockopt(handle, option, $0.baseAddress, &size) })
        return Array(buffer.prefix(size))
    }
}

@available(*, unavailable, message: "a ZMQSocket belongs to the one thread that uses it")
extension ZMQSocket: @unchecked Sendable {}

@inline(__always)
func check(_ rc: Int32) throws(ZMQError) {
    if rc != 0 { throw ZMQError.last() }
}
