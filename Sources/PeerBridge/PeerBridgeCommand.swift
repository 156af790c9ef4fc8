import ArgumentParser
import Bus
import ChainCore
import Foundation
import Hummingbird
import Logging
import NodeKit
import ServiceLifecycle

/// `cairn-peerbridge`: joins the local bus to other nodes over WebSocket.
@main
struct PeerBridgeCommand: ServiceCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairn-peerbridge",
        abstract: "Cairn's peer bridge: relays blocks and transactions between this node and other nodes, syncs the chain.")

    @OptionGroup var common: CommonOptions

    @Option(help: "host:port the peer WebSocket server listens on (env CAIRN_PEER_LISTEN; default 127.0.0.1:8342).")
    var listen: String?

    @Option(name: .customLong("peer"), help: "A peer to keep connected, ws://host:port (repeat for several; env CAIRN_PEERS, comma-separated).")
    var peers: [String] = []

    @Option(name: .customLong("max-inbound"), help: "Most inbound peers.")
    var maxInbound = 32

    @Option(name: .customLong("max-outbound"), help: "Most outbound peers besides the configured ones.")
    var maxOutbound = 8

    @Option(name: .customLong("ping-interval"), help: "Seconds between pings; a peer silent for two intervals is dropped.")
    var pingInterval: Double = 20

    @Option(name: .customLong("ban-seconds"), help: "How long a misbehaving peer stays banned.")
    var banSeconds: Double = 3600

    @Option(name: .customLong("http-port"), help: "The edge's HTTP port, named in the answer to plain HTTP requests on the peer port.")
    var httpPort: Int?

    func validate() throws {
        for p in allPeers { guard Self.validPeerURL(p) else { throw ValidationError("--peer \(p): expected ws://host:port") } }
        guard pingInterval > 0, banSeconds >= 0, maxInbound >= 0, maxOutbound >= 0 else { throw ValidationError("limits must be positive") }
    }

    static func validPeerURL(_ url: String) -> Bool {
        guard url.hasPrefix("ws://") || url.hasPrefix("wss://") else { return false }
        let rest = url.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        guard rest.count >= 3 else { return false }
        return PeerEndpoints.hostPort(String(rest[2])) != nil
    }

    var allPeers: [String] {
        var list = peers
        if list.isEmpty, let env = ProcessInfo.processInfo.environment[PeerEndpoints.Env.peers] {
            list = env.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        return list
    }

    func run() async throws {
        var peerEndpoints = common.peerEndpoints
        if let listen { peerEndpoints.listen = listen }
        guard let (host, port) = PeerEndpoints.hostPort(peerEndpoints.listen) else {
            throw ValidationError("--listen \(peerEndpoints.listen): expected host:port")
        }
        let runtime = try await ServiceRuntime.start(common, name: "peer bridge", label: "cairn.peerbridge", role: .peerbridge,
                                                     lockName: "peerbridge.lock") {
            [peerEndpoints.rpc, peerEndpoints.pub, $0.chainRPC, $0.chainPub, $0.mempoolRPC, $0.mempoolPub]
        }
        let logger = runtime.logger, params = runtime.params, endpoints = runtime.endpoints

        let publisher = try await runtime.publisher(at: peerEndpoints.pub)
        let recorder = TraceRecorder(publisher: publisher, service: .peerbridge)
        let chainRPC = try await runtime.client(of: .chainstore, at: endpoints.chainRPC)
        let mempoolRPC = try await runtime.client(of: .mempool, at: endpoints.mempoolRPC)
        let node = RemoteNode(chain: chainRPC, mempool: mempoolRPC)

        var config = BridgeConfig(params: params, listenPort: UInt16(port), listenAddress: "ws://\(Endpoints.urlHost(host)):\(port)")
        config.maxInbound = maxInbound
        config.maxOutbound = maxOutbound
        config.pingInterval = .milliseconds(Int(pingInterval * 1000))
        config.banDuration = banSeconds
        let pingEvery = config.pingInterval / 4   // the round runs four times an interval; each peer is pinged once an interval
        let listenURL = config.listenAddress
        let bridge = Bridge(config: config, node: node, logger: logger) { id, kind, stage, detail in
            recorder.record(id, kind: kind, stage: stage, detail: detail)
        }
        let dialer = Dialer(bridge: bridge, logger: logger)

        // Where we are, before talking to anyone (waits for the chain store).
        while true {
            do {
                try await bridge.refreshTip()
                break
            } catch {
                logger.warning("waiting for the chain store", metadata: ["error": "\(error)"])
                try await Task.sleep(for: .seconds(1))
            }
        }

        let chainSub = try await runtime.subscriber(of: .chainstore, at: endpoints.chainPub, topics: [Topic.connected, Topic.tip], hwm: BridgeConfig.followerHWM)
        let mempoolSub = try await runtime.subscriber(of: .mempool, at: endpoints.mempoolPub, topics: [Topic.rawtx], hwm: BridgeConfig.followerHWM)
        let followers = [
            Task {
                for await event in chainSub.events {
                    guard case let .message(topic, body, _) = event else {
                        try? await bridge.refreshTip()
                        continue
                    }
                    if topic == Topic.connected, let (height, raw) = HeightPrefixed.decode(body), let block = try? Block(bytes: raw) {
                        await bridge.blockConnected(block, height: height)
                    } else if topic == Topic.tip, let tip = try? JSON.decode(ChainTip.self, body) {
                        await bridge.tipChanged(tip)
                    }
                }
            },
            Task {
                for await event in mempoolSub.events {
                    if case let .message(topic, body, _) = event, topic == Topic.rawtx { await bridge.txAdded(body) }
                }
            },
            Task {
                // Stalled block and transaction requests go to other peers.
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    await bridge.checkStalls()
                }
            },
            Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: pingEvery)
                    await bridge.pingAll()
                }
            },
        ]

        let started = ServiceSupport.now()
        let router = PeerBridgeRPC.router(bridge: bridge, dialer: dialer, started: started).identified(by: try runtime.nodeID, network: params.network)
        let server = try await runtime.server(at: peerEndpoints.rpc, router: router)

        for url in allPeers {
            await bridge.addConfigured(url)
            dialer.keepConnected(url)
        }
        let discovery = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(2))
                for url in await bridge.addressesToDial() { dialer.tryOnce(url) }
            }
        }

        let edgePort = httpPort ?? Endpoints.defaultHTTPPort
        let app = PeerServer.application(host: host, port: port, edgeHint: "http://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(edgePort)",
                                         bridge: bridge, logger: logger)
        logger.notice("peer bridge ready", metadata: [
            "network": "\(params.network.rawValue)", "listen": "\(listenURL)", "rpc": "\(server.endpoints.joined(separator: ","))",
            "pub": "\(publisher.endpoints.joined(separator: ","))", "peers": "\(allPeers.joined(separator: ","))"])
        // The app stops first on SIGTERM/SIGINT, then the bridge, its tasks and the bus objects.
        try await runtime.run(alongside: [app], beforeBus: {
            await bridge.shutdown()
            dialer.stopAll()
            discovery.cancel()
            for f in followers { f.cancel() }
        })
    }
}
