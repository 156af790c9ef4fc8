import ChainCore
import Foundation
import HummingbirdWebSocket
import Logging
import NIOWebSocket
import NodeKit
import Synchronization

// A keyed socket: its key checked again at every message and on every notice that drops it.

extension RPCSubscriptions {
    enum KeyCheck: Sendable {
        case valid(KeyGrant)
        /// This message was answered with an error (the accounts service does not answer); the socket stays open.
        case refused
        /// The key is no longer valid: the socket closes.
        case closed
    }

    /// Checks a keyed socket's key again (from the edge's cache; a notice empties it at once): valid,
    /// or `request` (the message, for its id) answered with the refusal: -32001 and the socket closes
    /// for a key no longer valid, -28 (the accounts service does not answer) and it stays open.
    func checkKey(_ key: SocketKey, id: Int, request: Data?) async -> KeyCheck {
        do {
            let record = try await key.access.authenticate(key.text)
            try AccessControl.checkOrigin(record, origin: key.origin)
            return .valid(KeyGrant(record: record, accessControl: key.access))
        } catch {
            let api = APIError.from(error)
            var callID: RPCValue?
            var version = RPCCallRequest.Version.v2
            if let request, let parsed = try? RPCValue.decode(request), case .object = parsed {
                switch RPCCallRequest.parse(parsed) {
                case .success(let c): (callID, version) = (c.id, c.version)
                case .failure(let f): (callID, version) = (f.id, f.version)
                }
            }
            let text = String(decoding: RPCRoutes.errorReply(RPCFault.keyRefusal(api), id: callID, version: version).encoded(), as: UTF8.self)
            if api.status == .serviceUnavailable {
                if request != nil { send(id, text) }
                return .refused
            }
            key.access.count(key: key.id, method: "websocket", refused: request == nil ? 0 : 1)
            closeForKey(id, text: text, reason: api.status == .forbidden ? "origin not allowed for the API key" : "API key no longer valid")
            return .closed
        }
    }
}

extension RPCSubscriptions.Kind {
    /// How usage counts a pushed notification of this kind.
    var usageLabel: String {
        switch self {
        case .newHeads: return "subscription:newHeads"
        case .newTransactions: return "subscription:newTransactions"
        case .addresses: return "subscription:addresses"
        }
    }
}

/// A keyed WebSocket's key (`/v1/<key>/rpc`, or `X-API-Key` on the upgrade) and the Origin it was
/// opened from: checked again at each message and whenever a notice drops the key.
struct SocketKey: Sendable {
    let text: String
    let id: String
    let origin: String?
    let access: AccessControl
}
