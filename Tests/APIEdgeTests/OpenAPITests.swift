@testable import APIEdge
import Foundation
import HummingbirdTesting
import Testing

@Suite("OpenAPI document")
struct OpenAPITests {
    @Test func listsEveryRoute() async throws {
        try await Stack.with { s in
            try await s.http { c in
                let r = try await c.execute(uri: "/openapi.json", method: .get)
                #expect(r.status == .ok)
                let doc = r.object
                #expect(doc["openapi"] as? String == "3.0.3")
                let paths = doc["paths"] as? [String: [String: Any]] ?? [:]
                let schemas = (doc["components"] as? [String: Any])?["schemas"] as? [String: Any] ?? [:]
                #expect(schemas["Error"] != nil)
                let routes = s.edge.routes
                #expect(routes.count >= 30)
                for route in routes where route.doc.isHTTPOperation {
                    let op = paths[route.openAPIPath]?[route.method.rawValue.lowercased()] as? [String: Any]
                    #expect(op != nil, "\(route.method) \(route.path) is not documented")
                    let declared = Set((op?["parameters"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String })
                    let inPath = Set(route.path.split(separator: "/").filter { $0.hasPrefix(":") }.map { String($0.dropFirst()) })
                    #expect(declared == inPath, "\(route.path): parameters \(declared) vs \(inPath)")
                    let responses = op?["responses"] as? [String: Any] ?? [:]
                    #expect(responses["200"] != nil)
                    for code in route.doc.errors {
                        let content = (responses[String(code)] as? [String: Any])?["content"] as? [String: Any]
                        let schema = (content?["application/json"] as? [String: Any])?["schema"] as? [String: String]
                        #expect(schema?["$ref"] == "#/components/schemas/Error")
                    }
                }
                // Every $ref points at a schema that exists.
                let text = r.text
                let refs = text.components(separatedBy: "#/components/schemas/").dropFirst().map { $0.prefix { $0 != "\"" } }
                for name in refs { #expect(schemas[String(name)] != nil, "missing schema \(name)") }
                // Every path documented is served.
                #expect(Set(paths.keys) == Set(routes.filter(\.doc.isHTTPOperation).map(\.openAPIPath)))
                // The WebSocket feed, which OpenAPI 3.0 cannot express as an operation, is described apart.
                let ws = routes.filter { !$0.doc.isHTTPOperation }.map(\.path)
                #expect(ws == ["/api/ws"])
                #expect((doc["x-websocket"] as? [String: Any])?["path"] as? String == "/api/ws")
            }
        }
    }
}
