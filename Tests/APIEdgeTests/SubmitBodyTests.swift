@testable import APIEdge
import Foundation
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

    @Test(arguments: [nil, "", "text/plain", "application/json", "Application/JSON; charset=utf-8", "application/problem+json",
                      "jso", "application/jsn", "text/JSON", "application/x-ndjson", "é/jsonX"])
    func jsonContentTypeAsLowercasedContains(_ value: String?) {
        #expect(TxRoutes.isJSONContentType(value) == (value?.lowercased().contains("json") == true))
    }
}
