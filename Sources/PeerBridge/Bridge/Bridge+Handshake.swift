import ChainCore
import Foundation
import NodeKit

/// The handshake (PROTOCOL §9): our `version`, the peer's `version` checked and answered with
/// `verack`, a peer that does not finish in time refused, and what follows a completed handshake.
extension Bridge {
    func sendHello(_ conn: Connection) {
        let hello = Wire.Hello(protocolVersion: Wire.protocolVersion, magic: config.params.magic, genesis: config.params.genesisHash,
                               bestHeight: UInt32(max(0, tipHeight)), bestHash: tipHash, nonce: nonce,
                               listenPort: config.listenPort, userAgent: config.userAgent)
        send(conn.id, .version(hello))
    }

    func checkHandshake(_ conn: Connection) {
        guard let p = peers[conn.id], !p.handshaken else { return }
        reject(conn, .handshakeTimeout, "no handshake within \(config.handshakeTimeout)")
    }

    func handleHello(_ conn: Connection, _ hello: Wire.Hello) async {
        guard let p = peers[conn.id] else { return }
        if p.hello != nil {
            misbehaved(conn, .duplicateVersion, "a second version message")
            return
        }
        peers[conn.id]?.listenPort = hello.listenPort
        peers[conn.id]?.claimedNonce = hello.nonce
        if let (code, reason) = Handshake.check(hello, params: config.params, ownNonce: nonce) {
            if code == .selfConnection, let url = conn.dialURL { addressBook.found(nonce, at: url) }
            reject(conn, code, reason)
            if let offence = Handshake.offence(for: code) { misbehaved(conn, offence, reason) }
            return
        }
        if let ban = banList.active(for: banKeys(conn, listenPort: hello.listenPort, nonce: hello.nonce)) {
            reject(conn, .banned, "banned: \(ban.reason)")
            return
        }
        if let url = conn.dialURL { addressBook.found(hello.nonce, at: url) }
        // Another connection claiming the same node (nonce). Nonces are public (every `version` carries
        // one), so a claim alone never evicts an established connection: see `duplicateLoser`.
        if let other = peers.other(claiming: hello.nonce, besides: conn.id) {
            switch PeerTable.duplicateLoser(ownNonce: nonce, new: conn, newHello: hello, existing: other) {
            case .new?:
                reject(conn, .duplicateConnection, "already connected to node \(String(hello.nonce, radix: 16))")
                return
            case .existing?:
                reject(other.conn, .duplicateConnection, "already connected to node \(String(hello.nonce, radix: 16))")
            case nil:
                break
            }
        }
        var q = p
        q.hello = hello
        q.listenPort = hello.listenPort
        q.claimedNonce = hello.nonce
        q.bestHeight = Int(hello.bestHeight)
        if hello.listenPort > 0 {
            q.announcedURL = conn.dialURL ?? "ws://\(conn.urlHost):\(hello.listenPort)"
        }
        peers[conn.id] = q
        send(conn.id, .verack)
        if q.verackReceived { await handshakeComplete(conn) }
    }

    func handshakeComplete(_ conn: Connection) async {
        guard let p = peers[conn.id], p.handshaken, let hello = p.hello else { return }
        logger.notice("peer handshaken", metadata: ["peer": "\(conn.id)", "remote": "\(conn.remote)", "direction": "\(conn.direction.rawValue)",
                                                   "agent": "\(hello.userAgent)", "height": "\(hello.bestHeight)"])
        send(conn.id, .getaddr)
        // Address relay: the other peers learn where this one listens.
        if let url = p.announcedURL {
            for (id, q) in peers where id != conn.id && q.handshaken && !q.conn.isClosing && q.announcedURL != url {
                send(id, .addr([url]))
            }
        }
        // Sync from any peer whose best block we do not have (higher, or an equal-height fork).
        if Int(hello.bestHeight) >= tipHeight, hello.bestHash != tipHash {
            let states = (try? await node.blockStates([hello.bestHash])) ?? [nil]
            if states.first ?? nil == nil { await askHeaders(conn.id) }
        }
    }
}
