import ChainCore
import Crypto
import Foundation
import Testing
@testable import Wallet

/// The published vectors (Fixtures/, shared with the browser wallet's tests in
/// Tests/WalletFrontTests/js) and the recovery phrase's refusals.
@Suite("Recovery phrase: BIP-39 and SLIP-0010") struct PhraseTests {
    struct BIP39File: Decodable {
        struct Vector: Decodable { var entropy: String; var mnemonic: String; var seed: String }
        var passphrase: String
        var vectors: [Vector]
    }
    struct SLIP10File: Decodable {
        struct Chain: Decodable { var path: String; var chainCode: String; var `private`: String; var `public`: String }
        struct Vector: Decodable { var seed: String; var chains: [Chain] }
        var vectors: [Vector]
    }

    static func fixture<T: Decodable>(_ name: String, as: T.Type) throws -> T {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(T.self, from: Data(contentsOf: url))
    }

    static func hex(_ s: String) -> [UInt8] { Hex.decode(s)! }

    let list: WordList

    init() throws {
        list = try WordList.english()
    }

    @Test func debianWordListIsTheEnglishList() {
        #expect(list.words.count == 2048)
        #expect(list.words.first == "abandon")
        #expect(list.words.last == "zoo")
        #expect(list.words == list.words.sorted())
    }

    @Test func bip39TrezorVectors() throws {
        let file = try Self.fixture("bip39-trezor", as: BIP39File.self)
        #expect(file.vectors.count == 24)
        for v in file.vectors {
            let words = try Mnemonic.words(entropy: Self.hex(v.entropy), list: list)
            #expect(words.joined(separator: " ") == v.mnemonic)
            #expect(try Mnemonic.entropy(words: Mnemonic.split(v.mnemonic), list: list) == Self.hex(v.entropy))
            #expect(Hex.encode(try Mnemonic.seed(words: words, passphrase: file.passphrase)) == v.seed)
        }
    }

    @Test func slip10Ed25519Vectors() throws {
        let file = try Self.fixture("slip10-ed25519", as: SLIP10File.self)
        #expect(file.vectors.count == 2)
        for v in file.vectors {
            for chain in v.chains {
                let node = try SLIP10.derive(seed: Self.hex(v.seed), path: chain.path)
                #expect(Hex.encode(node.chainCode) == chain.chainCode, "\(chain.path)")
                #expect(Hex.encode(node.key) == chain.private, "\(chain.path)")
                #expect("00" + Hex.encode(node.publicKey) == chain.public, "\(chain.path)")
            }
        }
    }

    @Test func generatedPhrasesRoundTrip() throws {
        for count in [12, 24] {
            let words = try Mnemonic.generate(wordCount: count, list: list)
            #expect(words.count == count)
            #expect(try Mnemonic.entropy(words: words, list: list).count == count * 4 / 3)
        }
        #expect(throws: MnemonicError.wordCount(13)) { try Mnemonic.generate(wordCount: 13, list: list) }
    }

    @Test func refusalsNameTheBadWord() throws {
        var words = Mnemonic.split("legal winner thank year wave sausage worth useful legal winner thank yellow")
        words[4] = "wavy"
        #expect(throws: MnemonicError.unknownWord(position: 5, word: "wavy", suggestion: "wave")) {
            try Mnemonic.entropy(words: words, list: list)
        }
        // Every word is in the list, but the last one's checksum bits do not match.
        let swapped = Mnemonic.split("legal winner thank year wave sausage worth useful legal winner yellow thank")
        #expect(throws: MnemonicError.checksum(lastWord: "thank", count: 12)) { try Mnemonic.entropy(words: swapped, list: list) }
        #expect(MnemonicError.checksum(lastWord: "thank", count: 12).description.contains("'thank'"))
        #expect(throws: MnemonicError.wordCount(11)) { try Mnemonic.entropy(words: Array(swapped.prefix(11)), list: list) }
        // Case and extra spaces do not matter.
        #expect(Mnemonic.split("  Legal   WINNER\nthank ") == ["legal", "winner", "thank"])
    }

    @Test func pathsAreHardenedOnly() throws {
        #expect(try SLIP10.parse("m/44'/7369'/0'/0'/3'") == [44, 7369, 0, 0, 3].map { $0 | SLIP10.hardened })
        #expect(try SLIP10.parse("m/0h/1H") == [0, 1].map { $0 | SLIP10.hardened })
        #expect(try SLIP10.parse("m") == [])
        #expect(throws: SLIP10.PathError.notHardened("m/44'/0")) { try SLIP10.parse("m/44'/0") }
        #expect(throws: SLIP10.PathError.syntax("44'/0'")) { try SLIP10.parse("44'/0'") }
        #expect(throws: SLIP10.PathError.syntax("m/2147483648'")) { try SLIP10.parse("m/2147483648'") }
        #expect(PhraseWallet.path(account: 2) == "m/44'/7369'/0'/0'/2'")
    }

    /// Accounts differ, are stable, and sign like any Cairn key (the same keys as the browser:
    /// Tests/WalletFrontTests checks the JavaScript against these).
    @Test func accountsFromOnePhrase() throws {
        let words = Mnemonic.split("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about")
        let a0 = try PhraseWallet.key(words: words, list: list, account: 0)
        let a1 = try PhraseWallet.key(words: words, list: list, account: 1)
        #expect(a0.rawRepresentation != a1.rawRepresentation)
        let seed = try Mnemonic.seed(words: words)
        #expect(try a0.rawRepresentation == Data(SLIP10.derive(seed: seed, path: "m/44'/7369'/0'/0'/0'").key))
        #expect(try PhraseWallet.address(words: words, list: list, account: 0, network: .regtest)
                == Address(publicKey: Array(a0.publicKey.rawRepresentation), network: .regtest))
        // Pinned: the browser wallet's test (Tests/WalletFrontTests/js/phrase.test.mjs) asserts the same strings.
        #expect(Hex.encode(Array(a0.rawRepresentation)) == "f6e0c6880debb6c70b22e923bd2a89d047a8828566942779bac5e5acee3fa53d")
        #expect(try PhraseWallet.address(words: words, list: list, account: 1, network: .regtest).string
                == "rcrn1qwr7vl2wusw0k6xhd7w5zymaz8ecg6tn49lakm5rvfk20lugp06rsfvgjew")
        let bad = Array(words.dropLast()) + ["abandon"]
        #expect(throws: MnemonicError.checksum(lastWord: "abandon", count: 12)) { try PhraseWallet.key(words: bad, list: list) }
    }
}
