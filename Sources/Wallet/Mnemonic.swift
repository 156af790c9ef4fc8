import Crypto
import _CryptoExtras
import Foundation

/// The BIP-39 English word list, read from where Debian's `python3-mnemonic` installs it
/// (not copied into the repository). The browser wallet reads the same file: the wallet
/// front serves it as `/vendor/bip39-english.txt`.
public struct WordList: Sendable, Equatable {
    /// Debian's `python3-mnemonic`.
    public static let debianEnglish = "/usr/lib/python3/dist-packages/mnemonic/wordlist/english.txt"
    /// Overrides the path (as `cairn-walletfront --bip39-words` does for the page).
    public static let envName = "CAIRN_BIP39_WORDLIST"

    public let words: [String]
    private let index: [String: Int]

    public init(words: [String]) throws(MnemonicError) {
        guard words.count == 2048, Set(words).count == 2048 else {
            throw .wordList("a BIP-39 word list has 2048 different words, this one has \(words.count)")
        }
        self.words = words
        var index = [String: Int](minimumCapacity: 2048)
        for (i, w) in words.enumerated() { index[w] = i }
        self.index = index
    }

    public init(path: String) throws(MnemonicError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .wordList("no BIP-39 word list at \(path) (install the Debian package python3-mnemonic, or set \(Self.envName))")
        }
        let words = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        try self.init(words: words)
    }

    /// The English list from `CAIRN_BIP39_WORDLIST`, else from Debian's package.
    public static func english() throws(MnemonicError) -> WordList {
        let env = ProcessInfo.processInfo.environment[envName].flatMap { $0.isEmpty ? nil : $0 }
        return try WordList(path: env ?? debianEnglish)
    }

    public func index(of word: String) -> Int? { index[word] }

    /// What a mistyped word probably was: the list's word with the same first four letters
    /// (BIP-39 English words are unique by them), else the nearest within two edits.
    public func suggestion(for word: String) -> String? {
        if word.count >= 4, let same = words.first(where: { $0.hasPrefix(word.prefix(4)) }) { return same }
        var best: String?
        var bestDistance = 3
        for w in words {
            let d = Self.editDistance(Array(word), Array(w))
            if d < bestDistance { best = w; bestDistance = d }
        }
        return best
    }

    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var prev = Array(0...b.count)
        for i in 1...a.count {
            var cur = [i]
            for j in 1...b.count {
                cur.append(Swift.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)))
            }
            prev = cur
        }
        return prev[b.count]
    }
}

public enum MnemonicError: Error, Equatable, CustomStringConvertible {
    case wordList(String)
    case wordCount(Int)
    case unknownWord(position: Int, word: String, suggestion: String?)
    case checksum(lastWord: String, count: Int)
    case entropySize(Int)

    public var description: String {
        switch self {
        case .wordList(let why): return why
        case .wordCount(let n): return "a recovery phrase has 12, 15, 18, 21 or 24 words, this one has \(n)"
        case .unknownWord(let p, let w, let s):
            return "word \(p) '\(w)' is not in the BIP-39 English list" + (s.map { " (did you mean '\($0)'?)" } ?? "")
        case .checksum(let w, let n):
            return "the phrase's checksum does not match: the last word '\(w)' does not fit the \(n - 1) words before it (a word is mistyped, missing or out of order)"
        case .entropySize(let n): return "entropy of \(n) bytes: BIP-39 takes 16, 20, 24, 28 or 32"
        }
    }
}

/// BIP-39: entropy ↔ words (11 bits a word, SHA-256 checksum bits at the end), and the
/// 64-byte seed = PBKDF2-HMAC-SHA512(NFKD(phrase), "mnemonic" + NFKD(passphrase), 2048).
public enum Mnemonic {
    public static let seedRounds = 2048

    /// The words of `entropy` (16…32 bytes, a multiple of 4).
    public static func words(entropy: [UInt8], list: WordList) throws(MnemonicError) -> [String] {
        guard (16...32).contains(entropy.count), entropy.count % 4 == 0 else { throw .entropySize(entropy.count) }
        let checksumBits = entropy.count / 4
        let hash = Array(SHA256.hash(data: entropy))
        var bits = [Bool]()
        for byte in entropy + hash.prefix(1) { for i in 0..<8 { bits.append(byte & (0x80 >> i) != 0) } }
        bits = Array(bits.prefix(entropy.count * 8 + checksumBits))
        return stride(from: 0, to: bits.count, by: 11).map { start in
            var v = 0
            for b in bits[start..<start + 11] { v = v << 1 | (b ? 1 : 0) }
            return list.words[v]
        }
    }

    /// A fresh phrase of 12 (128-bit) or 24 (256-bit) words from the system's CSPRNG.
    public static func generate(wordCount: Int = 12, list: WordList) throws(MnemonicError) -> [String] {
        guard [12, 15, 18, 21, 24].contains(wordCount) else { throw .wordCount(wordCount) }
        var rng = SystemRandomNumberGenerator()
        let entropy = (0..<(wordCount * 4 / 3)).map { _ in UInt8.random(in: .min ... .max, using: &rng) }
        return try words(entropy: entropy, list: list)
    }

    /// Splits a typed phrase into lowercased words (any run of spaces or newlines separates them).
    public static func split(_ phrase: String) -> [String] {
        phrase.decomposedStringWithCompatibilityMapping.lowercased()
            .split(whereSeparator: { $0.isWhitespace }).map(String.init)
    }

    /// Checks the words and the checksum; returns the entropy. Errors name the bad word.
    public static func entropy(words: [String], list: WordList) throws(MnemonicError) -> [UInt8] {
        guard [12, 15, 18, 21, 24].contains(words.count) else { throw .wordCount(words.count) }
        var bits = [Bool]()
        for (i, w) in words.enumerated() {
            guard let v = list.index(of: w) else { throw .unknownWord(position: i + 1, word: w, suggestion: list.suggestion(for: w)) }
            for k in (0..<11).reversed() { bits.append(v >> k & 1 == 1) }
        }
        let checksumBits = bits.count / 33
        let entropyBits = bits.count - checksumBits
        var entropy = [UInt8](repeating: 0, count: entropyBits / 8)
        for i in 0..<entropyBits where bits[i] { entropy[i / 8] |= 0x80 >> UInt8(i % 8) }
        let hash = Array(SHA256.hash(data: entropy))
        for i in 0..<checksumBits where bits[entropyBits + i] != (hash[0] & (0x80 >> UInt8(i)) != 0) {
            throw .checksum(lastWord: words.last!, count: words.count)
        }
        return entropy
    }

    /// The 64-byte BIP-39 seed (the phrase is not checked here: `entropy(words:list:)` does that).
    public static func seed(words: [String], passphrase: String = "") throws -> [UInt8] {
        let password = Array(words.joined(separator: " ").decomposedStringWithCompatibilityMapping.utf8)
        let salt = Array(("mnemonic" + passphrase).decomposedStringWithCompatibilityMapping.utf8)
        // BIP-39 fixes 2048 rounds (below swift-crypto's checked minimum, hence "unchecked"): the
        // phrase's 128+ bits of entropy, not the rounds, are what protects it.
        let key = try KDF.Insecure.PBKDF2.deriveKey(from: password, salt: salt, using: .sha512,
                                                    outputByteCount: 64, unsafeUncheckedRounds: seedRounds)
        return key.withUnsafeBytes { Array($0) }
    }
}
