import Foundation
@testable import PeerBridge
import Testing

/// docs/PROTOCOL.md §9's message table is the peer protocol's contract: each row's type byte, name and
/// payload bound must be what the codec enforces, and every message type must have a row.
@Suite struct ProtocolTable {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// (type byte, name, bound) for each row such as "| `0x04` / `0x05` | `ping` / `pong` | … | 8 |".
    static func rows() throws -> [(UInt8, String, Int)] {
        let text = try String(contentsOf: repo.appendingPathComponent("docs/PROTOCOL.md"), encoding: .utf8)
        var out: [(UInt8, String, Int)] = []
        for line in text.split(separator: "\n") where line.hasPrefix("| `0x") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 6 else { continue }
            let types = cells[1].split(separator: "/").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "` ")) }
            let names = cells[2].split(separator: "/").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "` ")) }
            guard let bound = Int(cells[4].replacingOccurrences(of: ",", with: "")), types.count == names.count else {
                Issue.record("cannot read the row: \(line)"); continue
            }
            for (t, n) in zip(types, names) {
                guard let byte = UInt8(t.dropFirst(2), radix: 16) else { Issue.record("bad type \(t)"); continue }
                out.append((byte, n, bound))
            }
        }
        return out
    }

    @Test func everyRowMatchesTheCodec() throws {
        let rows = try Self.rows()
        #expect(rows.count == Wire.Kind.allCases.count, "one row per message type")
        for (byte, name, bound) in rows {
            guard let kind = Wire.Kind(rawValue: byte) else { Issue.record("PROTOCOL names type \(byte) the codec lacks"); continue }
            #expect(kind.name == name, "type 0x\(String(byte, radix: 16)) is \(kind.name) in the codec, \(name) in the table")
            #expect(kind.maxPayload == bound, "\(name): bound \(kind.maxPayload) in the codec, \(bound) in the table")
        }
        let documented = Set(rows.map(\.0))
        for kind in Wire.Kind.allCases { #expect(documented.contains(kind.rawValue), "\(kind.name) has no row") }
    }
}
