import ChainCore
import CairnContract
import Testing

/// The node's miner's binary template (TemplateBinary.swift, docs/PROTOCOL.md "Bus: the miner's template").
@Suite("Binary template")
struct TemplateBinaryTests {
    static let template = BlockTemplate(height: 12, previousHash: String(repeating: "ab", count: 32), bits: 0x207f_ffff, time: 1_700_000_100,
                                        minTime: 1_700_000_001, coinbaseValue: 5_000_001_000, fees: 1_000, transactions: ["00"], txids: ["11"],
                                        mempoolSequence: 77, pace: .running, notBefore: 1_700_000_050, depends: [[], [1]])
    static let items = [TemplateBinary.Item(txid: Hash256.sha256d([1]), raw: [1, 2, 3]),
                        TemplateBinary.Item(txid: Hash256.sha256d([2]), raw: Array(repeating: 9, count: 300))]

    @Test("round trip: the template's fields (its hex lists left empty, its depends left out) and each transaction's txid and bytes, in order")
    func roundTrip() throws {
        let payload = try TemplateBinary.payload(Self.template, items: Self.items)
        let (header, items) = try TemplateBinary.parse(payload)
        var expected = Self.template
        expected.transactions = []
        expected.txids = []
        expected.depends = nil
        #expect(header == expected)
        #expect(items == Self.items)
        // The layout: header length, header, count, then txid | length | bytes.
        let length = Int(payload[0]) | Int(payload[1]) << 8
        #expect(Array(payload[(4 + length)..<(8 + length)]) == [2, 0, 0, 0])
        #expect(Array(payload[(8 + length)..<(40 + length)]) == Self.items[0].txid.bytes)
        #expect(Array(payload[(40 + length)..<(47 + length)]) == [3, 0, 0, 0, 1, 2, 3])
        // No transactions.
        #expect(try TemplateBinary.parse(try TemplateBinary.payload(Self.template, items: [])).items.isEmpty)
    }

    @Test("a reply that breaks its bounds is refused, never read past its end")
    func malformed() throws {
        let payload = try TemplateBinary.payload(Self.template, items: Self.items)
        let length = Int(payload[0]) | Int(payload[1]) << 8
        var cases: [[UInt8]] = [[], [1, 0], [255, 255, 255, 127] + [0]]
        for cut in [3, 4 + length - 1, 4 + length + 2, payload.count - 1, payload.count - 200] { cases.append(Array(payload.prefix(cut))) }
        cases.append(payload + [0])                                        // bytes after the last transaction
        var lying = payload
        lying[4 + length] = 0xff; lying[4 + length + 3] = 0x7f             // a count that cannot fit
        cases.append(lying)
        var bigTx = payload
        bigTx[8 + length + 32 + 2] = 0x10                                  // a transaction longer than the reply
        cases.append(bigTx)
        var badHeader = payload
        badHeader[4] = UInt8(ascii: "x")                                   // the header is not JSON
        cases.append(badHeader)
        for bad in cases {
            #expect(throws: RPCError.self, "\(bad.count) bytes") { try TemplateBinary.parse(bad) }
        }
    }
}
