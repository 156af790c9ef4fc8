import ChainCore
import Foundation

/// Decodes a service's raw transaction hex.
func decodeTx(_ hex: String) throws -> Transaction {
    guard let raw = Hex.decode(hex) else { throw APIError(.badGateway, "backend-error", "a service returned a transaction that is not hex") }
    do {
        return try Transaction(bytes: raw)
    } catch {
        throw APIError(.badGateway, "backend-error", "a service returned an undecodable transaction: \(error)")
    }
}
