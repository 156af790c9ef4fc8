import ArgumentParser
import ChainCore
import Foundation
import NodeKit
import Wallet

/// Spending from the wallet: a payment, and the replacement of a pending one.
extension Wallet {
    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pay an address; prints the txid.")
        @OptionGroup var options: WalletOptions

        @Option(help: "Recipient address.")
        var to: String

        @Option(help: "Amount in CRN (up to 8 decimal places).")
        var amount: String

        @Option(name: .customLong("fee-rate"), help: "Fee rate in base units per byte of the signed transaction.")
        var feeRate: Double = TxBuilder.defaultFeeRate

        func validate() throws {
            guard feeRate >= 0, feeRate.isFinite else { throw ValidationError("--fee-rate must be a non-negative number") }
        }

        func run() async throws {
            try await walletAction {
                let (file, address, params) = try await options.load(checkEdge: true)
                let recipient: Address
                do { recipient = try Address(to, network: params.network) } catch let e as AddressError {
                    throw CLIError("--to: \(e.description) [\(e.code)]")
                }
                guard let value = Units.parse(amount) else {
                    throw CLIError("--amount '\(amount)' is not a CRN amount (digits, at most 8 decimal places, e.g. 1.5)")
                }
                let utxos = try await options.client.get("/api/address/\(address.string)/utxo", as: [EsploraUTXO].self)
                let tip = try await options.client.get("/api/chain", as: ChainReply.self).height
                // A coinbase can be spent only once mature (a block at tip + 1 must be `maturity` past it).
                let mature = utxos.filter { u in
                    guard u.coinbase, let h = u.status.blockHeight else { return true }
                    return tip + 1 - h >= params.coinbaseMaturity
                }
                let coins = try mature.map { u throws -> Spendable in
                    guard let txid = Hash256(hex: u.txid) else { throw EdgeClient.Failure.undecodable("/utxo", "bad txid \(u.txid)") }
                    return Spendable(outpoint: OutPoint(txid: txid, index: u.vout), value: u.value, confirmed: u.status.confirmed,
                                     height: u.status.blockHeight)
                }
                let plan = try TxBuilder.plan(coins: coins, to: recipient.publicKey, amount: value,
                                              change: address.publicKey, feeRate: feeRate)
                let password = try Password.read(prompt: "Password for \(options.keystorePath): ")
                let key = try Keystore.open(file, password: password, path: options.keystorePath)
                let tx = try TxBuilder.sign(plan, key: key, params: params)
                do {
                    let txid = try await options.client.broadcast(hex: Hex.encode(tx.encoded))
                    print(txid)
                    Output.note("sent \(Units.format(value)) CRN to \(recipient.string), fee \(Units.format(plan.fee)) CRN (\(plan.size) bytes)"
                                + (plan.change.map { ", change \(Units.format($0)) CRN" } ?? ""))
                } catch let EdgeClient.Failure.http(status, _, code, message) {
                    Output.error("the node refused the transaction\(code.map { " [\($0)]" } ?? "") (HTTP \(status)): \(message)")
                    throw ExitCode.failure
                }
            }
        }
    }

    /// `cairn wallet bump <txid>`: replaces a pending payment of this wallet (the mempool's full-RBF rules).
    struct Bump: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace a pending transaction of this wallet with a higher fee (or --cancel it); prints the new txid.")
        @OptionGroup var options: WalletOptions

        @Argument(help: "The pending transaction's txid.")
        var txid: String

        @Option(name: .customLong("fee-rate"), help: "Fee rate in base units per byte (at least what the node asks of a replacement: the old fee + 1 unit/byte, and a higher rate).")
        var feeRate: Double = TxBuilder.defaultFeeRate

        @Flag(help: "Pay everything back to this wallet instead of the recipients (minus the higher fee).")
        var cancel = false

        func validate() throws {
            guard Hash256(hex: txid) != nil else { throw ValidationError("'\(txid)' is not a 64-hex-digit txid") }
            guard feeRate >= 0, feeRate.isFinite else { throw ValidationError("--fee-rate must be a non-negative number") }
        }

        func run() async throws {
            try await walletAction {
                let (file, address, params) = try await options.load(checkEdge: true)
                let tx = try await options.client.get("/api/tx/\(txid.lowercased())", as: EsploraTx.self)
                guard !tx.status.confirmed else { throw CLIError("\(txid) is already confirmed: there is nothing to replace") }
                let own = Hex.encode(address.publicKey)
                guard !tx.vin.isEmpty, tx.vin.allSatisfy({ $0.prevout?.pubkey == own }) else {
                    throw CLIError("\(txid) spends coins of another address: only the wallet that sent it can replace it")
                }
                let oldFee = tx.fee, oldSize = tx.size
                let inputs = try tx.vin.map { i throws -> Spendable in
                    guard let t = Hash256(hex: i.txid), let p = i.prevout else {
                        throw EdgeClient.Failure.undecodable("/api/tx/\(txid)", "an input without its outpoint or coin")
                    }
                    return Spendable(outpoint: OutPoint(txid: t, index: i.vout), value: p.value, confirmed: false)
                }
                let payments = cancel ? [] : try tx.vout.filter { $0.pubkey != own }.map { o throws -> TxOutput in
                    guard let key = Hex.decode(o.pubkey) else { throw EdgeClient.Failure.undecodable("/api/tx/\(txid)", "an output without its key") }
                    return TxOutput(value: o.value, publicKey: key)
                }
                let plan = try TxBuilder.replacement(inputs: inputs, payments: payments, change: address.publicKey,
                                                     oldFee: oldFee, oldSize: oldSize, feeRate: feeRate)
                let password = try Password.read(prompt: "Password for \(options.keystorePath): ")
                let key = try Keystore.open(file, password: password, path: options.keystorePath)
                let signed = try TxBuilder.sign(plan, key: key, params: params)
                do {
                    let newTxid = try await options.client.broadcast(hex: Hex.encode(signed.encoded))
                    print(newTxid)
                    let rate = { (f: Amount, s: Int) in String(format: "%.2f", Double(f) / Double(s)) }
                    Output.note("\(cancel ? "cancelled" : "fee bumped"): replaces \(txid); fee \(Units.format(oldFee)) → \(Units.format(plan.fee)) CRN, "
                                + "\(rate(oldFee, oldSize)) → \(rate(plan.fee, plan.size)) units/byte")
                } catch let EdgeClient.Failure.http(status, _, code, message) {
                    Output.error("the node refused the replacement\(code.map { " [\($0)]" } ?? "") (HTTP \(status)): \(message)")
                    throw ExitCode.failure
                }
            }
        }
    }
}
