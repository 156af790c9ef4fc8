import ArgumentParser
import ChainCore
import Crypto
import Foundation
import NodeKit
import Wallet

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
                let height = (try? await client.get("/api/chain", as: ChainReply.self))?.height
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
