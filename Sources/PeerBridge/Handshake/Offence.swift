/// Misbehaviour and what it costs. A peer reaching `Offence.banThreshold` is
/// disconnected and banned. (An obsolete protocol version is refused with its
/// `RejectCode` and not scored: it is nobody's misbehaviour.)
enum Offence: String, CaseIterable, Sendable, Codable {
    case wrongNetwork = "wrong-network"
    case wrongGenesis = "wrong-genesis"
    case oversized = "oversized-message"
    case malformed = "malformed-message"
    case unknownMessage = "unknown-message"
    case textFrame = "text-frame"
    case beforeHandshake = "message-before-handshake"
    case duplicateVersion = "duplicate-version"
    case invalidBlock = "invalid-block"
    case invalidHeader = "invalid-header"
    case unconnectedHeaders = "unconnected-headers"
    case invalidTransaction = "invalid-transaction"
    case unrequestedData = "unrequested-data"
    case rateLimited = "rate-limited"

    static let banThreshold = 100

    var score: Int {
        switch self {
        case .wrongNetwork, .wrongGenesis, .oversized, .invalidBlock, .invalidHeader: return 100
        case .malformed, .textFrame, .beforeHandshake: return 50
        case .unknownMessage, .duplicateVersion, .rateLimited: return 20
        case .unconnectedHeaders, .unrequestedData: return 10
        case .invalidTransaction: return 10
        }
    }
}
