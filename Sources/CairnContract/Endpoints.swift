import Foundation

/// Where each service binds or connects. Every value can be set by a flag or an
/// environment variable (the names below); the defaults are TCP on loopback.
public struct Endpoints: Sendable, Codable, Equatable {
    public var chainRPC: String
    public var chainPub: String
    public var mempoolRPC: String
    public var mempoolPub: String

    public static let defaultHost = "127.0.0.1"
    public static let defaultPorts = (chainRPC: 28331, chainPub: 28332, mempoolRPC: 28333, mempoolPub: 28334)
    public static let defaultHTTPPort = 8340
    /// The wallet front server (`cairn-walletfront`): the browser wallet and explorer.
    public static let defaultWalletPort = 8341

    public init(chainRPC: String, chainPub: String, mempoolRPC: String, mempoolPub: String) {
        self.chainRPC = chainRPC
        self.chainPub = chainPub
        self.mempoolRPC = mempoolRPC
        self.mempoolPub = mempoolPub
    }

    /// The loopback defaults, shifted by `portOffset` (for several stacks on one machine).
    public static func loopback(portOffset: Int = 0, host: String = defaultHost) -> Endpoints {
        let p = defaultPorts
        return Endpoints(chainRPC: "tcp://\(host):\(p.chainRPC + portOffset)",
                         chainPub: "tcp://\(host):\(p.chainPub + portOffset)",
                         mempoolRPC: "tcp://\(host):\(p.mempoolRPC + portOffset)",
                         mempoolPub: "tcp://\(host):\(p.mempoolPub + portOffset)")
    }

    /// Environment variable names, as docker compose sets them.
    public enum Env {
        public static let chainRPC = "CAIRN_CHAIN_RPC"
        public static let chainPub = "CAIRN_CHAIN_PUB"
        public static let mempoolRPC = "CAIRN_MEMPOOL_RPC"
        public static let mempoolPub = "CAIRN_MEMPOOL_PUB"
        public static let network = "CAIRN_NETWORK"
        public static let data = "CAIRN_DATA"
        public static let logLevel = "CAIRN_LOG_LEVEL"
    }

    /// Defaults overridden by the environment.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> Endpoints {
        var e = loopback()
        if let v = env[Env.chainRPC], !v.isEmpty { e.chainRPC = v }
        if let v = env[Env.chainPub], !v.isEmpty { e.chainPub = v }
        if let v = env[Env.mempoolRPC], !v.isEmpty { e.mempoolRPC = v }
        if let v = env[Env.mempoolPub], !v.isEmpty { e.mempoolPub = v }
        return e
    }

    /// A bind address for a connect address: `tcp://HOST:PORT` binds as given, except that
    /// a host name (not an IP) binds on all interfaces, which is what a container needs.
    public static func bindAddress(for endpoint: String) -> String {
        guard endpoint.hasPrefix("tcp://") else { return endpoint }
        let rest = endpoint.dropFirst("tcp://".count)
        guard let colon = rest.lastIndex(of: ":") else { return endpoint }
        let host = rest[..<colon]
        let isIP = host == "*" || host.allSatisfy { $0.isNumber || $0 == "." } || host.contains(":") || host.hasPrefix("[")
        return isIP ? endpoint : "tcp://0.0.0.0\(rest[colon...])"
    }
}

/// Topic names on the service PUB sockets.
public enum Topic {
    // Bitcoin Core's notification topics, same bodies (see docs/ARCHITECTURE.md).
    public static let hashblock = "hashblock"
    public static let rawblock = "rawblock"
    public static let hashtx = "hashtx"
    public static let rawtx = "rawtx"
    public static let sequence = "sequence"
    // Internal topics.
    /// chain.pub: JSON `ChainTip` after every change of tip.
    public static let tip = "tip"
    /// chain.pub: `u32 height LE ‖ raw block` for every block connected, in order.
    public static let connected = "connected"
    /// chain.pub: `u32 height LE ‖ raw block` for every block disconnected (reorg), tip first.
    public static let disconnected = "disconnected"
    /// mempool.pub: JSON `TemplateNotice` when a new template is worth fetching.
    public static let template = "template"
    /// both: JSON `TraceEvent` for every step of a transaction's or block's path.
    public static let trace = "trace"

    /// Every topic of the node's buses (docs/ARCHITECTURE.md's topic table is checked against it).
    public static var all: Set<String> {
        [hashblock, rawblock, hashtx, rawtx, sequence, tip, connected, disconnected, template, trace, keys]
    }
}

/// Encodes `u32 height LE ‖ raw block` (the `connected`/`disconnected` bodies).
public enum HeightPrefixed {
    public static func encode(height: Int, raw: [UInt8]) -> [UInt8] {
        let h = UInt32(height)
        return [UInt8(h & 0xff), UInt8(h >> 8 & 0xff), UInt8(h >> 16 & 0xff), UInt8(h >> 24)] + raw
    }

    public static func decode(_ body: [UInt8]) -> (height: Int, raw: [UInt8])? {
        guard body.count >= 4 else { return nil }
        let h = UInt32(body[0]) | UInt32(body[1]) << 8 | UInt32(body[2]) << 16 | UInt32(body[3]) << 24
        return (Int(h), Array(body[4...]))
    }
}

/// The peer bridge's endpoints: its WebSocket port for other nodes (not HTTP),
/// its request socket (`getpeers`, `getsync`) and its PUB (trace events).
/// Each shifts with `--port-offset` like the others.
public struct PeerEndpoints: Sendable, Codable, Equatable {
    /// host:port the WebSocket server listens on.
    public var listen: String
    public var rpc: String
    public var pub: String

    public static let defaultPorts = (ws: 8342, rpc: 28335, pub: 28337)

    public init(listen: String, rpc: String, pub: String) {
        self.listen = listen
        self.rpc = rpc
        self.pub = pub
    }

    public static func loopback(portOffset: Int = 0, host: String = Endpoints.defaultHost) -> PeerEndpoints {
        let p = defaultPorts
        return PeerEndpoints(listen: "\(host):\(p.ws + portOffset)", rpc: "tcp://\(host):\(p.rpc + portOffset)",
                             pub: "tcp://\(host):\(p.pub + portOffset)")
    }

    public enum Env {
        public static let listen = "CAIRN_PEER_LISTEN"
        public static let rpc = "CAIRN_PEER_RPC"
        public static let pub = "CAIRN_PEER_PUB"
        /// Comma-separated ws:// URLs to connect to.
        public static let peers = "CAIRN_PEERS"
    }

    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> PeerEndpoints {
        var e = loopback()
        if let v = env[Env.listen], !v.isEmpty { e.listen = v }
        if let v = env[Env.rpc], !v.isEmpty { e.rpc = v }
        if let v = env[Env.pub], !v.isEmpty { e.pub = v }
        return e
    }

    /// Splits "host:port" (IPv6 in brackets); nil when malformed.
    public static func hostPort(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        return (host, port)
    }
}

extension Endpoints {
    /// `host` as written in a URL or a `host:port`: an IPv6 address bracketed (RFC 3986 §3.2.2),
    /// anything else as it is.
    public static func urlHost(_ host: String) -> String { host.contains(":") ? "[\(host)]" : host }
}
