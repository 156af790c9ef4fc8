import ChainCore
import Crypto
import Foundation
import NodeKit
import Wallet

// The files `cairn up` keeps in the data folder for the node itself: its id and its key.

/// The node's id (16 random bytes, hex, in DATA/node-id): the edge returns it from /healthz so that
/// `cairn up` recognises its own edge rather than any edge answering on the port.
enum NodeID {
    static let fileName = "node-id"

    static func loadOrCreate(directory: URL) throws -> String {
        let url = directory.appendingPathComponent(fileName)
        if let data = FileManager.default.contents(atPath: url.path),
           let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
           text.count == 32, Hex.decode(text) != nil {
            return text
        }
        let id = Hex.encode((0..<16).map { _ in UInt8.random(in: 0...255) })
        do {
            try Data((id + "\n").utf8).write(to: url, options: .atomic)
        } catch {
            throw CLIError("cannot write \(url.path): \(error.localizedDescription)")
        }
        return id
    }
}

/// The node's own key (raw 32-byte Ed25519 private key, mode 0600): the default payout of `cairn up`'s miner.
enum NodeKey {
    static let fileName = "node-key"

    static func loadOrCreate(directory: URL) throws -> (Curve25519.Signing.PrivateKey, created: Bool) {
        let path = directory.appendingPathComponent(fileName).path
        if let bytes = FileManager.default.contents(atPath: path) {
            guard bytes.count == 32, let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: bytes) else {
                throw CLIError("\(path) is damaged (expected a raw 32-byte Ed25519 key); move it away to create a new one")
            }
            return (key, false)
        }
        let key = Curve25519.Signing.PrivateKey()
        do {
            try SecureFile.createExclusive(path: path, contents: Array(key.rawRepresentation))
        } catch .exists {
            return try loadOrCreate(directory: directory)
        } catch {
            throw CLIError(error.description)
        }
        return (key, true)
    }
}
