import Foundation
import Testing
import CairnContract
import TestSupport
@testable import CairnCLI

/// `cairn wallet` end to end (the library itself is tested in WalletTests).
@Suite("cairn wallet") struct WalletCommandTests {
    @Test func historyNetAmounts() {
        let mine = "rcrn1me"
        let tx = EsploraTx(txid: "ab", version: 1, size: 120, fee: 200,
                           vin: [EsploraInput(txid: "cd", vout: 0, isCoinbase: false, prevout: EsploraOutput(value: 10_000, pubkey: "", address: mine))],
                           vout: [EsploraOutput(value: 3_000, pubkey: "", address: "rcrn1other"),
                                  EsploraOutput(value: 6_800, pubkey: "", address: mine)],
                           status: EsploraTxStatus(confirmed: true, blockHeight: 5, blockHash: nil, blockTime: nil))
        #expect(tx.net(for: mine) == -3_200)
        #expect(Wallet.History.line(tx, address: mine, tipHeight: 7).contains("3 conf (height 5)"))
        #expect(Wallet.History.line(tx, address: mine, tipHeight: 7).hasSuffix("-0.00003200 CRN"))
        var pending = tx
        pending.status = .unconfirmed
        #expect(Wallet.History.line(pending, address: "rcrn1other", tipHeight: 7).contains("pending"))
        #expect(Wallet.History.line(pending, address: "rcrn1other", tipHeight: 7).hasSuffix("+0.00003000 CRN"))
    }

    /// `cairn wallet new` and `address` end to end, with the password from the environment.
    @Test func walletNewThenAddressThroughTheCLI() async throws {
        let dir = try TempDir()
        let path = dir.path("cli.json")
        let env = ["CAIRN_WALLET_PASSWORD": "pw", "CAIRN_EDGE": "http://127.0.0.1:9"]
        let created = try await CLI.run(["wallet", "new", "--keystore", path], env: env)
        #expect(created.status == 0, "\(created.stderr)")
        let address = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(address.hasPrefix("rcrn1"))
        let shown = try await CLI.run(["wallet", "address", "--keystore", path], env: env)
        #expect(shown.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == address)
        let again = try await CLI.run(["wallet", "new", "--keystore", path], env: env)
        #expect(again.status != 0)
        #expect(again.stderr.contains("refusing to overwrite"))
    }

    static func field(_ name: String, in out: String) -> String? {
        out.split(separator: "\n").first { $0.hasPrefix(name + " ") }
            .map { $0.dropFirst(name.count).trimmingCharacters(in: .whitespaces) }
    }

    /// `create` prints a phrase once; `restore` from it gives the same address, for each account.
    @Test(arguments: [12, 24])
    func createThenRestoreFromThePhrase(_ words: Int) async throws {
        let dir = try TempDir()
        let env = ["CAIRN_WALLET_PASSWORD": "pw", "CAIRN_EDGE": "http://127.0.0.1:9"]
        let created = try await CLI.run(["wallet", "create", "--phrase-words", "\(words)", "--account", "1", "--keystore", dir.path("a.json")], env: env)
        #expect(created.status == 0, "\(created.stderr)")
        let phrase = try #require(Self.field("phrase", in: created.stdout))
        let address = try #require(Self.field("address", in: created.stdout))
        #expect(phrase.split(separator: " ").count == words)
        #expect(address.hasPrefix("rcrn1"))
        #expect(Self.field("path", in: created.stdout) == "m/44'/7369'/0'/0'/1'")
        #expect(created.stderr.contains("Write the \(words) words down"))

        var restoreEnv = env
        restoreEnv["CAIRN_WALLET_PHRASE"] = "  " + phrase.uppercased() + "\n"
        let restored = try await CLI.run(["wallet", "restore", "--account", "1", "--keystore", dir.path("b.json")], env: restoreEnv)
        #expect(restored.status == 0, "\(restored.stderr)")
        #expect(Self.field("address", in: restored.stdout) == address)
        let shown = try await CLI.run(["wallet", "address", "--keystore", dir.path("b.json")], env: env)
        #expect(shown.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == address)
        // Another account of the same phrase is another address.
        let other = try await CLI.run(["wallet", "restore", "--keystore", dir.path("c.json")], env: restoreEnv)
        #expect(other.status == 0, "\(other.stderr)")
        #expect(Self.field("address", in: other.stdout) != address)
    }

    @Test func restoreRefusesABadPhraseNamingTheWord() async throws {
        let dir = try TempDir()
        var env = ["CAIRN_WALLET_PASSWORD": "pw", "CAIRN_EDGE": "http://127.0.0.1:9"]
        env["CAIRN_WALLET_PHRASE"] = "legal winner thank year wave sausage worth useful legal winner yellow thank"
        let bad = try await CLI.run(["wallet", "restore", "--keystore", dir.path("x.json")], env: env)
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("checksum does not match: the last word 'thank'"), "\(bad.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.path("x.json")))
        env["CAIRN_WALLET_PHRASE"] = "legal winner thank year wave sausag worth useful legal winner thank yellow"
        let typo = try await CLI.run(["wallet", "restore", "--keystore", dir.path("x.json")], env: env)
        #expect(typo.status != 0)
        #expect(typo.stderr.contains("word 6 'sausag' is not in the BIP-39 English list (did you mean 'sausage'?)"), "\(typo.stderr)")
        let words = try await CLI.run(["wallet", "create", "--phrase-words", "13", "--keystore", dir.path("y.json")], env: env)
        #expect(words.status != 0)
        #expect(words.stderr.contains("12 or 24"))
    }
}
