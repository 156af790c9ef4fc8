import HummingbirdWSClient
import HummingbirdWebSocket
import Logging
import NodeKit
import Synchronization

/// Outbound connections: configured peers are kept connected (reconnect with backoff 1 s doubling to 32 s,
/// back to 1 s after a connection that lasted a minute); learned addresses are tried once at a time.
///
/// An instance per bridge (btcd's `connmgr` shape): its dial tasks are its own, and the dial itself is
/// injected (`connect` runs one connection to its end), so tests can dial without sockets.
final class Dialer: Sendable {
    /// Runs one connection to `url` until it ends (returns at once when it cannot connect).
    typealias Connect = @Sendable (_ url: String) async -> Void

    /// The first pause before redialling a configured peer, doubled up to `maxBackoff`.
    static let minBackoff = Duration.seconds(1)
    static let maxBackoff = Duration.seconds(32)
    /// A connection that lasted this long resets the backoff; a learned address's dial that did not is forgotten.
    static let keptConnection = Duration.seconds(60)
    /// Pause between checks while a configured peer needs no dial (ourselves, or connected another way).
    static let skipPause = Duration.seconds(2)
    /// Pause after a learned address's dial before it may be tried again.
    static let learnedRetryPause = Duration.seconds(30)

    private let bridge: Bridge
    private let connect: Connect
    private let tasks = Mutex<[String: Task<Void, Never>]>([:])

    init(bridge: Bridge, connect: @escaping Connect) {
        self.bridge = bridge
        self.connect = connect
    }

    /// A dialer over WebSocket: each connection is served by `Connection.serve`.
    convenience init(bridge: Bridge, logger: Logger) {
        self.init(bridge: bridge) { url in await Dialer.webSocket(url, bridge: bridge, logger: logger) }
    }

    /// Keeps `url` connected until `stopAll` (a second call for the same URL does nothing).
    func keepConnected(_ url: String) {
        let (bridge, connect) = (self.bridge, self.connect)
        tasks.withLock { t in
            guard t[url] == nil else { return }
            t[url] = Task {
                var delay = Self.minBackoff
                while !Task.isCancelled {
                    if await bridge.shouldSkipDial(url) {
                        try? await Task.sleep(for: Self.skipPause)
                        continue
                    }
                    let began = ContinuousClock.now
                    await connect(url)
                    if ContinuousClock.now - began > Self.keptConnection { delay = Self.minBackoff }
                    try? await Task.sleep(for: delay)
                    delay = min(delay * 2, Self.maxBackoff)
                }
            }
        }
    }

    /// Dials a learned address once (not again while a dial of it, or its pause after, is running).
    func tryOnce(_ url: String) {
        let key = "once:" + url
        let (bridge, connect) = (self.bridge, self.connect)
        tasks.withLock { t in
            guard t[key] == nil else { return }
            t[key] = Task { [weak self] in
                let began = ContinuousClock.now
                await connect(url)
                // A learned address that did not keep a connection (for a minute) is forgotten; after a
                // pause it may be tried again if peers announce it again.
                await bridge.learnedDialEnded(url, lasted: ContinuousClock.now - began)
                try? await Task.sleep(for: Self.learnedRetryPause)
                _ = self?.tasks.withLock { $0.removeValue(forKey: key) }
            }
        }
    }

    /// URLs with a dial task running (or pausing): configured ones, and `once:` + a learned one.
    var active: Set<String> { tasks.withLock { Set($0.keys) } }

    func stopAll() {
        let all = tasks.withLock { t -> [Task<Void, Never>] in
            defer { t.removeAll() }
            return Array(t.values)
        }
        for task in all { task.cancel() }
    }

    /// One outbound WebSocket connection to `url`, served until it ends.
    static func webSocket(_ url: String, bridge: Bridge, logger: Logger) async {
        let hostPort = url.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        let (host, port) = hostPort.count >= 3 ? (PeerEndpoints.hostPort(String(hostPort[2])) ?? ("?", 0)) : ("?", 0)
        let id = await bridge.newConnectionID()
        do {
            try await WebSocketClient.connect(
                url: url.hasSuffix("/") || url.split(separator: "/").count > 2 ? url : url + "/",
                configuration: .init(maxFrameSize: Wire.maxFrameSize, closeTimeout: .seconds(3)),
                logger: logger
            ) { inbound, outbound, _ in
                let conn = Connection(id: id, direction: .outbound, remoteHost: host, remotePort: port, dialURL: url)
                await Connection.serve(conn, inbound: inbound, outbound: outbound, bridge: bridge, logger: logger)
            }
        } catch {
            logger.info("cannot connect to peer", metadata: ["url": "\(url)", "error": "\(error)"])
        }
    }
}
