import Foundation
import Testing
import TestSupport
@testable import ChainCore

@Suite struct HeaderAndEncoding {
    static let bitcoinGenesis = BlockHeader(
        version: 1, previousHash: .zero,
        merkleRoot: Hash256(hex: "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b")!,
        time: 1_231_006_505, bits: 0x1d00_ffff, nonce: 2_083_236_893)

    @Test func bitcoinGenesisHeaderHash() throws {
        #expect(Self.bitcoinGenesis.encoded.count == 80)
        #expect(Self.bitcoinGenesis.hash.hex == "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f")
        // and it meets its own target, seen through our PoW check with Bitcoin's limit
        let target = CompactTarget.hashValue(CompactTarget.decode(0x1d00_ffff).target)
        #expect(Self.bitcoinGenesis.hash <= target)
        #expect(try BlockHeader(bytes: Self.bitcoinGenesis.encoded) == Self.bitcoinGenesis)
    }

    @Test func midstateHasherMatchesSwiftCrypto() {
        var header = Self.bitcoinGenesis
        var hasher = HeaderHasher(header: header)
        #expect(hasher.hash(nonce: header.nonce) == header.hash)
        for nonce in stride(from: UInt32(0), to: 5000, by: 7) {
            header.nonce = nonce
            #expect(hasher.hash(nonce: nonce) == header.hash)
        }
        // new work resets the midstate
        header.time += 1
        hasher.reset(header: header)
        #expect(hasher.hash(nonce: header.nonce) == header.hash)
    }

    @Test func midstateScanFindsTheNonceTheSlowPathFinds() {
        var header = Self.bitcoinGenesis
        header.nonce = 0
        header.bits = 0x1f00_ffff   // about 1 in 65,536
        let target = CompactTarget.hashValue(CompactTarget.decode(header.bits).target)
        var hasher = HeaderHasher(header: header)
        let found = hasher.scan(from: 0, count: 2_000_000, target: target)
        #expect(found != nil)
        var slow = header
        slow.nonce = 0
        while slow.hash > target { slow.nonce += 1 }
        #expect(found == slow.nonce)
        // the Bitcoin genesis nonce is found when the scan covers it
        var g = HeaderHasher(header: Self.bitcoinGenesis)
        let gTarget = CompactTarget.hashValue(CompactTarget.decode(0x1d00_ffff).target)
        #expect(g.scan(from: 2_083_236_893 - 10, count: 20, target: gTarget) == 2_083_236_893)
    }

    @Test func compactSizeIsCanonical() throws {
        for n: UInt64 in [0, 1, 0xfc, 0xfd, 0xffff, 0x1_0000, 0xffff_ffff, 0x1_0000_0000] {
            var w = ByteWriter()
            w.writeCompactSize(n)
            #expect(w.bytes.count == ByteWriter.compactSizeLength(Int(n)))
            var r = ByteReader(w.bytes)
            #expect(try r.readCompactSize("n", limit: Int.max) == Int(n))
        }
        // non-minimal forms are refused
        for bad: [UInt8] in [[0xfd, 0xfc, 0x00], [0xfe, 0xff, 0xff, 0x00, 0x00], [0xff, 1, 0, 0, 0, 0, 0, 0, 0]] {
            var r = ByteReader(bad)
            #expect(throws: DecodingError.nonCanonicalCompactSize) { try r.readCompactSize("n", limit: Int.max) }
        }
    }

    @Test func transactionAndBlockRoundTrip() async throws {
        let wallet = Wallet()
        let (blocks, _) = try await Fixtures.chain(3, paying: wallet)
        let cb = blocks[1].transactions[0]
        let tx = wallet.spend([(OutPoint(txid: cb.txid, index: 0), cb.outputs[0])],
                              to: [Wallet().output(10), wallet.output(cb.outputs[0].value - 20)])
        #expect(try Transaction(bytes: tx.encoded) == tx)
        #expect(tx.encoded.count == tx.encodedSize)
        let block = Fixtures.block(parent: blocks[3].header, transactions: [Fixtures.coinbase(height: 4, outputs: [wallet.output(1)]), tx])
        #expect(try Block(bytes: block.encoded) == block)
        #expect(block.encoded.count == block.encodedSize)
        for b in blocks { #expect(try Block(bytes: b.encoded) == b) }
    }

    @Test func decodingRejectsTrailingBytesAndTruncation() async throws {
        let (blocks, _) = try await Fixtures.chain(1, paying: Wallet())
        let bytes = blocks[1].encoded
        #expect(throws: DecodingError.trailingBytes(count: 1)) { try Block(bytes: bytes + [0]) }
        #expect(throws: DecodingError.self) { try Block(bytes: Array(bytes.dropLast())) }
        let tx = blocks[1].transactions[0].encoded
        #expect(throws: DecodingError.trailingBytes(count: 2)) { try Transaction(bytes: tx + [1, 2]) }
        #expect(throws: DecodingError.self) { try BlockHeader(bytes: Array(repeating: 0, count: 79)) }
    }

    @Test func countsAboveWhatTheInputCanHoldAreRefusedBeforeAllocating() {
        // A transaction claiming 2^32 inputs in a few bytes.
        var w = ByteWriter()
        w.write(UInt32(1))
        w.write(UInt8(0xfe)); w.write(UInt32.max)
        #expect(throws: DecodingError.self) { try Transaction(bytes: w.bytes) }
        // A block claiming a huge transaction count.
        var b = ByteWriter()
        HeaderAndEncoding.bitcoinGenesis.encode(into: &b)
        b.write(UInt8(0xff)); b.write(UInt64.max)
        #expect(throws: DecodingError.self) { try Block(bytes: b.bytes) }
        // A payload longer than any input may carry.
        var p = ByteWriter()
        p.write(UInt32(1)); p.writeCompactSize(1)
        p.write(Hash256.zero); p.write(UInt32(0)); p.writeCompactSize(5000)
        #expect(throws: DecodingError.tooLarge(what: "input.payload", value: 5000, limit: Limits.maxPayloadSize)) {
            try Transaction(bytes: p.bytes + [UInt8](repeating: 0, count: 5000))
        }
        // An oversized block is refused whole.
        #expect(throws: DecodingError.self) { try Block(bytes: [UInt8](repeating: 0, count: Limits.maxBlockSize + 1)) }
    }

