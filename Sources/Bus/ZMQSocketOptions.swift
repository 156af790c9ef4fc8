import CZMQ

/// Typed socket options. Set them before `bind`/`connect` unless libzmq says otherwise.
extension ZMQSocket {
    /// Milliseconds pending messages are kept after `close()`; -1 is forever (avoid: terminate hangs).
    public func setLinger(milliseconds: Int32) throws(ZMQError) { try setOption(ZMQ_LINGER, milliseconds) }
    public func setSendHighWaterMark(_ messages: Int32) throws(ZMQError) { try setOption(ZMQ_SNDHWM, messages) }
    public func setReceiveHighWaterMark(_ messages: Int32) throws(ZMQError) { try setOption(ZMQ_RCVHWM, messages) }
    /// Blocking receive timeout in milliseconds (-1: forever). `receive()` returns nil on expiry.
    public func setReceiveTimeout(milliseconds: Int32) throws(ZMQError) { try setOption(ZMQ_RCVTIMEO, milliseconds) }
    /// Blocking send timeout in milliseconds (-1: forever). `send()` returns false on expiry.
    public func setSendTimeout(milliseconds: Int32) throws(ZMQError) { try setOption(ZMQ_SNDTIMEO, milliseconds) }

    /// TCP keepalive; the optional values are seconds (idle, interval) and a probe count.
    public func setTCPKeepalive(
        enabled: Bool, idle: Int32? = nil, interval: Int32? = nil, count: Int32? = nil
    ) throws(ZMQError) {
        try setOption(ZMQ_TCP_KEEPALIVE, enabled ? Int32(1) : Int32(0))
        if let idle { try setOption(ZMQ_TCP_KEEPALIVE_IDLE, idle) }
        if let interval { try setOption(ZMQ_TCP_KEEPALIVE_INTVL, interval) }
        if let count { try setOption(ZMQ_TCP_KEEPALIVE_CNT, count) }
    }

    /// SUB/XSUB: subscribe to every topic starting with `prefix` (an empty prefix matches all).
    public func subscribe(_ prefix: [UInt8]) throws(ZMQError) { try setOption(ZMQ_SUBSCRIBE, bytes: prefix) }
    public func unsubscribe(_ prefix: [UInt8]) throws(ZMQError) { try setOption(ZMQ_UNSUBSCRIBE, bytes: prefix) }
    public func subscribe(_ prefix: String) throws(ZMQError) { try subscribe(Array(prefix.utf8)) }
    public func unsubscribe(_ prefix: String) throws(ZMQError) { try unsubscribe(Array(prefix.utf8)) }

    /// The routing id this socket presents to a ROUTER peer (1 to 255 bytes, not starting with 0).
    public func setRoutingID(_ id: [UInt8]) throws(ZMQError) { try setOption(ZMQ_ROUTING_ID, bytes: id) }
    public var routingID: [UInt8] { (try? bytesOption(ZMQ_ROUTING_ID, capacity: 256)) ?? [] }

    /// Queue messages only to completed connections.
    public func setImmediate(_ on: Bool) throws(ZMQError) { try setOption(ZMQ_IMMEDIATE, on ? Int32(1) : Int32(0)) }
    /// ROUTER: fail with `EHOSTUNREACH` instead of silently dropping a message to an unknown peer.
    public func setRouterMandatory(_ on: Bool) throws(ZMQError) {
        try setOption(ZMQ_ROUTER_MANDATORY, on ? Int32(1) : Int32(0))
    }
    /// XPUB: pass every subscription message up, not only the first for each topic.
    public func setXPubVerbose(_ on: Bool) throws(ZMQError) { try setOption(ZMQ_XPUB_VERBOSE, on ? Int32(1) : Int32(0)) }

    /// Applies CURVE security. Must be called before `bind`/`connect`.
    public func setCurve(_ security: CurveSecurity) throws(ZMQError) {
        switch security {
        case let .server(keys):
            try setOption(ZMQ_CURVE_SERVER, Int32(1))
            try setOption(ZMQ_CURVE_SECRETKEY, bytes: Array(keys.secretKey.utf8))
            try setOption(ZMQ_CURVE_PUBLICKEY, bytes: Array(keys.publicKey.utf8))
        case let .client(keys, serverPublicKey):
            try setOption(ZMQ_CURVE_SERVERKEY, bytes: Array(serverPublicKey.utf8))
            try setOption(ZMQ_CURVE_PUBLICKEY, bytes: Array(keys.publicKey.utf8))
            try setOption(ZMQ_CURVE_SECRETKEY, bytes: Array(keys.secretKey.utf8))
        }
    }
}

/// A CURVE key pair, both keys Z85-encoded (40 characters).
public struct CurveKeyPair: Sendable, Equatable {
    public let publicKey: String
    public let secretKey: String

    public init(publicKey: String, secretKey: String) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// A fresh key pair from `zmq_curve_keypair`.
    public static func generate() throws(ZMQError) -> CurveKeyPair {
        var publicKey = [CChar](repeating: 0, count: 41)
        var secretKey = [CChar](repeating: 0, count: 41)
        try check(zmq_curve_keypair(&publicKey, &secretKey))
        return CurveKeyPair(publicKey: decode(publicKey), secretKey: decode(secretKey))
    }

    private static func decode(_ chars: [CChar]) -> String {
        String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// CURVE role of a socket: the server (the binding side, with its own key pair) or a client that
/// knows the server's public key.
public enum CurveSecurity: Sendable, Equatable {
    case server(CurveKeyPair)
    case client(CurveKeyPair, serverPublicKey: String)
}
