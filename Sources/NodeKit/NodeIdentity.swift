import ArgumentParser
import Bus
import ChainCore
import Foundation
import Logging

/// Which node a bus belongs to. Each data folder has a node id (`DATA/node-id`, 32 hex digits,
/// made once by `cairn up`), which `cairn up` passes to every service it starts (`--node-id`,
/// env `CAIRN_NODE_ID`). The authorities (chain store, mempool, peer bridge) answer it to
/// `getnodeid`; a service that connects to them with a node id of its own asks each before it
/// does any work and, when an authority answers another id (or none), stops with one line, a
/// configuration error (exit 64): a miner or a mempool of one data folder never works on another
/// folder's bus (say a second node whose ports collide with the first's). Without a node id (a
/// service started by hand, a container of docker compose or the stack, where the bus's CURVE keys
/// already decide who may join) the check is off.
public enum NodeIdentity {
    public static let fileName = "node-id"
    public static let env = "CAIRN_NODE_ID"

    public struct Reply: Codable, Sendable, Equatable {
        public var nodeId: String?
        /// The authority's network (`main`, `testnet`, `regtest`); nil from an older one.
        public var network: String?
        public init(nodeId: String?, network: String? = nil) { self.nodeId = nodeId; self.network = network }
    }

    /// A node id: 32 hex digits.
    public static func isValid(_ text: String) -> Bool {
        text.count == 32 && text.allSatisfy { $0.isHexDigit }
    }

    /// The data folder's node id, if it has one.
    public static func read(directory: URL) -> String? {
        let url = directory.appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: url.path),
              let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines).lowercased(),
              isValid(text) else { return nil }
        return text
    }

    /// The `getnodeid` method of an authority of `network`.
    public static func method(_ nodeID: String?, network: Network) -> RPCRouter.Raw {
        RPCRouter.method(Empty.self) { _ in Reply(nodeId: nodeID, network: network.rawValue) }
    }

    /// What one `getnodeid` answer says of an authority a service would trust without stopping
    /// (the chain store's signature cache, filled from the mempool's publications).
    public enum Verdict: Sendable, Equatable {
        /// Of this node (when this service has a node id) and of this network (when it answers one).
        case same
        /// Of another node or network: why.
        case other(String)
        /// It did not answer (yet).
        case unreachable(String)
    }

    /// The verdict on `reply`, for a service of node `expected` (nil: not checked) on `network`.
    public static func verdict(on reply: Reply, expected: String?, network: Network) -> Verdict {
        if let expected, reply.nodeId != expected {
            return .other("it belongs to another node (node id \(reply.nodeId ?? "none"), this service's \(expected))")
        }
        if let theirs = reply.network, theirs != network.rawValue {
            return .other("it is on network \(theirs), this service on \(network.rawValue)")
        }
        return .same
    }

    /// Asks `client`'s authority `getnodeid` once; an authority that does not know the method is
    /// judged as answering no node id and no network.
    public static func verdict(of client: RPCClient, expected: String?, network: Network) async -> Verdict {
        do {
            return verdict(on: try await client.call(AuthorityMethod.getnodeid, Empty(), as: Reply.self), expected: expected, network: network)
        } catch let e as RPCError where e.code == "unknown-method" {
            return verdict(on: Reply(nodeId: nil), expected: expected, network: network)
        } catch {
            return .unreachable("\(error)")
        }
    }

    /// Waits until each authority answers `getnodeid` (it may still be starting) and checks its
    /// answer against `expected`; throws a `ValidationError` naming the authority when it belongs
    /// to another node. Nothing is checked when `expected` is nil.
    public static func check(expected: String?, authorities: [(name: String, endpoint: String, client: RPCClient)],
                             logger: Logger) async throws {
        guard let expected else { return }
        for a in authorities {
            var attempt = 0
            while true {
                try Task.checkCancellation()
                attempt += 1
                let answer: String?
                do {
                    answer = try await a.client.call(AuthorityMethod.getnodeid, Empty(), as: Reply.self).nodeId
                } catch let e as RPCError where e.code == "unknown-method" {
                    answer = nil
                } catch {
                    if attempt == 1 || attempt % 10 == 0 {
                        logger.notice("waiting for \(a.name) to answer its node id", metadata: ["endpoint": "\(a.endpoint)", "error": "\(error)"])
                    }
                    try await Task.sleep(for: .seconds(1))
                    continue
                }
                guard answer == expected else {
                    throw ValidationError("\(a.name) at \(a.endpoint) belongs to another node (node id \(answer ?? "none"), this service's \(expected)): "
                                          + "it is not this data folder's bus; stop the other node or use other ports (cairn up --port-offset N)")
                }
                break
            }
        }
        logger.info("bus belongs to this node", metadata: ["node_id": "\(expected)"])
    }
}

extension RPCRouter {
    /// This router with `getnodeid` answering `nodeID` and `network` (see `NodeIdentity`).
    public func identified(by nodeID: String?, network: Network) -> RPCRouter {
        RPCRouter(routes.merging([AuthorityMethod.getnodeid.rawValue: NodeIdentity.method(nodeID, network: network)]) { own, _ in own },
                  inline: inlineRoutes)
    }
}

extension CommonOptions {
    /// `--node-id`, else `CAIRN_NODE_ID`; nil when neither is given. A malformed one is a configuration error.
    public var nodeID: String? {
        get throws {
            guard let text = nodeIDOption ?? env[NodeIdentity.env], !text.isEmpty else { return nil }
            guard NodeIdentity.isValid(text) else { throw ValidationError("--node-id / \(NodeIdentity.env): expected 32 hex digits (DATA/\(NodeIdentity.fileName))") }
            return text.lowercased()
        }
    }
}
