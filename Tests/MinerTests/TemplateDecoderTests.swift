import ChainCore
@testable import Miner
import NodeKit
import Testing

/// The miner's decoding of a template's transactions (`TemplateDecoder`): what the last template
/// held is reused by txid, the rest decoded and checked to hash to its txid, and a reply that
/// does not is refused.
@Suite("Miner: a template's transactions decoded")
struct TemplateDecoderTests {
    static func tx(_ n: UInt8) -> Transaction {
        Transaction(inputs: [TxInput(previousOutput: OutPoint(txid: Hash256(bytes: [UInt8](repeating: n, count: 32)), index: 0),
                                     payload: [UInt8](repeating: n, count: 64))],
                    outputs: [TxOutput(value: 1_000 + Amount(n), publicKey: [UInt8](repeating: n, count: 32))])
    }

    static func item(_ t: Transaction) -> (txid: Hash256, raw: [UInt8]) { (t.txid, t.encoded) }

    @Test func decodesAndReusesTheLastTemplates() throws {
        var d = TemplateDecoder()
        let (a, b, c) = (Self.tx(1), Self.tx(2), Self.tx(3))
        let first = try d.decode([Self.item(a), Self.item(b)])
        #expect(first.map(\.txid) == [a.txid, b.txid])
        #expect(first.map(\.tx) == [a, b])
        #expect(d.lastFresh == 2)
        // b again, c new: b is not decoded again; what left the template is forgotten.
        let second = try d.decode([Self.item(b), Self.item(c)])
        #expect(second.map(\.tx) == [b, c])
        #expect(d.lastFresh == 1)
        #expect(Set(d.last.keys) == [b.txid, c.txid])
        // A reused transaction is taken by txid: its bytes are not read again.
        let third = try d.decode([(b.txid, [])])
        #expect(third.map(\.tx) == [b])
        #expect(d.lastFresh == 0)
    }

    @Test func refusesBytesThatDoNotHashToTheirTxid() throws {
        var d = TemplateDecoder()
        let (a, b) = (Self.tx(1), Self.tx(2))
        #expect(throws: RPCError.self) { try d.decode([(a.txid, b.encoded)]) }
        do {
            _ = try d.decode([(a.txid, b.encoded)])
            Issue.record("a mismatched txid was taken")
        } catch let e as RPCError {
            #expect(e.code == "bad-template")
            #expect(e.message.contains("hashes to \(b.txid)"))
        }
        // Nothing of a refused template is kept.
        #expect(d.last.isEmpty)
    }

    @Test func refusesUndecodableBytes() {
        var d = TemplateDecoder()
        let a = Self.tx(1)
        #expect(throws: RPCError.self) { try d.decode([(a.txid, Array(a.encoded.dropLast()))]) }
        #expect(throws: RPCError.self) { try d.decode([(a.txid, [])]) }
    }

    @Test func jsonTemplateItems() throws {
        let (a, b) = (Self.tx(1), Self.tx(2))
        var t = BlockTemplate(height: 1, previousHash: Hash256.zero.hex, bits: 0, time: 0, minTime: 0, coinbaseValue: 0, fees: 0,
                              transactions: [Hex.encode(a.encoded), Hex.encode(b.encoded)], txids: [a.txid.hex, b.txid.hex],
                              mempoolSequence: 0)
        let items = try TemplateDecoder.items(of: t)
        #expect(items.map(\.txid) == [a.txid, b.txid])
        #expect(items.map(\.raw) == [a.encoded, b.encoded])
        t.txids = [a.txid.hex]
        #expect(throws: RPCError.self) { try TemplateDecoder.items(of: t) }
        t.txids = [a.txid.hex, "zz"]
        #expect(throws: RPCError.self) { try TemplateDecoder.items(of: t) }
    }
}