    /// 100,000 random and mutated inputs: every one decodes or throws, none crashes,
    /// and whatever decodes re-encodes to the same bytes.
    @Test func fuzzDecodersWithRandomAndMutatedInputs() async throws {
        let wallet = Wallet()
        let (blocks, _) = try await Fixtures.chain(2, paying: wallet)
        let cb = blocks[1].transactions[0]
        let tx = wallet.spend([(OutPoint(txid: cb.txid, index: 0), cb.outputs[0])], to: [wallet.output(5), wallet.output(6)])
        let seeds = [blocks[2].encoded, tx.encoded, blocks[1].transactions[0].encoded,
                     Fixtures.block(parent: blocks[2].header, transactions: [Fixtures.coinbase(height: 3, outputs: [wallet.output(1)]), tx]).encoded]
        var rng = SplitMix64(seed: 0xC41A_2026)
        var decoded = 0, refused = 0
        for i in 0..<100_000 {
            var input: [UInt8]
            if i % 4 == 0 {
                input = (0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            } else {
                input = seeds[Int(rng.next() % UInt64(seeds.count))]
                for _ in 0...Int(rng.next() % 4) {
                    switch rng.next() % 4 {
                    case 0: let at = Int(rng.next() % UInt64(input.count)); input[at] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
                    case 1: input.removeLast(Int(rng.next() % UInt64(min(input.count, 40))))
                    case 2: input.append(contentsOf: (0..<Int(rng.next() % 8)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
                    default: let at = Int(rng.next() % UInt64(max(input.count, 1))); if at < input.count { input[at] = [0xfd, 0xfe, 0xff, 0x00][Int(rng.next() % 4)] }
                    }
                    if input.isEmpty { break }
                }
            }
            for decode in [{ try Block(bytes: $0).encoded }, { try Transaction(bytes: $0).encoded },
                           { try BlockHeader(bytes: $0).encoded }] as [([UInt8]) throws -> [UInt8]] {
                do {
                    let again = try decode(input)
                    #expect(again == input)
                    decoded += 1
                } catch is DecodingError {
                    refused += 1
                }
            }
        }
        #expect(refused > 0)
        #expect(decoded > 0)
    }
}

@Suite struct HexEncoding {
    /// Bitcoin's genesis block hash, in the display order and internal order (bitcoin/bitcoin
    /// src/kernel/chainparams.cpp, `consensus.hashGenesisBlock`).
    static let genesisDisplay = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"

    @Test("every kind of byte sequence encodes alike; display hex is the reversed bytes; decode inverts encode")
    func encodesEverySequenceAlike() throws {
        let bytes: [UInt8] = (0...255).map { UInt8($0) }
        let expected = bytes.map { String(format: "%02x", $0) }.joined()
        #expect(Hex.encode(bytes) == expected)
        #expect(Hex.encode(bytes[10..<20]) == String(expected.dropFirst(20).prefix(20)))
        #expect(Hex.encode(Data(bytes)) == expected)
        #expect(Hex.encode(bytes.lazy.map { $0 }) == expected, "a sequence without contiguous storage")
        #expect(Hex.encode(bytes.reversed()) == bytes.reversed().map { String(format: "%02x", $0) }.joined())
        #expect(Hex.encode([UInt8]()) == "")
        #expect(Hex.decode(expected) == bytes && Hex.decode(expected.uppercased()) == bytes)
        let genesis = try #require(Hash256(hex: Self.genesisDisplay))
        #expect(genesis.hex == Self.genesisDisplay)
        #expect(genesis.internalHex == Hex.encode(genesis.bytes))
        #expect(genesis.internalHex == String(Self.genesisDisplay.reversedBytePairs()))
        #expect(Hash256(bytes: genesis.bytes[...]) == genesis && Hash256(bytes: genesis.bytes.reversed().reversed()) == genesis)
        // a reversed view (no contiguous storage: byte by byte) and Data (one copy), as other modules pass them
        #expect(Hash256(bytes: genesis.bytes.reversed()).bytes == Array(genesis.bytes.reversed()))
        #expect(Hash256(bytes: Data(genesis.bytes)) == genesis)
    }
}

private extension String {
    /// The hex string with its byte pairs in reverse order.
    func reversedBytePairs() -> String {
        let chars = Array(self)
        return stride(from: chars.count - 2, through: 0, by: -2).map { String(chars[$0...$0 + 1]) }.joined()
    }
}
