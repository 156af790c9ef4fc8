/// The JSON-RPC methods the edge answers (`POST /rpc`, the WebSocket `/rpc`), by their Bitcoin Core
/// names, in the order of the edge's method table (`help`, `rpc.discover` and docs/ARCHITECTURE.md's
/// credits table list them so). The edge's table (`Sources/APIEdge/RPCMethodTable.swift`) defines
/// each with its params, weight and handler; tests check that the table defines every case once and
/// that the docs' table names the same methods. Bus methods (`chain.rpc`, `mempool.rpc`, …) are not here.
public enum RPCMethodName: String, CaseIterable, Sendable, Codable, CustomStringConvertible {
    // The chain (RPCMethods+Blockchain.swift)
    case getblockchaininfo, getblockcount, getbestblockhash, getblockhash, getblockheader, getblock, gettxout
    // Transactions and the mempool (RPCMethods+Mempool.swift)
    case getrawtransaction, sendrawtransaction, testmempoolaccept
    case getmempoolinfo, getrawmempool, getmempoolentry
    // Mining (RPCMethods+Mining.swift)
    case getblocktemplate, submitblock, getmininginfo
    case estimatesmartfee
    // The network (RPCMethods+Network.swift)
    case getnetworkinfo, getpeerinfo, getconnectioncount
    // Util and control (RPCMethods+Control.swift)
    case validateaddress, uptime, help
    case rpcDiscover = "rpc.discover"
    case addnode, setnetworkactive
    // Subscriptions, the WebSocket `/rpc` only (RPCMethods+Subscriptions.swift)
    case subscribe, unsubscribe

    /// The name on the wire (`rpc.discover`, not the case's Swift name).
    public var description: String { rawValue }
}
