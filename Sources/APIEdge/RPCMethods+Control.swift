import ChainCore
import Foundation
import NodeKit

/// Util and control: validateaddress, estimatesmartfee, uptime, help, rpc.discover.
extension RPCMethods {

    static let util: [RPCMethod] = [
        RPCMethod(name: .validateaddress, category: "Util", params: [.required("address", .string, "The Cairn address to validate")],
                  summary: "Return information about the given Cairn address (bech32m of an Ed25519 public key).",
                  result: "{isvalid, address, scriptPubKey (the public key, hex), isscript, iswitness} or {isvalid: false, error}",
                  resultSchema: objectSchema) { args, ctx in
            let text = args.string("address") ?? ""
            do {
                let a = try Address(text, network: ctx.backend.network)
                return ["isvalid": true, "address": .string(a.string), "scriptPubKey": .string(Hex.encode(a.publicKey)),
                        "isscript": false, "iswitness": false]
            } catch let e as AddressError {
                return ["isvalid": false, "error": .string(e.description), "error_locations": []]
            }
        },
    ]

    static let control: [RPCMethod] = [
        RPCMethod(name: .uptime, category: "Control", params: [],
                  summary: "Returns the total uptime of the server (this edge).", result: "n (numeric) The number of seconds that the server has been running",
                  resultSchema: ["type": "integer"]) { _, ctx in
            RPCValue(Int((ContinuousClock.now - ctx.rpc.startedAt).components.seconds))
        },
        RPCMethod(name: .help, category: "Control", params: [.optional("command", .string, "The command to get help on", default: "all commands")],
                  summary: "List all commands, or get help for a specified command.", result: "\"text\" (string) The help text",
                  resultSchema: ["type": "string"]) { args, ctx in
            guard let name = args.string("command") else { return .string(ctx.methods.overview) }
            guard let m = ctx.methods.method(name) else { return .string("help: unknown command: \(name.prefix(80))") }
            return .string(m.help)
        },
        RPCMethod(name: .rpcDiscover, category: "Control", params: [],
                  summary: "The OpenRPC document of these methods (built from the same table as help).",
                  result: "{openrpc, info, methods}", resultSchema: objectSchema, weight: 2) { _, ctx in
            ctx.methods.openRPC(version: NodeRoutes.version, network: ctx.backend.network.rawValue)
        },
        RPCMethod(name: .addnode, category: "Network",
                  params: [.required("node", .string, "The peer to connect to: host:port, or ws://host:port"),
                           .required("command", .string, "'add' or 'onetry' (Cairn's peer bridge keeps a peer it was given)")],
                  summary: "Asks the peer bridge to connect to a node (peer.rpc addpeer).", result: "null",
                  resultSchema: ["type": "null"], operatorOnly: true) { args, ctx in
            let node = (args.string("node") ?? "").trimmingCharacters(in: .whitespaces)
            let command = args.string("command") ?? ""
            guard command == "add" || command == "onetry" else {
                throw RPCFault.invalidParameter("Error: command must be 'add' or 'onetry' (a peer cannot be removed here)")
            }
            let url = node.hasPrefix("ws://") || node.hasPrefix("wss://") ? node : "ws://\(node)"
            guard !node.isEmpty, let parsed = URL(string: url), parsed.host != nil, parsed.port != nil else {
                throw RPCFault(-30, "Error: invalid node address '\(node.prefix(80))': use host:port or ws://host:port")
            }
            _ = try await ctx.rpc.peerCall(.addpeer, AddPeer(url: url), as: Empty.self)
            return .null
        },
        RPCMethod(name: .setnetworkactive, category: "Network", params: [.required("state", .bool, "true to enable networking, false to disable")],
                  summary: "Disable/enable all p2p network activity (the peer bridge drops every peer and dials none while off).",
                  result: "true|false (boolean) The value that was passed in", resultSchema: ["type": "boolean"], operatorOnly: true) { args, ctx in
            let state = args.bool("state") ?? true
            return .bool(try await ctx.rpc.peerCall(.setnetworkactive, NetworkActive(active: state), as: NetworkActive.self).active)
        },
    ]
}
