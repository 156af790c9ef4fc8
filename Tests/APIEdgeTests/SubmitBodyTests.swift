@testable import APIEdge
import Foundation
import ChainCore
import NIOCore
import Testing

/// POST /api/tx's body trimming (RoutesTx.trimmed): the same text as Foundation's
/// `trimmingCharacters(in: .whitespacesAndNewlines)`, ASCII fast path or not.
@Suite("Submission body")
struct SubmitBodyTests {
    @Test(arguments: ["", "   ", "ab01", "  ab01\n", "\t\r\n\u{0B}\u{0C} ab 01 \r\n", "{\"hex\": \"ab\"}\n", "\u{1C}ab\u{1F}",
                      "\u{A0}ab01\u{85}", " \u{2003}ab\u{3000} ", "é ab", "\u{7F}ab\u{7F}"])
    func trimsAsFoundationDoes(_ text: String) {
        #expect(TxRoutes.trimmed(ByteBuffer(string: text)) == text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The hex fast path gives what the general path (trim, then `Hex.decode`) gives, or nil and
    /// leaves the body to it: never a different transaction.
    @Test(arguments: ["", "   ", "ab01", "AB01", "  ab01\n", "\t\r\n\u{0B}\u{0C} ab01 \r\n", "ab 01", "ab0", "abg1", "{\"hex\": \"ab\"}",
                      "\u{A0}ab01\u{85}", "é ab", "0123456789abcdefABCDEF00", "\u{7F}ab\u{7F}"])
    func hexBodyAsTheGeneralPath(_ text: String) {
        let buffer = ByteBuffer(string: text)
        let general = TxRoutes.trimmed(buffer)
        if let fast = TxRoutes.hexBody(buffer) {
            #expect(fast == Hex.decode(general))
            #expect(!fast.isEmpty)
        } else {
            // Left to the general path: empty, not hex, or not ASCII (Foundation's trimming then decides).
            #expect(general.isEmpty || Hex.decode(general) == nil || !text.allSatisfy(\.isASCII))
        }
    }

    @Test(arguments: [nil, "", "text/plain", "application/json", "Application/JSON; charset=utf-8", "application/problem+json",
                      "jso", "application/jsn", "text/JSON", "application/x-ndjson", "é/jsonX"])
    func jsonContentTypeAsLowercasedContains(_ value: String?) {
        #expect(TxRoutes.isJSONContentType(value) == (value?.lowercased().contains("json") == true))
    }
}
