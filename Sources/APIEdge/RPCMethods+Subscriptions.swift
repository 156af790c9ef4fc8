import ChainCore
import Foundation
import NodeKit

/// The WebSocket-only methods: subscribe / unsubscribe (newHeads, newTransactions, addresses).
extension RPCMethods {

    static func session(_ ctx: RPCContext, _ name: RPCMethodName) throws -> RPCSession {
        guard let s = ctx.session else {
            throw RPCFault.invalidRequest("\(name) is available over WebSocket only: connect to ws://<edge>/rpc")
        }
        return s
    }

    static let subscriptions: [RPCMethod] = [
        RPCMethod(name: .subscribe, category: "Subscriptions (WebSocket)",
                  params: [.required("kind", .string, "newHeads (blocks connected, and disconnected with removed=true), newTransactions (mempool entries), or addresses"),
                           .optional("addresses", .array, "For kind addresses: the addresses whose transactions (paying or spending) to push (at most 1,000)"),
                           .optional("since", .string, "Resume: the cursor of the last notification handled (or the hash of the last block seen); what the subscription missed is sent first")],
                  summary: "Over WebSocket only: pushes {\"jsonrpc\":\"2.0\",\"method\":\"subscription\",\"params\":{\"subscription\":id,\"cursor\":c,\"result\":…}} for each event.\nWith since, the events after that cursor are sent first (from the last 5,000, or the best chain's blocks from the chain store, marked \"replay\":true), or {…\"params\":{\"subscription\":id,\"cursor\":c,\"resync\":{\"scope\",\"reason\"}}} when they cannot be: fetch the state again.\nA connection that does not read its messages is closed (1008) when its queue is full.",
                  result: "\"id\" (string) The subscription id, for unsubscribe", resultSchema: ["type": "string"], weight: 4) { args, ctx in
            let s = try session(ctx, .subscribe)
            var since: RPCSubscriptions.Cursor?
            if let text = args.string("since") {
                guard let c = RPCSubscriptions.Cursor(text) else {
                    throw RPCFault.invalidParameter("since: expected a notification's cursor or a 64-hex-digit block hash")
                }
                since = c
            }
            // Subscribed once the feed has started, so it is sent every event from its reply on (FeedStart.swift).
            guard await s.hub.feedStart.wait() else { throw RPCFault(RPCFault.inWarmupCode, FeedStart.notYet) }
            switch args.string("kind") ?? "" {
            case "newHeads": return .string(try s.hub.subscribe(s.id, .newHeads, since: since))
            case "newTransactions": return .string(try s.hub.subscribe(s.id, .newTransactions, since: since))
            case "addresses":
                guard case .array(let list)? = args.value("addresses"), !list.isEmpty, list.count <= RPCSubscriptions.maxAddressesPerSubscription else {
                    throw RPCFault.invalidParameter("addresses: give 1 to \(RPCSubscriptions.maxAddressesPerSubscription) addresses")
                }
                var keys = [[UInt8]: String]()
                for item in list {
                    guard case .string(let text) = item else { throw RPCFault.typeError("addresses must be strings") }
                    do {
                        let a = try Address(text, network: ctx.backend.network)
                        keys[a.publicKey] = a.string
                    } catch let e as AddressError {
                        throw RPCFault.invalidAddressOrKey("Invalid address \(text.prefix(100)): \(e.description)")
                    }
                }
                return .string(try s.hub.subscribe(s.id, .addresses(keys), since: since))
            case let other:
                throw RPCFault.invalidParameter("unknown subscription kind '\(other.prefix(40))': newHeads, newTransactions or addresses")
            }
        },
        RPCMethod(name: .unsubscribe, category: "Subscriptions (WebSocket)", params: [.required("subscription", .string, "The id subscribe answered")],
                  summary: "Over WebSocket only: stops a subscription of this connection.", result: "true|false (boolean) Whether there was one",
                  resultSchema: ["type": "boolean"]) { args, ctx in
            let s = try session(ctx, .unsubscribe)
            return .bool(s.hub.unsubscribe(s.id, args.string("subscription") ?? ""))
        },
    ]
}
