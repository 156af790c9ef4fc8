@testable import CairnCLI
import Foundation
import Testing

/// `cairn rpc`: parameters as bitcoin-cli converts them, results as it prints them.
@Suite struct RPCCommandTests {
    @Test func parametersAreJSONUnlessDeclaredStrings() {
        #expect(RPC.convert("2", type: nil) == .number(2))
        #expect(RPC.convert("true", type: "boolean") == .bool(true))
        #expect(RPC.convert(#"["a",1]"#, type: "array") == .array([.string("a"), .number(1)]))
        #expect(RPC.convert(#"{"rules":["segwit"]}"#, type: "object") == .object(["rules": .array([.string("segwit")])]))
        // Not JSON: a string.
        #expect(RPC.convert("rcrn1qxyz", type: nil) == .string("rcrn1qxyz"))
        #expect(RPC.convert("00ab", type: nil) == .string("00ab"))
        // A hash made only of digits stays a string when the method declares a string.
        let digits = String(repeating: "1", count: 64)
        #expect(RPC.convert(digits, type: "string") == .string(digits))
    }

    @Test func resultsPrintAsBitcoinCli() throws {
        #expect(RPC.render(.null) == nil)
        #expect(RPC.render(.string("00ff")) == "00ff")
        #expect(RPC.render(.number(4)) == "4")
        let text = try #require(RPC.render(.object(["b": .number(1), "a": .array([.bool(true)])])))
        #expect(text.contains("\n"))
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) == .object(["a": .array([.bool(true)]), "b": .number(1)]))
    }
}
