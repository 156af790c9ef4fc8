import ArgumentParser
import ChainCore
import Crypto
import Foundation
import NodeKit
import Wallet

struct WalletOptions: ParsableArguments {
    @Option(help: "Keystore file (env CAIRN_WALLET; default ./cairn-wallet.json).")
    var keystore: String?

    @Option(help: "Edge URL (env CAIRN_EDGE; default http://127.0.0.1:8340).")
    var edge: String?

    @Option(help: "Network (default: the edge's, else regtest).")
    var network: String?

    var keystorePath: String {
        keystore ?? ProcessInfo.processInfo.environment["CAIRN_WALLET"].flatMap { $0.isEmpty ? nil : $0 } ?? "./cairn-wallet.json"
    }

    var client: EdgeClient { EdgeClient(edge) }

    /// For a new wallet: --network, else the edge's, else regtest.
    func newWalletNetwork() async throws -> Network {
        var net = network
        if net == nil, let node = try? await client.get("/api/node", as: NodeSummary.self) { net = node.network }
        let name = net ?? "regtest"
        guard let network = Network(rawValue: name) else { throw CLIError("unknown network '\(name)'") }
        return network
    }

    /// Seals `key` under a new password into a new keystore file; prints the address and the path.
    func writeNew(_ key: Curve25519.Signing.PrivateKey, network: Network, account: UInt32) throws {
        let path = keystorePath
        let password = try Password.read(prompt: "New wallet password: ", confirm: true)
        let file = try Keystore.seal(key, password: password, network: network)
        try Keystore.write(file, path: path)
        print("address  \(file.address)")
        print("path     \(PhraseWallet.path(account: account))")
    }

    /// The keystore, checked against --network and the edge's network.
    func load(checkEdge: Bool) async throws -> (KeystoreFile, Address, ChainParams) {
        let path = keystorePath
        let file = try Keystore.read(path: path)
        let address = try Keystore.check(file, path: path)
        if let n = network, n != file.network {
            throw CLIError("--network \(n), but \(path) holds a \(file.network) wallet")
        }
        if checkEdge, let node = try? await client.get("/api/node", as: NodeSummary.self), node.network != file.network {
            throw CLIError("\(path) holds a \(file.network) wallet, but the edge at \(client.base) runs \(node.network)")
        }
        return (file, address, address.network.params)
    }
}

/// A runtime failure: ArgumentParser prints "Error: <message>" without the usage text and exits 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Runs a wallet action, turning known failures into one clear line and exit 1.
func walletAction(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let e as KeystoreError {
        Output.error(e.description); throw ExitCode.failure
    } catch let e as SendError {
        Output.error(e.description); throw ExitCode.failure
    } catch let e as EdgeClient.Failure {
        Output.error(e.description); throw ExitCode.failure
    } catch let e as Password.Failure {
        Output.error(e.description); throw ExitCode.failure
    } catch let e as MnemonicError {
        Output.error(e.description); throw ExitCode.failure
    }
}

