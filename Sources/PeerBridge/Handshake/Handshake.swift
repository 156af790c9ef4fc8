import ChainCore

/// The codes a `reject` carries before a connection is closed.
enum RejectCode: String, Sendable {
    case wrongNetwork = "wrong-network"
    case wrongGenesis = "wrong-genesis"
    case obsoleteVersion = "obsolete-version"
    case selfConnection = "self-connection"
    case duplicateConnection = "duplicate-connection"
    case tooManyPeers = "too-many-peers"
    case banned = "banned"
    case misbehaving = "misbehaving"
    case handshakeTimeout = "handshake-timeout"
    case pingTimeout = "ping-timeout"
    case shuttingDown = "shutting-down"
    case networkInactive = "network-inactive"
}

/// Handshake checks, in order; nil when the hello is acceptable.
enum Handshake {
    static func check(_ hello: Wire.Hello, params: ChainParams, ownNonce: UInt64) -> (RejectCode, String)? {
        if hello.magic != params.magic {
            return (.wrongNetwork, "network magic \(Hex.encode(hello.magic)) is not \(params.network.rawValue)'s \(Hex.encode(params.magic))")
        }
        if hello.genesis != params.genesisHash {
            return (.wrongGenesis, "genesis \(hello.genesis.hex) is not \(params.genesisHash.hex)")
        }
        if hello.protocolVersion < Wire.minimumProtocolVersion {
            return (.obsoleteVersion, "protocol version \(hello.protocolVersion) is below \(Wire.minimumProtocolVersion)")
        }
        if hello.nonce == ownNonce {
            return (.selfConnection, "connected to itself (same nonce)")
        }
        return nil
    }

    static func offence(for code: RejectCode) -> Offence? {
        switch code {
        case .wrongNetwork: return .wrongNetwork
        case .wrongGenesis: return .wrongGenesis
        default: return nil
        }
    }
}
