import ChainCore
import Foundation
import NodeKit

/// The peer bridge: getnetworkinfo, getpeerinfo, getconnectioncount, addnode, setnetworkactive.
extension RPCMethods {

    static let network: [RPCMethod] = [
        RPCMethod(name: .getnetworkinfo, category: "Network", params: [],
                  summary: "Returns an object containing various state info regarding P2P networking (the peer bridge's).",
                  result: "{version, subversion, connections, connections_in, connections_out, relayfee, incrementalfee, localaddresses, warnings}",
                  resultSchema: objectSchema, weight: 2) { _, ctx in
            async let pool = ctx.backend.mempool(.getmempoolinfo, Empty(), as: MempoolInfo.self)
            let peers: PeerList?
            do { peers = try await ctx.rpc.peerCall(.getpeers, Empty(), as: PeerList.self) } catch let f as RPCFault where f.code == RPCFault.p2pDisabledCode { peers = nil }
            let m = try await pool
            let list = peers?.peers ?? []
            let inbound = list.filter { $0.direction == "inbound" }.count
            var local = [RPCValue]()
            if let listen = peers?.listen, let url = URL(string: listen), let host = url.host {
                local.append(["address": .string(host), "port": RPCValue(url.port ?? 0), "score": 1])
            }
            let relay = perKB(m.minFeeRate)
            return ["version": RPCValue(versionNumber), "subversion": .string("/Cairn:\(NodeRoutes.version)/"),
                    "connections": RPCValue(list.count), "connections_in": RPCValue(inbound), "connections_out": RPCValue(list.count - inbound),
                    "relayfee": relay, "incrementalfee": relay, "localaddresses": .array(local),
                    "warnings": peers == nil ? "the peer bridge does not answer: no P2P" : ""]
        },
        RPCMethod(name: .getpeerinfo, category: "Network", params: [],
                  summary: "Returns data about each connected network peer as a json array of objects.",
                  result: "[{id, addr, inbound, connection_type, conntime, lastrecv, bytessent, bytesrecv, pingtime, version, subver, startingheight, synced_blocks, banscore}]",
                  resultSchema: ["type": "array"], weight: 2) { _, ctx in
            let peers = try await ctx.rpc.peerCall(.getpeers, Empty(), as: PeerList.self)
            return .array(peers.peers.map { p in
                var o: [String: RPCValue] = [
                    "id": RPCValue(p.id), "addr": .string(p.address), "inbound": .bool(p.direction == "inbound"),
                    "connection_type": p.direction == "inbound" ? "inbound" : "outbound-full-relay",
                    "conntime": RPCValue(Int(p.connectedAt)), "lastrecv": RPCValue(Int(p.lastMessageAt)),
                    "bytessent": RPCValue(p.bytesOut), "bytesrecv": RPCValue(p.bytesIn), "version": .int(Int64(p.protocolVersion)),
                    "subver": .string(p.userAgent), "startingheight": RPCValue(p.startHeight), "synced_blocks": RPCValue(p.bestHeight),
                    "banscore": RPCValue(p.score),
                ]
                if let ping = p.pingTime { o["pingtime"] = .double(ping) }
                return .object(o)
            })
        },
        RPCMethod(name: .getconnectioncount, category: "Network", params: [],
                  summary: "Returns the number of connections to other nodes.", result: "n (numeric) The connection count",
                  resultSchema: ["type": "integer"]) { _, ctx in
            RPCValue(try await ctx.rpc.peerCall(.getpeers, Empty(), as: PeerList.self).peers.count)
        },
    ]
}
