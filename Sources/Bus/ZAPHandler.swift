import CZMQ
import Foundation
import Logging
import Synchronization

/// ZeroMQ's authentication protocol (ZAP, RFC 27/ZAP) for CURVE servers: the handler that libzmq asks,
/// over `inproc://zeromq.zap.01` in the same context, whether a client may complete its handshake.
///
/// Without a handler a CURVE server accepts every client that knows its public key (which is public):
/// the traffic is encrypted but anyone may talk. With this handler running, only clients whose
/// long-term public key is in `allowed` get in; every other handshake is refused (status 400) and
/// the client's socket never connects: it cannot subscribe and its requests go unanswered.
///
/// Start it before binding any CURVE server socket of the context; it stops when the context is
/// shut down (its socket thread sees `ETERM`, closes its socket and exits).
public final class ZAPHandler: Sendable {
    public static let endpoint = "inproc://zeromq.zap.01"

    /// What the handler's thread and the owner share.
    private final class State: Sendable {
        let allowed: Mutex<Set<[UInt8]>>
        let tallies = Mutex<(accepted: Int, refused: Int)>((0, 0))
        init(_ keys: Set<[UInt8]>) { allowed = Mutex(keys) }
    }

    private let state: State
    private let thread: SocketThread

    /// - Parameter allowedClientKeys: Z85-encoded (40-character) client public keys.
    public init(context: ZMQContext, allowedClientKeys: [String], logger: Logger = Logger(label: "cairn.bus.zap")) async throws {
        var keys = Set<[UInt8]>()
        for text in allowedClientKeys {
            guard let key = Z85.decode(text), key.count == 32 else { throw ZMQError(code: EINVAL) }
            keys.insert(key)
        }
        let state = State(keys)
        self.state = state
        let setup = OneShot<Result<Void, ZMQError>>()
        thread = SocketThread(name: "cairn.bus.zap") {
            let socket: ZMQSocket
            do throws(ZMQError) {
                socket = try ZMQSocket(context: context, type: .rep)
                try socket.bind(ZAPHandler.endpoint)
                setup.set(.success(()))
            } catch {
                setup.set(.failure(error))
                return
            }
            defer { socket.close() }
            while true {
                guard let request = (try? socket.receive()) ?? nil else { return }   // ETERM: the context is closing
                let (status, text, key) = ZAPHandler.decide(request) { key in state.allowed.withLock { $0.contains(key) } }
                state.tallies.withLock { status == "200" ? ($0.accepted += 1) : ($0.refused += 1) }
                if status != "200" {
                    logger.warning("bus client refused", metadata: [
                        "reason": "\(text)", "address": "\(request.count > 3 ? String(decoding: request[3], as: UTF8.self) : "?")",
                        "key": "\(key.map { Z85.encode($0) ?? "?" } ?? "none")"])
                }
                let requestID = request.count > 1 ? request[1] : []
                guard (try? socket.send([Array("1.0".utf8), requestID, Array(status.utf8), Array(text.utf8), [], []])) != nil
                else { return }
            }
        }
        try await setup.value().get()
    }

    /// Replaces the set of allowed client keys (Z85); later handshakes use the new set.
    public func allow(_ clientKeys: [String]) {
        let keys = Set(clientKeys.compactMap { Z85.decode($0) }.filter { $0.count == 32 })
        state.allowed.withLock { $0 = keys }
    }

    /// Handshakes accepted and refused so far.
    public var counts: (accepted: Int, refused: Int) { state.tallies.withLock { $0 } }

    /// Waits until the handler's thread has exited (after the context is shut down).
    public func join() async { await thread.join() }

    /// The answer to one ZAP request: frames `version, request id, domain, address, identity,
    /// mechanism, credentials…`. Only CURVE with an allowed 32-byte key gets "200".
    static func decide(_ request: [[UInt8]], isAllowed: ([UInt8]) -> Bool) -> (status: String, text: String, key: [UInt8]?) {
        guard request.count >= 6, request[0] == Array("1.0".utf8) else { return ("500", "malformed ZAP request", nil) }
        let mechanism = String(decoding: request[5], as: UTF8.self)
        guard mechanism == "CURVE" else { return ("400", "mechanism \(mechanism) not allowed: CURVE only", nil) }
        guard request.count >= 7, request[6].count == 32 else { return ("400", "no CURVE client key", nil) }
        let key = request[6]
        return isAllowed(key) ? ("200", "OK", key) : ("400", "client key not allowed", key)
    }
}

/// ZeroMQ's Z85 encoding (RFC 32/Z85), through libzmq's own coder.
public enum Z85 {
    /// Decodes a Z85 string (length a multiple of 5); nil when it is not valid Z85.
    public static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard !chars.isEmpty, chars.count % 5 == 0 else { return nil }
        var out = [UInt8](repeating: 0, count: chars.count * 4 / 5)
        let ok = text.withCString { cstr in out.withUnsafeMutableBufferPointer { zmq_z85_decode($0.baseAddress, cstr) != nil } }
        return ok ? out : nil
    }

    /// Encodes bytes (length a multiple of 4).
    public static func encode(_ bytes: [UInt8]) -> String? {
        guard !bytes.isEmpty, bytes.count % 4 == 0 else { return nil }
        var out = [CChar](repeating: 0, count: bytes.count * 5 / 4 + 1)
        let ok = bytes.withUnsafeBufferPointer { b in out.withUnsafeMutableBufferPointer { zmq_z85_encode($0.baseAddress, b.baseAddress, b.count) != nil } }
        return ok ? String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
    }
}
