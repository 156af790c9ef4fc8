@testable import APIEdge
import NodeKit
import Testing

/// The edge's JSON-RPC method table against the contract's names (CairnContract/RPCMethodName.swift).
@Suite("JSON-RPC method table")
struct RPCMethodTableTests {
    let table = RPCMethodTable(RPCMethods.all)

    @Test func theTableDefinesEveryContractMethodOnceInTheContractsOrder() {
        #expect(table.list.map(\.name) == RPCMethodName.allCases)
        #expect(Set(table.list.map(\.name)).count == table.list.count, "a method is defined twice")
    }

    @Test func aMethodIsFoundByItsWireNameOrItsCase() {
        for name in RPCMethodName.allCases {
            #expect(table.method(name)?.name == name)
            #expect(table.method(name.rawValue)?.name == name)
        }
        #expect(table.method("rpcDiscover") == nil, "the Swift case name is not a wire name")
        #expect(table.method("nosuch") == nil)
    }

    @Test func theCreditsTableNamesTheMethodsByTheirWireNames() {
        let text = Credits.table(methods: table)
        #expect(text.contains("| `rpc.discover` |"))
        for name in RPCMethodName.allCases { #expect(text.contains("| `\(name.rawValue)` |"), "\(name)") }
    }
}
