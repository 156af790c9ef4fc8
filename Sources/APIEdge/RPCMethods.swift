import ChainCore
import Foundation
import NodeKit

/// The JSON-RPC methods: Bitcoin Core's names, params and result shapes, answered from the same
/// services as the REST routes (chain store, mempool, peer bridge over the bus). Where Cairn differs
/// from Bitcoin (no scripts: an output pays a 32-byte Ed25519 key; no witness, no locktime) the shapes
/// keep Bitcoin's field names and leave out what does not exist (docs/PROTOCOL.md, JSON-RPC).
enum RPCMethods {
    static let hashSchema: RPCValue = ["type": "string", "pattern": "^[0-9a-f]{64}$"]
    static let objectSchema: RPCValue = ["type": "object"]

    static var all: [RPCMethod] { blockchain + mempool + mining + network + util + control + subscriptions }
}
