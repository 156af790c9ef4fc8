@testable import APIEdge
import ChainCore
import Foundation
import NodeKit
import Testing
import TestSupport

/// getblocktemplate's result from a template that carries `depends` (block assembly's links) is
/// the one the edge made by decoding each transaction itself (an older mempool's template).
@Suite("getblocktemplate result shape")
struct TemplateShapeTests {
    /// A parent with two children, a grandchild spending both, and an unrelated transaction.
    static func chains() -> [Transaction] {
        let w = TestWallet()
        let coin = (OutPoint(txid: Hash256.sha256d([1]), index: 0), w.output(100_000))
        let parent = w.spend([coin], to: [w.output(40_000), w.output(50_000)])
        let a = w.spend([(OutPoint(txid: parent.txid, index: 0), parent.outputs[0])], to: [w.output(39_000)])
        let b = w.spend([(OutPoint(txid: parent.txid, index: 1), parent.outputs[1])], to: [w.output(49_000)])
        let both = w.spend([(OutPoint(txid: a.txid, index: 0), a.outputs[0]), (OutPoint(txid: b.txid, index: 0), b.outputs[0])],
                           to: [w.output(80_000)])
        let other = w.spend([(OutPoint(txid: Hash256.sha256d([2]), index: 3), w.output(7_000))], to: [w.output(6_000)])
        return [parent, other, a, b, both]
    }

    static func template(_ txs: [Transaction], depends: [[Int]]?) -> BlockTemplate {
        BlockTemplate(height: 7, previousHash: Hash256.sha256d([9]).hex, bits: ChainParams.regtest.powLimitBits, time: 1_000, minTime: 900,
                      coinbaseValue: 5_000, fees: 1_000, transactions: txs.map { Hex.encode($0.encoded) }, txids: txs.map(\.txid.hex),
                      mempoolSequence: 3, depends: depends)
    }

    @Test("the result with the template's depends equals the one decoded, field for field")
    func sameShape() throws {
        let txs = Self.chains()
        let given = RPCMethods.templateJSON(Self.template(txs, depends: [[], [], [1], [1], [3, 4]]))
        let decoded = RPCMethods.templateJSON(Self.template(txs, depends: nil))
        #expect(given == decoded)
        guard case .object(let result) = given, case .array(let entries)? = result["transactions"] else {
            Issue.record("no transactions array in \(given)")
            return
        }
        #expect(entries.count == 5)
        let expected: [[RPCValue]] = [[], [], [1], [1], [3, 4]]
        for (entry, depends) in zip(entries, expected) {
            guard case .object(let fields) = entry else { Issue.record("not an object: \(entry)"); continue }
            #expect(Set(fields.keys) == ["data", "txid", "hash", "depends", "weight"])
            #expect(fields["depends"] == .array(depends))
        }
    }

    @Test("depends of the wrong length (a malformed template) falls back to decoding")
    func wrongLengthFallsBack() {
        let txs = Self.chains()
        #expect(RPCMethods.templateJSON(Self.template(txs, depends: [[]])) == RPCMethods.templateJSON(Self.template(txs, depends: nil)))
    }

    /// The mempool's rendering (`TemplateRPC`, spliced into the reply unparsed) is byte for byte
    /// what the edge's own reshaping (`templateJSON`, encoded) gave for the same template.
    @Test("the pre-rendered result is the edge's own rendering, byte for byte", arguments: [true, false])
    func preRenderedIsTheSame(withDepends: Bool) throws {
        let txs = Self.chains()
        var t = Self.template(txs, depends: withDepends ? [[], [], [1], [1], [3, 4]] : nil)
        t.coinbaseValue = UInt64.max  // clamped to Int64 by both
        let rendered = TemplateRPC.result(t)
        let reshaped = RPCMethods.templateJSON(t)
        #expect(String(decoding: rendered, as: UTF8.self) == String(decoding: reshaped.encoded(), as: UTF8.self))
        #expect(try RPCValue.decode(Data(rendered)) == reshaped)
        // An empty template too.
        let empty = Self.template([], depends: [])
        #expect(TemplateRPC.result(empty) == RPCMethods.templateJSON(empty).encoded())
    }

    /// The strings of a template are hex, copied whole; any other string (an older mempool's
    /// template is not checked) is escaped exactly as the edge's encoder escapes it.
    @Test("a JSON string is written as the edge's encoder writes it, escapes included",
          arguments: ["", "00ff", "a\"b", "back\\slash", "line\nfeed\r\ttab", "\u{01}\u{1f}ctl", "é ünïcode ✓", "/slash"])
    func stringsAsTheEncoderWritesThem(_ s: String) throws {
        var out = [UInt8]()
        TemplateRPC.writeString(s, into: &out)
        #expect(String(decoding: out, as: UTF8.self) == String(decoding: RPCValue.string(s).encoded(), as: UTF8.self))
        #expect(try RPCValue.decode(Data(out)) == .string(s))
    }

    @Test("the bus payload carries the header and the result; a short or overlong header is refused")
    func payloadRoundTrip() throws {
        var t = Self.template(Self.chains(), depends: [[], [], [1], [1], [3, 4]])
        t.pace = MiningPace(state: "paused", stepHeight: 7, minInterval: 5, revision: 2, updatedAt: 1_000)
        let (header, result) = try TemplateRPC.parse(try TemplateRPC.payload(t))
        #expect(header == TemplateRPC.Header(height: 7, previousHash: t.previousHash, mempoolSequence: 3, pace: t.pace))
        #expect(header.longPollID == "\(t.previousHash)3")
        #expect(Array(result) == TemplateRPC.result(t))
        #expect(throws: RPCError.self) { try TemplateRPC.parse([1, 0]) }
        #expect(throws: RPCError.self) { try TemplateRPC.parse([200, 0, 0, 0, 0x7b]) }
    }

    @Test("a pre-encoded value is written as it is inside a reply, in both versions and in batches")
    func preencodedInReplies() throws {
        let t = Self.template(Self.chains(), depends: [[], [], [1], [1], [3, 4]])
        let reshaped = RPCMethods.templateJSON(t)
        let pre = RPCValue.preencoded(TemplateRPC.result(t))
        #expect(pre.typeName == "object")
        let reply: RPCValue = ["jsonrpc": "2.0", "result": pre, "id": 1]
        let expected: RPCValue = ["jsonrpc": "2.0", "result": reshaped, "id": 1]
        #expect(reply.encoded() == expected.encoded())
        #expect(RPCValue.array([reply, reply]).encoded() == RPCValue.array([expected, expected]).encoded())
        // Through Codable too (JSONEncoder: the value re-parsed, same JSON).
        let viaCodable = try RPCValue.decode(JSONEncoder().encode(pre))
        #expect(viaCodable == reshaped)
    }
}
