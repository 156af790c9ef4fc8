import CairnContract
import Foundation
import Testing

/// docs/ARCHITECTURE.md's tables of the contract, checked against the code so they cannot drift.
@Suite struct ArchitectureMatchesTheContract {
    static let architecture: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return (try? String(contentsOf: root.appendingPathComponent("docs/ARCHITECTURE.md"), encoding: .utf8)) ?? ""
    }()

    /// The text from a `### title` heading to the next heading.
    static func section(_ title: String) -> String {
        guard let start = architecture.range(of: "### \(title)") else { return "" }
        let rest = architecture[start.upperBound...]
        let end = rest.range(of: "\n#")?.lowerBound ?? rest.endIndex
        return String(rest[..<end])
    }

    static func backticked(_ text: some StringProtocol) -> Set<String> {
        var out = Set<String>()
        var parts = text.split(separator: "`", omittingEmptySubsequences: false)
        parts.removeFirst()
        for (i, p) in parts.enumerated() where i % 2 == 0 { out.insert(String(p)) }
        return out
    }

    @Test func theTopicTableListsEveryTopicAndNoOther() {
        let rows = Self.section("Topics").split(separator: "\n").filter { $0.hasPrefix("| ") && !$0.hasPrefix("| publisher") }
        #expect(!rows.isEmpty, "no topic table found")
        var named = Set<String>()
        for row in rows {
            let columns = row.split(separator: "|", omittingEmptySubsequences: false)
            guard columns.count > 2 else { continue }
            named.formUnion(Self.backticked(columns[2]))
        }
        #expect(named == Topic.all)
    }

    /// The JSON-RPC methods of docs/ARCHITECTURE.md's credits table (between its markers), in order.
    static func documentedRPCMethods() -> [String] {
        guard let begin = architecture.range(of: "<!-- credits:begin -->"),
              let end = architecture.range(of: "<!-- credits:end -->", range: begin.upperBound..<architecture.endIndex) else { return [] }
        let table = architecture[begin.upperBound..<end.lowerBound]
        // The first table (methods); the second, after a blank line, is the REST routes'.
        let methods = table.components(separatedBy: "\n\n").first ?? ""
        return methods.split(separator: "\n").filter { $0.hasPrefix("| `") }.compactMap { row in
            row.split(separator: "`", omittingEmptySubsequences: false).dropFirst().first.map(String.init)
        }
    }

    @Test func theMethodTableListsEveryJSONRPCMethodInOrderAndNoOther() {
        let documented = Self.documentedRPCMethods()
        #expect(!documented.isEmpty, "no JSON-RPC method table found between the credits markers")
        #expect(documented == RPCMethodName.allCases.map(\.rawValue))
    }

    @Test func aMethodNameTravelsAsItsWireName() throws {
        #expect(RPCMethodName(rawValue: "rpc.discover") == .rpcDiscover)
        #expect("\(RPCMethodName.rpcDiscover)" == "rpc.discover")
        #expect(String(decoding: try JSONEncoder().encode([RPCMethodName.getblock]), as: UTF8.self) == #"["getblock"]"#)
        #expect(RPCMethodName(rawValue: "getblocks") == nil)
    }

    /// The bus methods the "Request/reply" list names in the bullet that starts with `- heading` (up to
    /// the next bullet or blank line): the first word of each code span that is a plain
    /// lowercase word (`getblock {hash|height}` names `getblock`; `POST /api/tx`, `mempool-busy`,
    /// `notBefore` and file names are not methods); the edge's JSON-RPC names the text refers to
    /// (`sendrawtransaction`) are left out unless they are also the service's.
    static func documentedBusMethods(_ heading: String, known: Set<String>) -> Set<String> {
        guard let start = architecture.range(of: "\n- \(heading)") else { return [] }
        let rest = architecture[start.upperBound...]
        let end = [rest.range(of: "\n- ")?.lowerBound, rest.range(of: "\n\n")?.lowerBound].compactMap { $0 }.min() ?? rest.endIndex
        let jsonRPC = Set(RPCMethodName.allCases.map(\.rawValue))
        var out = Set<String>()
        for span in backticked(rest[..<end]) {
            let word = String(span.prefix { $0 != " " && $0 != "{" })
            guard !word.isEmpty, word.allSatisfy({ $0.isASCII && $0.isLowercase }) else { continue }
            if jsonRPC.contains(word) && !known.contains(word) { continue }
            out.insert(word)
        }
        return out
    }

    static func check<M: BusMethod>(_ service: String, _ methods: M.Type, heading: String? = nil) {
        let names = Set(M.allCases.map(\.rawValue))
        let documented = documentedBusMethods(heading ?? "**\(service)**", known: names)
        #expect(!documented.isEmpty, "no list for \(service) found")
        #expect(documented.subtracting(names).sorted() == [], "\(service): documented but not in \(M.self)")
        #expect(names.subtracting(documented).sorted() == [], "\(service): in \(M.self) but not documented")
    }

    @Test func theBusMethodListsNameEachServicesMethodsAndNoOther() {
        Self.check("chain.rpc", ChainMethod.self)
        Self.check("mempool.rpc", MempoolMethod.self)
        Self.check("peer.rpc", PeerMethod.self)
        Self.check("accounts.rpc", AccountsMethod.self)
        Self.check("every authority", AuthorityMethod.self, heading: "every authority")
    }

    @Test func aBusMethodTravelsAsItsWireNameAndNoServiceNamesOneTwice() {
        #expect(ChainMethod(rawValue: "getrawblocks") == .getrawblocks && "\(ChainMethod.getrawblocks)" == "getrawblocks")
        #expect(MempoolMethod.getblocktemplaterpc.rawValue == TemplateRPC.method)
        #expect(MempoolMethod.getblocktemplatebin.rawValue == TemplateBinary.method)
        for names in [ChainMethod.allCases.map(\.rawValue), MempoolMethod.allCases.map(\.rawValue),
                      PeerMethod.allCases.map(\.rawValue), AccountsMethod.allCases.map(\.rawValue)] {
            #expect(Set(names).count == names.count)
            #expect(!names.contains(AuthorityMethod.getnodeid.rawValue), "getnodeid is every authority's, added by NodeIdentity")
        }
    }

    @Test func theTraceSectionNamesEveryStage() {
        let words = Self.backticked(Self.section("The path of a transaction (trace)"))
        let missing = TraceStage.allCases.map(\.rawValue).filter { !words.contains($0) }
        #expect(missing.isEmpty, "stages the trace section does not name: \(missing)")
    }
}

