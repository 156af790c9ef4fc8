import ChainCore
import Crypto
import Foundation
import NodeKit
import TestSupport
import Testing
import Wallet

/// The browser wallet's JavaScript (Sources/WalletFront/Public/js/lib) against the Swift
/// implementation: transactions it builds and signs must pass ChainCore's real rules, tampered
/// copies must not, and keystore files must open on both sides.
@Suite("JS wallet ↔ Swift") struct CrossImplementationTests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixture = repoRoot.appendingPathComponent("Tests/WalletFrontTests/js/sign-fixture.mjs").path

    static var nodePath: String {
        if let p = ProcessInfo.processInfo.environment["NODE"], !p.isEmpty { return p }
        for p in ["/usr/bin/node", "/usr/local/bin/node"] where FileManager.default.isExecutableFile(atPath: p) { return p }
        return "/usr/bin/node"
    }

    struct FixtureError: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs the node script with one JSON request; returns its JSON answer. The child is awaited
    /// through its termination handler (TestSupport's runner), never on the cooperative pool.
    static func runFixture(_ request: [String: Any]) async throws -> [String: Any] {
        let input = try JSONSerialization.data(withJSONObject: request)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wallet-js-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let inURL = dir.appendingPathComponent("in.json")
        try input.write(to: inURL)
        let run: RunResult
        do {
            run = try await ProcessRunner.run(nodePath, [fixture], stdin: inURL.path)
        } catch {
            throw FixtureError(description: "cannot start \(nodePath): \(error)")
        }
        let out = Data(run.stdout.utf8)
        guard run.status == 0 else {
            throw FixtureError(description: "sign-fixture.mjs exited \(run.status): \(run.stderr)")
        }
        guard let object = try JSONSerialization.jsonObject(with: out) as? [String: Any] else {
            throw FixtureError(description: "sign-fixture.mjs printed no JSON object")
        }
        return object
    }

    /// A small UTXO set for one wallet on regtest at tip height 20 (spend height 21, maturity 10).
    struct Scenario {
        let wallet = TestWallet()
        let recipient = TestWallet()
        let tipHeight = 20
        var coins: [(OutPoint, Coin)] = []

        init() {
            func txid(_ n: UInt8) -> Hash256 { Hash256(bytes: [UInt8](repeating: n, count: 31) + [n &+ 1]) }
            // A mature coinbase (height 3), an immature one (height 15: worth more, so picked
            // first if maturity were ignored) and two ordinary coins.
            coins = [
                (OutPoint(txid: txid(1), index: 0), Coin(output: wallet.output(50 * Units.perCoin), height: 3, isCoinbase: true)),
                (OutPoint(txid: txid(2), index: 0), Coin(output: wallet.output(80 * Units.perCoin), height: 15, isCoinbase: true)),
                (OutPoint(txid: txid(3), index: 1), Coin(output: wallet.output(7 * Units.perCoin), height: 12, isCoinbase: false)),
                (OutPoint(txid: txid(4), index: 2), Coin(output: wallet.output(2 * Units.perCoin), height: 18, isCoinbase: false)),
            ]
        }

        var view: MemoryCoinView { MemoryCoinView(Dictionary(uniqueKeysWithValues: coins)) }

        func request(amount: Amount, feeRate: Double = 2) -> [String: Any] {
            [
                "op": "sign", "network": "regtest", "seed": Hex.encode(Array(wallet.key.rawRepresentation)),
                "tipHeight": tipHeight, "to": recipient.address().string, "amount": amount, "feeRate": feeRate,
                "coins": coins.map { op, coin in
                    ["txid": op.txid.hex, "vout": op.index, "value": coin.output.value, "height": coin.height,
                     "coinbase": coin.isCoinbase, "confirmed": true] as [String: Any]
                },
            ]
        }
    }

    static func decode(_ answer: [String: Any]) throws -> Transaction {
        let hex = try #require(answer["hex"] as? String)
        return try Transaction(bytes: try #require(Hex.decode(hex)))
    }

    static func reason(_ tx: Transaction, _ s: Scenario) async -> RejectReason? {
        do {
            _ = try await TransactionRules.validate(tx, view: s.view, spendHeight: s.tipHeight + 1, params: .regtest)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test func signedInTheBrowserCodeIsAcceptedBySwiftRules() async throws {
        let s = Scenario()
        let answer = try await Self.runFixture(s.request(amount: 55 * Units.perCoin + 12_345))
        let tx = try Self.decode(answer)

        // Same bytes, same txid, same sighash as Swift computes.
        #expect(tx.txid.hex == answer["txid"] as? String)
        #expect(Hex.encode(tx.encoded) == answer["hex"] as? String)
        let spent = tx.inputs.map { s.view.coin($0.previousOutput)!.output }
        #expect(Sighash.compute(tx, spent: spent, params: .regtest).hex == answer["sighash"] as? String)
        #expect(answer["address"] as? String == s.wallet.address().string)

        // Two inputs needed (50 + 7); the immature 80 CRN coinbase was left alone.
        let used = Set(tx.inputs.map(\.previousOutput))
        #expect(used == [s.coins[0].0, s.coins[2].0])
        #expect(tx.outputs.count == 2)
        #expect(tx.outputs[0] == s.recipient.output(55 * Units.perCoin + 12_345))
        #expect(tx.outputs[1].publicKey == s.wallet.publicKey)

        // The real rules (sanity, coins, maturity, amounts, every signature) accept it.
        let fee = try await TransactionRules.validate(tx, view: s.view, spendHeight: s.tipHeight + 1, params: .regtest)
        #expect(fee == (answer["fee"] as? NSNumber)?.uint64Value)
        #expect(tx.encodedSize == (answer["size"] as? NSNumber)?.intValue)
        // and it meets the relay policy's minimum fee rate (1 unit/byte); 2 units/byte was asked.
        #expect(Double(fee) / Double(tx.encodedSize) >= 2)
    }

    @Test func tamperedCopiesAreRejectedWithTheRightReason() async throws {
        let s = Scenario()
        let tx = try Self.decode(try await Self.runFixture(s.request(amount: 3 * Units.perCoin)))
        #expect(await Self.reason(tx, s) == nil)

        var amount = tx
        amount.outputs[0].value += 1
        #expect(await Self.reason(amount, s) == .badSignature)

        var key = tx
        key.outputs[0].publicKey = s.wallet.publicKey
        #expect(await Self.reason(key, s) == .badSignature)

        var sig = tx
        sig.inputs[0].payload[17] ^= 0x01
        #expect(await Self.reason(sig, s) == .badSignature)

        var short = tx
        short.inputs[0].payload.removeLast()
        #expect(await Self.reason(short, s) == .signatureLength)

        var overspend = tx
        overspend.outputs[0].value = 1_000 * Units.perCoin
        #expect(await Self.reason(overspend, s) == .inBelowOut)

        // Signed for regtest: the same bytes do not verify under another network's sighash.
        let coins = tx.inputs.map { s.view.coin($0.previousOutput)! }
        #expect(await SignatureBatch.firstFailure(TransactionRules.signatureChecks(tx, coins: coins, params: .regtest)) == nil)
        #expect(await SignatureBatch.firstFailure(TransactionRules.signatureChecks(tx, coins: coins, params: .testnet)) != nil)
    }

    @Test func immatureCoinbaseWouldBeRefusedSoTheWalletSkipsIt() async throws {
        // Spending everything spendable (50 + 7 + 2) needs all three mature coins; asking for more
        // than that is insufficient funds in JS (exit status non-zero), not a premature spend.
        let s = Scenario()
        let tx = try Self.decode(try await Self.runFixture(s.request(amount: 58 * Units.perCoin)))
        #expect(!tx.inputs.contains { $0.previousOutput == s.coins[1].0 })
        #expect(await Self.reason(tx, s) == nil)
        await #expect(throws: FixtureError.self) {
            _ = try await Self.runFixture(s.request(amount: 60 * Units.perCoin + 1 * Units.perCoin))
        }
        // Swift agrees the 80 CRN coin is immature at spend height 21.
        var premature = Transaction(inputs: [TxInput(previousOutput: s.coins[1].0, payload: [])],
                                    outputs: [s.recipient.output(10 * Units.perCoin)])
        premature = s.wallet.sign(premature, spent: [s.coins[1].1.output])
        #expect(await Self.reason(premature, s) == .prematureCoinbaseSpend)
    }

    /// The browser and `cairn wallet send` (NodeKit's TxBuilder) choose the same coins, fee and
    /// change, and (Ed25519 signatures being deterministic) produce the very same bytes.
    @Test(arguments: [(Amount(3 * Units.perCoin), 2.0), (Amount(9 * Units.perCoin + 1), 3.5), (Amount(1_000), 1.0),
                      (Amount(11 * Units.perCoin - 1_300), 1.0)])
    func sameTransactionAsTheSwiftWallet(_ amount: Amount, _ feeRate: Double) async throws {
        let s = Scenario()
        let wallet = s.wallet
        func txid(_ n: UInt8) -> Hash256 { Hash256(bytes: [UInt8](repeating: 0x40 + n, count: 32)) }
        let values: [Amount] = [5 * Units.perCoin, 4 * Units.perCoin, 2 * Units.perCoin, 150_000]
        let coins = values.enumerated().map { i, v in
            Spendable(outpoint: OutPoint(txid: txid(UInt8(i)), index: UInt32(i)), value: v, confirmed: true, height: 5 + i)
        }
        let swiftPlan = try TxBuilder.plan(coins: coins, to: s.recipient.publicKey, amount: amount, change: wallet.publicKey, feeRate: feeRate)
        let swiftTx = try TxBuilder.sign(swiftPlan, key: wallet.key, params: .regtest)

        var request = s.request(amount: amount, feeRate: feeRate)
        request["coins"] = coins.map { c in
            ["txid": c.outpoint.txid.hex, "vout": c.outpoint.index, "value": c.value, "height": c.height!,
             "coinbase": false, "confirmed": true] as [String: Any]
        }
        let answer = try await Self.runFixture(request)
        #expect(answer["hex"] as? String == Hex.encode(swiftTx.encoded))
        #expect(answer["txid"] as? String == swiftTx.txid.hex)
        #expect((answer["fee"] as? NSNumber)?.uint64Value == swiftPlan.fee)
        #expect((answer["change"] as? NSNumber)?.uint64Value == swiftPlan.change)
    }

    @Test func keystoreWrittenByJSOpensInSwift() async throws {
        let key = Curve25519.Signing.PrivateKey()
        let seed = Hex.encode(Array(key.rawRepresentation))
        let answer = try await Self.runFixture(["op": "seal", "seed": seed, "password": "pässword ☃ 1", "network": "regtest"])
        let text = try #require(answer["file"] as? String)
        let file = try JSONDecoder().decode(KeystoreFile.self, from: Data(text.utf8))
        #expect(file.kdf.iterations == 600_000)
        #expect(file.address == Address(publicKey: Array(key.publicKey.rawRepresentation), network: .regtest).string)
        let opened = try Keystore.open(file, password: "pässword ☃ 1", path: "js.json")
        #expect(opened.rawRepresentation == key.rawRepresentation)
        #expect(throws: KeystoreError.wrongPassword("js.json")) { try Keystore.open(file, password: "pässword ☃ 2", path: "js.json") }
    }

    @Test func keystoreWrittenBySwiftOpensInJS() async throws {
        let key = Curve25519.Signing.PrivateKey()
        let file = try Keystore.seal(key, password: "correct horse", network: .testnet)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let text = String(decoding: try encoder.encode(file), as: UTF8.self)

        let good = try await Self.runFixture(["op": "open", "file": text, "password": "correct horse"])
        #expect(good["seed"] as? String == Hex.encode(Array(key.rawRepresentation)))
        #expect(good["address"] as? String == file.address)
        #expect((good["address"] as? String)?.hasPrefix("tcrn1") == true)

        let wrong = try await Self.runFixture(["op": "open", "file": text, "password": "correct horsE"])
        #expect((wrong["error"] as? [String: Any])?["kind"] as? String == "wrong-password")

        var damagedFile = file
        damagedFile.publicKey = String(damagedFile.publicKey.dropLast(2)) + (damagedFile.publicKey.hasSuffix("00") ? "01" : "00")
        let damagedText = String(decoding: try encoder.encode(damagedFile), as: UTF8.self)
        let damaged = try await Self.runFixture(["op": "open", "file": damagedText, "password": "correct horse"])
        #expect((damaged["error"] as? [String: Any])?["kind"] as? String == "damaged")
    }
}

/// One recovery phrase, the same accounts in the browser (js/lib/bip39.js, slip10.js) and in
/// `cairn wallet` (the Wallet library): the same keys, addresses and refusals.
@Suite("Recovery phrase: JS ↔ Swift") struct PhraseCrossTests {
    @Test(arguments: [12, 24])
    func samePhraseSameAccounts(_ wordCount: Int) async throws {
        let list = try WordList.english()
        let words = try Mnemonic.generate(wordCount: wordCount, list: list)
        let answer = try await CrossImplementationTests.runFixture(
            ["op": "phrase", "phrase": words.joined(separator: " "), "network": "regtest", "count": 3])
        let accounts = try #require(answer["accounts"] as? [[String: Any]], "\(answer)")
        #expect(accounts.count == 3)
        for (i, a) in accounts.enumerated() {
            let key = try PhraseWallet.key(words: words, list: list, account: UInt32(i))
            #expect(a["path"] as? String == PhraseWallet.path(account: UInt32(i)))
            #expect(a["seed"] as? String == Hex.encode(Array(key.rawRepresentation)))
            #expect(a["address"] as? String == Address(publicKey: Array(key.publicKey.rawRepresentation), network: .regtest).string)
        }
    }

    @Test func sameRefusals() async throws {
        let list = try WordList.english()
        let phrase = "legal winner thank year wave sausage worth useful legal winner yellow thank"
        let answer = try await CrossImplementationTests.runFixture(["op": "phrase", "phrase": phrase, "network": "regtest"])
        let error = try #require(answer["error"] as? [String: Any])
        #expect(error["kind"] as? String == "checksum")
        let swiftError = MnemonicError.checksum(lastWord: "thank", count: 12)
        #expect(throws: swiftError) { try Mnemonic.entropy(words: Mnemonic.split(phrase), list: list) }
        #expect(error["message"] as? String == swiftError.description)

        let typo = try await CrossImplementationTests.runFixture(["op": "phrase", "phrase": phrase.replacingOccurrences(of: "sausage", with: "sausag"), "network": "regtest"])
        let typoError = try #require(typo["error"] as? [String: Any])
        let swiftTypo = MnemonicError.unknownWord(position: 6, word: "sausag", suggestion: "sausage")
        #expect(throws: swiftTypo) { try Mnemonic.entropy(words: Mnemonic.split(phrase.replacingOccurrences(of: "sausage", with: "sausag")), list: list) }
        #expect(typoError["message"] as? String == swiftTypo.description)
    }
}

/// Literal vectors the JS tests (Tests/WalletFrontTests/js/encoding.test.mjs, bech32m.test.mjs)
/// assert too: both implementations are pinned to the same strings.
@Suite("JS wallet vectors, Swift side") struct PinnedVectorTests {
    static let key = (0..<32).map { UInt8($0 * 7 & 0xff) }

    @Test func addressesOfTheSameKeyOnEveryNetwork() {
        #expect(Address(publicKey: Self.key, network: .main).string == "crn1qqqrsu9guyv4rzwplgex4gkmzd9c8wl593jfe4gdg47mtm3xt6tvs3acqv7")
        #expect(Address(publicKey: Self.key, network: .testnet).string == "tcrn1qqqrsu9guyv4rzwplgex4gkmzd9c8wl593jfe4gdg47mtm3xt6tvs6ju7nt")
        #expect(Address(publicKey: Self.key, network: .regtest).string == "rcrn1qqqrsu9guyv4rzwplgex4gkmzd9c8wl593jfe4gdg47mtm3xt6tvsqtqxkr")
    }

    @Test func encodingTxidAndSighash() throws {
        func h(_ hex: String) -> Hash256 { Hash256(hex: hex)! }
        let tx = Transaction(
            inputs: [TxInput(previousOutput: OutPoint(txid: h(String(repeating: "11", count: 32)), index: 1), payload: [UInt8](repeating: 9, count: 64)),
                     TxInput(previousOutput: OutPoint(txid: h(String(repeating: "22", count: 31) + "33"), index: 0), payload: [])],
            outputs: [TxOutput(value: 123_456_789, publicKey: Self.key), TxOutput(value: 1_000, publicKey: [UInt8](repeating: 0xab, count: 32))])
        #expect(Hex.encode(tx.encoded) == "01000000021111111111111111111111111111111111111111111111111111111111111111010000004009090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909332222222222222222222222222222222222222222222222222222222222222200000000000215cd5b070000000000070e151c232a31383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9e803000000000000abababababababababababababababababababababababababababababababab")
        #expect(tx.txid.hex == "3a13d83fb37319c59f4cf9c51a60805c513cdce883d49ee67b082b3908421416")
        let spent = [TxOutput(value: 5_000_000_000, publicKey: Self.key), TxOutput(value: 1, publicKey: Self.key)]
        #expect(Sighash.compute(tx, spent: spent, params: .main).hex == "db8ccc225ecdd57809e4b667d0c4a604adf3e3987536632baf84e21eadea59c6")
        #expect(Sighash.compute(tx, spent: spent, params: .testnet).hex == "8c292080a716368a0e61e652a59ab11ea0cfc0fda7704c17ad14ebac13050eb8")
        #expect(Sighash.compute(tx, spent: spent, params: .regtest).hex == "4d85879a0f48403341ca31e14776a853bce2e3be76db19e5f9b254139773c959")
    }
}
