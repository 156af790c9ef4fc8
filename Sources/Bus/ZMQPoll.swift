import CZMQ
#if canImport(Glibc)
import Glibc
#endif

/// Events to wait for, or that happened, on a poll item.
public struct ZMQPollEvents: OptionSet, Sendable {
    public let rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }
    public static let readable = ZMQPollEvents(rawValue: Int16(ZMQ_POLLIN))
    public static let writable = ZMQPollEvents(rawValue: Int16(ZMQ_POLLOUT))
    public static let error = ZMQPollEvents(rawValue: Int16(ZMQ_POLLERR))
}

/// One entry of `ZMQPoller.poll`: a socket or a raw file descriptor (an eventfd, a pipe...).
public struct ZMQPollItem {
    public enum Source {
        case socket(ZMQSocket)
        case fd(Int32)
    }

    public let source: Source
    public var events: ZMQPollEvents
    public internal(set) var returned: ZMQPollEvents = []

    public init(_ socket: ZMQSocket, _ events: ZMQPollEvents) {
        self.source = .socket(socket)
        self.events = events
    }

    public init(fd: Int32, _ events: ZMQPollEvents) {
        self.source = .fd(fd)
        self.events = events
    }
}

public enum ZMQPoller {
    /// Waits until an item is ready or `timeoutMilliseconds` pass (-1: forever; 0: just check).
    /// Fills each item's `returned` and gives the number of ready items. `EINTR` is retried with the
    /// remaining time; `ETERM` is thrown when a socket's context terminates.
    @discardableResult
    public static func poll(_ items: inout [ZMQPollItem], timeoutMilliseconds: Int) throws(ZMQError) -> Int {
        var raw = [zmq_pollitem_t]()
        raw.reserveCapacity(items.count)
        for item in items {
            switch item.source {
            case let .socket(socket):
                raw.append(zmq_pollitem_t(socket: try socket.requireHandle(), fd: -1, events: item.events.rawValue, revents: 0))
            case let .fd(fd):
                raw.append(zmq_pollitem_t(socket: nil, fd: fd, events: item.events.rawValue, revents: 0))
            }
        }
        let clock = ContinuousClock()
        let deadline = timeoutMilliseconds > 0 ? clock.now + .milliseconds(timeoutMilliseconds) : nil
        var timeout = timeoutMilliseconds
        while true {
            let rc = zmq_poll(&raw, Int32(raw.count), timeout)
            if rc >= 0 {
                for index in items.indices {
                    items[index].returned = ZMQPollEvents(rawValue: raw[index].revents)
                }
                return Int(rc)
            }
            let error = zmq_errno()
            guard error == EINTR else { throw ZMQError(code: error) }
            if let deadline {
                let left = clock.now.duration(to: deadline)
                timeout = left <= .zero ? 0 : max(1, Int(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            }
        }
    }
}
