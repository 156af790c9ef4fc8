import CZMQ

/// An error reported by libzmq: the `errno` value and libzmq's message for it.
public struct ZMQError: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: Int32
    public let message: String

    public init(code: Int32) {
        self.code = code
        self.message = String(cString: zmq_strerror(code))
    }

    /// The error of the last failed libzmq call on this thread.
    static func last() -> ZMQError { ZMQError(code: zmq_errno()) }

    /// True when the context was terminated (`ETERM`): the owning thread should close its socket.
    public var isTerminated: Bool { code == ETERM }

    /// libzmq's `ETERM`: the context was terminated.
    public static var terminatedCode: Int32 { ETERM }

    public var description: String { "ZMQError(\(code)): \(message)" }
}

/// Errors of the Bus services (publisher, subscriber, request client/server).
public enum BusError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Lazy Pirate gave up: no reply from `endpoint` after `attempts` sends, each waiting the client's timeout.
    case unreachable(endpoint: String, attempts: Int)
    /// The server's handler threw; `message` is its description.
    case remote(String)
    /// A wait (such as `Subscriber.ready`) did not finish in time.
    case timeout(String)
    /// The service was stopped (or its context terminated) before the operation completed.
    case stopped

    public var description: String {
        switch self {
        case let .unreachable(endpoint, attempts): "no reply from \(endpoint) after \(attempts) attempts"
        case let .remote(message): "remote handler failed: \(message)"
        case let .timeout(what): "timed out: \(what)"
        case .stopped: "stopped"
        }
    }
}
