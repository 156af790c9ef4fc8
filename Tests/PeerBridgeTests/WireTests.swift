import ChainCore
import Foundation
import NodeKit
@testable import PeerBridge
import Testing
import TestSupport

@Suite("Peer protocol codec")
struct WireTests {
    static let params = ChainParams.regtest

    static func hello(magic: [UInt8] = ChainParams.regtest.magic, genesis: Hash256 = ChainParams.regtest.genesisHash,
                      version: UInt32 = Wire.protocolVersion, nonce: UInt64 = 7) -> Wire.Hello {
        Wire.Hello(protocolVersion: version, magic: magic, genesis: genesis, bestHeight: 12, bestHash: Hash256.sha256d([1]),
                   nonce: nonce, listenPort: 8342, userAgent: "/test:1/")
    }

    static func sampleBlock() -> Block {
        let w = TestWallet()
        return ChainFixtures.next(after: ChainParams.regtest.genesis.header, height: 1, paying: w)
    }

    @Test("every message type round-trips through its encoding")
    func roundTrip() throws {
        let block = Self.sampleBlock()
        let w = TestWallet()
        let tx = w.spend([(OutPoint(txid: block.transactions[0].txid, index: 0), w.output(50))], to: [w.output(40)])
        let h1 = Hash256.sha256d([1]), h2 = Hash256.sha256d([2])
        let messages: [Wire.Message] = [
            .version(Self.hello()), .verack, .reject(code: "wrong-network", reason: "magic"), .ping(42), .pong(43), .getaddr,
            .addr(["ws://127.0.0.1:8342", "ws://[::1]:9000"]), .inv([.init(.tx, h1), .init(.block, h2)]),
            .getdata([.init(.block, h2)]), .notfound([.init(.tx, h1)]), .getheaders(locator: [h1, h2], stop: .zero),
            .headers([block.header, Self.params.genesis.header]), .block(block), .tx(tx),
        ]
        #expect(Set(messages.map(\.kind)) == Set(Wire.Kind.allCases))
        for m in messages {
            let bytes = Wire.encode(m)
            #expect(bytes[0] == m.kind.rawValue)
            #expect(bytes[1] == Wire.messageVersion)
            #expect(bytes.count - 2 <= m.kind.maxPayload, "\(m.kind) encodes within its bound")
            #expect(try Wire.decode(bytes) == m)
        }
    }

    @Test("a block travels in its canonical encoding")
    func canonicalBlock() throws {
        let block = Self.sampleBlock()
        let bytes = Wire.encode(.block(block))
        #expect(Array(bytes[2...]) == block.encoded)
        let tx = block.transactions[0]
        #expect(Array(Wire.encode(.tx(tx))[2...]) == tx.encoded)
    }

    @Test("empty, unknown type and unknown version are refused with their own failure")
    func prefixFailures() {
        #expect(throws: Wire.Failure.empty) { try Wire.decode([]) }
        #expect(throws: Wire.Failure.empty) { try Wire.decode([0x01]) }
        #expect(throws: Wire.Failure.unknownType(0x7f)) { try Wire.decode([0x7f, 1]) }
        #expect(throws: Wire.Failure.unknownVersion(.ping, 2)) { try Wire.decode([0x04, 2, 0, 0, 0, 0, 0, 0, 0, 0]) }
        #expect(Wire.Failure.unknownType(0x7f).offence == .unknownMessage)
    }

    @Test("payloads over their type's bound are oversized, before any parsing")
    func bounds() {
        #expect(throws: Wire.Failure.oversized(.ping, 9)) { try Wire.decode([0x04, 1] + [UInt8](repeating: 0, count: 9)) }
        #expect(throws: Wire.Failure.oversized(.verack, 1)) { try Wire.decode([0x02, 1, 0]) }
        let big = [UInt8](repeating: 0, count: Limits.maxBlockSize + 1)
        #expect(throws: Wire.Failure.oversized(.tx, big.count)) { try Wire.decode([0x16, 1] + big) }
        #expect(Wire.Failure.oversized(.tx, 1).offence == .oversized)
        #expect(Offence.oversized.score >= Offence.banThreshold)
    }

    @Test("malformed payloads: truncated, trailing bytes, counts over the limit, bad inventory type, non-minimal sizes")
    func malformed() {
        func isMalformed(_ bytes: [UInt8]) -> Bool {
            do { _ = try Wire.decode(bytes); return false } catch {
                if case .malformed = error { return true }
                return false
            }
        }
        #expect(isMalformed([0x04, 1, 0, 0, 0]))                      // ping: 3 of 8 bytes
        #expect(isMalformed(Wire.encode(.ping(1)) + []) == false)
        #expect(isMalformed([0x03, 1, 2, 0x41]))                      // reject: code shorter than stated
        #expect(isMalformed([0x10, 1, 1, 9] + [UInt8](repeating: 0, count: 32)))  // inv type 9
        #expect(isMalformed([0x10, 1, 2, 1] + [UInt8](repeating: 0, count: 32)))  // inv count 2, one item
        #expect(isMalformed([0x10, 1, 0xfd, 0x01, 0x00]))            // non-minimal CompactSize
        #expect(isMalformed([0x10, 1, 0xfd, 0xe9, 0x03]))            // 1001 items > maxInventory
        #expect(isMalformed(Wire.encode(.getaddr) + [0]) == false)   // getaddr with a byte is oversized, not malformed
        #expect(isMalformed([0x07, 1, 1, 3] + Array("abc".utf8)))    // addr not a ws:// URL
        #expect(isMalformed(Wire.encode(.headers([Self.params.genesis.header])).dropLast(1).map { $0 }))
        var block = Wire.encode(.block(Self.sampleBlock()))
        block.append(0)
        #expect(isMalformed(block))                                  // trailing byte after the block
        #expect(isMalformed([0x15, 1] + [UInt8](repeating: 0xff, count: 100)))  // garbage block
    }

    @Test("every single-byte corruption and every truncation of a block message is refused or decodes to another valid message, never traps")
    func fuzzBlock() {
        // What decodes must be a valid message in its canonical encoding: encoding it again gives the same bytes.
        var decoded = 0
        func check(_ b: [UInt8]) {
            guard let m = try? Wire.decode(b) else { return }
            decoded += 1
            #expect(Wire.encode(m) == b, "a message decoded from other bytes than its own encoding")
        }
        let bytes = Wire.encode(.block(Self.sampleBlock()))
        for cut in 0..<bytes.count { #expect((try? Wire.decode(Array(bytes.prefix(cut)))) == nil, "a truncated block is refused") }
        for i in 0..<bytes.count {
            var b = bytes
            b[i] ^= 0x5a
            check(b)
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let n = Int.random(in: 0..<300, using: &rng)
            check((0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) })
        }
        check(bytes)
        #expect(decoded >= 1, "the uncorrupted block decodes")
    }
}
