import Foundation
import NodeKit

/// `peer.rpc`: the methods the peer bridge serves on the bus, each a call into the bridge (the
/// operator's view of the peers and the sync, and its switches); messages in
/// CairnContract/PeerMessages.swift.
enum PeerBridgeRPC {
    static func router(bridge: Bridge, dialer: Dialer, started: Double) -> RPCRouter {
        RPCRouter(PeerMethod.self, [
            .getpeers: RPCRouter.method(Empty.self) { _ in await bridge.peerList() },
            .getsync: RPCRouter.method(Empty.self) { _ in await bridge.syncStatus() },
            .addpeer: RPCRouter.method(AddPeer.self) { p in
                guard PeerBridgeCommand.validPeerURL(p.url) else { throw RPCError.badParams("expected ws://host:port") }
                await bridge.addConfigured(p.url)
                dialer.keepConnected(p.url)
                return Empty()
            },
            .setnetworkactive: RPCRouter.method(NetworkActive.self) { p in
                await bridge.setNetworkActive(p.active)
                return p
            },
            .getstatus: RPCRouter.method(Empty.self) { _ in
                let s = await bridge.syncStatus()
                let list = await bridge.peerList()
                return ServiceStatus(service: .peerbridge, pid: getpid(), startedAt: started, tipHeight: s.height, tipHash: s.tipHash,
                                     details: ["peers": "\(list.peers.filter(\.handshaken).count)", "sync": s.state,
                                               "listen": list.listen])
            },
        ])
    }
}