@Suite struct TraceVocabulary {
    @Test func anEventTravelsAsItsRawValues() throws {
        let e = TraceEvent(id: "ab", kind: .tx, stage: .replaced, service: .mempool, time: 1.5, detail: "replaced by cd")
        let json = try #require(String(data: try JSONEncoder().encode(e), encoding: .utf8))
        #expect(json.contains(#""kind":"tx""#) && json.contains(#""stage":"replaced""#) && json.contains(#""service":"mempool""#))
        #expect(try JSONDecoder().decode(TraceEvent.self, from: Data(json.utf8)) == e)
    }

    @Test func aStoredRowWithAnUnknownStageIsSkippedNotGuessed() {
        #expect(TraceEvent(id: "ab", kind: "tx", stage: "teleported", service: "edge", time: 1, detail: nil) == nil)
        #expect(TraceEvent(id: "ab", kind: "tx", stage: "accepted", service: "mempool", time: 1, detail: nil)?.stage == .accepted)
        #expect(ServiceName.miner(id: "0abc") == "miner:0abc")
    }

    @Test func aStatusNamesItsServiceByItsRawValue() throws {
        let s = ServiceStatus(service: .peerbridge, pid: 1, startedAt: 0, tipHeight: 0, tipHash: "", details: [:])
        #expect(s.service == "peerbridge")
        #expect(ServiceName.chainstore.title == "chain store")
        // The edge's error texts name the service as before the enum: "the accounts service is unavailable".
        #expect(ServiceName.accounts.title == "the accounts service")
        #expect(ServiceName.peerbridge.title == "peer bridge" && ServiceName.mempool.title == "mempool")
    }
}