struct Wallet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A wallet in an encrypted keystore file (the browser wallet's format).",
        subcommands: [New.self, Create.self, Restore.self, Show.self, Balance.self, Send.self, History.self, Bump.self])

    struct New: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a wallet from a random key, without a recovery phrase (refuses to overwrite a file; `create` makes one with a phrase).")
        @OptionGroup var options: WalletOptions

        func run() async throws {
            try await walletAction {
                let path = options.keystorePath
                guard !FileManager.default.fileExists(atPath: path) else { throw KeystoreError.exists(path) }
                let network = try await options.newWalletNetwork()
                let password = try Password.read(prompt: "New wallet password: ", confirm: true)
                let file = try Keystore.seal(Curve25519.Signing.PrivateKey(), password: password, network: network)
                try Keystore.write(file, path: path)
                print(file.address)
                Output.note("wrote \(path) (\(network.rawValue)); keep it and its password: nothing else can spend these coins")
            }
        }
    }

    /// A wallet from a new recovery phrase: the phrase is printed once, the key sealed in the keystore.
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a wallet from a new recovery phrase (BIP-39); prints the phrase: write it down.",
            discussion: "The key is account --account of the phrase (SLIP-0010, m/44'/\(PhraseWallet.coinType)'/0'/0'/<account>'), the same as the browser wallet's. The keystore file keeps only that key; the phrase restores it (`cairn wallet restore`) and the other accounts.")
        @OptionGroup var options: WalletOptions

        @Option(name: .customLong("phrase-words"), help: "Words in the phrase: 12 or 24.")
        var phraseWords: Int = 12

        @Option(help: "Which account of the phrase this keystore holds (0, 1, 2…).")
        var account: UInt32 = 0

        func validate() throws {
            guard phraseWords == 12 || phraseWords == 24 else { throw ValidationError("--phrase-words is 12 or 24") }
            guard account < SLIP10.hardened else { throw ValidationError("--account is 0…2147483647") }
        }

        func run() async throws {
            try await walletAction {
                let path = options.keystorePath
                guard !FileManager.default.fileExists(atPath: path) else { throw KeystoreError.exists(path) }
                let network = try await options.newWalletNetwork()
                let list = try WordList.english()
                let words = try Mnemonic.generate(wordCount: phraseWords, list: list)
                let key = try PhraseWallet.key(words: words, list: list, account: account)
                try options.writeNew(key, network: network, account: account)
                print("phrase   \(words.joined(separator: " "))")
                Output.note("wrote \(path) (\(network.rawValue)). Write the \(phraseWords) words down in order and keep them offline: "
                            + "they restore this wallet (`cairn wallet restore`, or \"Restore from phrase\" in the browser wallet); this is the only time they are shown")
            }
        }
    }

    /// A wallet from an existing recovery phrase (CAIRN_WALLET_PHRASE, else asked on the terminal).
    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restore a wallet from its recovery phrase (env CAIRN_WALLET_PHRASE, else asked on the terminal).")
        @OptionGroup var options: WalletOptions

        @Option(help: "Which account of the phrase to restore (0, 1, 2…).")
        var account: UInt32 = 0

        func validate() throws {
            guard account < SLIP10.hardened else { throw ValidationError("--account is 0…2147483647") }
        }

        func run() async throws {
            try await walletAction {
                let path = options.keystorePath
                guard !FileManager.default.fileExists(atPath: path) else { throw KeystoreError.exists(path) }
                let network = try await options.newWalletNetwork()
                let list = try WordList.english()
                let text = try Password.readSecret(prompt: "Recovery phrase: ", env: "CAIRN_WALLET_PHRASE", what: "the recovery phrase")
                let words = Mnemonic.split(text)
                // Checked before the password is asked: a mistyped word is named at once.
                _ = try Mnemonic.entropy(words: words, list: list)
                let key = try PhraseWallet.key(words: words, list: list, account: account)
                try options.writeNew(key, network: network, account: account)
                Output.note("wrote \(path) (\(network.rawValue)) for account \(account) of the phrase")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "address", abstract: "Print the wallet's address.")
        @OptionGroup var options: WalletOptions

        func run() async throws {
            try await walletAction {
                let (_, address, _) = try await options.load(checkEdge: false)
                print(address.string)
            }
        }
    }

    struct Balance: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Confirmed and pending balance, in CRN.")
        @OptionGroup var options: WalletOptions

        func run() async throws {
            try await walletAction {
                let (_, address, _) = try await options.load(checkEdge: true)
                let s = try await options.client.get("/api/address/\(address.string)", as: EsploraAddress.self)
                let confirmed = s.chainStats.balance
                let pending = s.mempoolStats.balance
                print("address    \(address.string)")
                print("confirmed  \(Self.crn(confirmed)) CRN")
                print("pending    \(Self.crn(pending)) CRN")
                print("total      \(Self.crn(confirmed + pending)) CRN")
            }
        }

        static func crn(_ v: Int64) -> String {
            v < 0 ? "-" + Units.format(UInt64(-v)) : Units.format(UInt64(v))
        }
    }

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
                let tip = try await options.client.get("/api/chain", as: ChainSummary.self).height
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

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The wallet's transactions, newest first, with their net amount.")
        @OptionGroup var options: WalletOptions

        @Option(help: "Show at most this many transactions.")
        var limit: Int = 100

        func run() async throws {
            try await walletAction {
                let (_, address, _) = try await options.load(checkEdge: true)
                let client = options.client
                // Pending plus the first 25 confirmed, then pages of 25 confirmed (Esplora paging).
                var txs = try await client.get("/api/address/\(address.string)/txs", as: [EsploraTx].self)
                var page = txs.filter(\.status.confirmed)
                while txs.count < limit, page.count >= 25, let last = page.last?.txid {
                    page = try await client.get("/api/address/\(address.string)/txs/chain/\(last)", as: [EsploraTx].self)
                    txs += page
                }
                txs = Array(txs.prefix(limit))
                let height = (try? await client.get("/api/chain", as: ChainSummary.self))?.height
                if txs.isEmpty { print("no transactions"); return }
                for tx in txs {
                    print(Self.line(tx, address: address.string, tipHeight: height))
                }
            }
        }

        static func line(_ tx: EsploraTx, address: String, tipHeight: Int?) -> String {
            let net = tx.net(for: address)
            let amount = (net >= 0 ? "+" : "-") + Units.format(UInt64(abs(net)))
            let when: String
            if tx.status.confirmed, let h = tx.status.blockHeight {
                if let tip = tipHeight { when = "\(tip - h + 1) conf (height \(h))" } else { when = "height \(h)" }
            } else {
                when = "pending"
            }
            return "\(tx.txid)  \(when.padding(toLength: 24, withPad: " ", startingAt: 0))  \(amount) CRN"
        }
    }
}
