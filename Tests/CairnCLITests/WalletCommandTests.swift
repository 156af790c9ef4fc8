import Foundation
import Testing
@testable import CairnCLI

/// `cairn wallet` end to end (the library itself is tested in WalletTests).
@Suite("cairn wallet") struct WalletCommandTests {
    @Test func historyNetAmounts() {
        let mine = "rcrn1me"
        let tx = EsploraTx(txid: "ab", fee: 200,
                           vin: [EsploraInput(txid: "cd", vout: 0, prevout: EsploraOutput(value: 10_000, pubkey: nil, address: mine))],
                           vout: [EsploraOutput(value: 3_000, pubkey: nil, address: "rcrn1other"),
                                  EsploraOutput(value: 6_800, pubkey: nil, address: mine)],
                           status: TxStatus(confirmed: true, blockHeight: 5, blockHash: nil, blockTime: nil))
        #expect(tx.net(for: mine) == -3_200)
        #expect(Wallet.History.line(tx, address: mine, tipHeight: 7).contains("3 conf (height 5)"))
        #expect(Wallet.History.line(tx, address: mine, tipHeight: 7).hasSuffix("-0.00003200 CRN"))
        var pending = tx
        pending.status = TxStatus(confirmed: false, blockHeight: nil, blockHash: nil, blockTime: nil)
        #expect(Wallet.History.line(pending, address: "rcrn1other", tipHeight: 7).contains("pending"))
        #expect(Wallet.History.line(pending, address: "rcrn1other", tipHeight: 7).hasSuffix("+0.00003000 CRN"))
    }

    /// `cairn wallet new` and `address` end to end, with the password from the environment.
    @Test func walletNewThenAddressThroughTheCLI() throws {
        let dir = try TempDir()
        let path = dir.path("cli.json")
        let env = ["CAIRN_WALLET_PASSWORD": "pw", "CAIRN_EDGE": "http://127.0.0.1:9"]
        let created = try CLI.run(["wallet", "new", "--keystore", path], env: env)
        #expect(created.status == 0, "\(created.stderr)")
        let address = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(address.hasPrefix("rcrn1"))
        let shown = try CLI.run(["wallet", "address", "--keystore", path], env: env)
        #expect(shown.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == address)
        let again = try CLI.run(["wallet", "new", "--keystore", path], env: env)
        #expect(again.status != 0)
        #expect(again.stderr.contains("refusing to overwrite"))
    }
}
