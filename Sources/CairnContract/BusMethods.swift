/// A bus service's method names (`chain.rpc`, `mempool.rpc`, `peer.rpc`, `accounts.rpc`): one
/// String-backed enum per service, its raw values the names on the wire, in the order of
/// docs/ARCHITECTURE.md's list for that service ("Request/reply"). A service's router registers
/// exactly its enum's cases and callers name a case, so a misspelt method does not compile; tests
/// check each router against its enum and the docs' lists against the enums. (The edge's JSON-RPC
/// methods are `RPCMethodName`.)
public protocol BusMethod: RawRepresentable, CaseIterable, Hashable, Sendable, CustomStringConvertible where RawValue == String {}

extension BusMethod {
    /// The name on the wire.
    public var description: String { rawValue }
}

/// `chain.rpc`: the chain store (Sources/ChainStore/ChainRPC.swift, PeerQueries.swift; messages in ChainMessages.swift).
public enum ChainMethod: String, BusMethod {
    case getchaininfo, getchaintip, submitblock, getheader, getblock, getblocks, gettx, getcoins
    case getaddress, getaddressutxos, getaddresstxs, getlocator, gettrace, verifyutxo, getspends, getblockstats, getstatus
    // for the peer bridge
    case getheaders, getblockstates, getrawblocks
}

/// `mempool.rpc`: the mempool (Sources/Mempool/MempoolRPC.swift; messages in MempoolMessages.swift, TemplateRPC.swift).
public enum MempoolMethod: String, BusMethod {
    case submittx
    /// Binary (docs/PROTOCOL.md, "Bus: batched submissions").
    case submittxs
    case testtx, getmempoolinfo, getrawmempool, checkmempool, getentry, getaddressmempool, getblocktemplate
    /// Binary (docs/PROTOCOL.md, "Bus: getblocktemplate's JSON-RPC result").
    case getblocktemplaterpc
    /// Binary (docs/PROTOCOL.md, "Bus: the miner's template").
    case getblocktemplatebin
    case getminers, gettrace, getstatus, getpace, setpace, getspenders, getmempoolblocks, getmempoolsamples
}

/// `peer.rpc`: the peer bridge (Sources/PeerBridge/PeerBridgeRPC.swift; messages in PeerMessages.swift).
public enum PeerMethod: String, BusMethod {
    case getpeers, getsync, addpeer, setnetworkactive, getstatus
}

/// `accounts.rpc`: the accounts service (Sources/Accounts/AccountsService.swift, Portal.swift; messages in
/// AccountsMessages.swift, PortalMessages.swift).
public enum AccountsMethod: String, BusMethod {
    case createaccount, listaccounts, createkey, listkeys, revokekey, rotatekey, lookupkey, lease, getusage, getstatus
    // the developer portal
    case portalinfo, signup, login, logout, mykeys, mycreatekey, myrotatekey, myrevokekey, myusage
}

/// What every authority answers besides its own methods (chain.rpc, mempool.rpc, peer.rpc:
/// Sources/NodeKit/NodeIdentity.swift).
public enum AuthorityMethod: String, BusMethod {
    case getnodeid
}
