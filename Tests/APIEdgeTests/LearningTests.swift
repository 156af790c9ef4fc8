@testable import APIEdge
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import NodeKit
import Testing

/// The learning mode's routes: anyone reads the pace, only the operator changes it, on regtest only.
@Suite("Learning mode routes")
struct LearningTests {
    static let token = "learning-operator-token"

    @Test func theOperatorPausesStepsResumesAndSetsTheInterval() async throws {
        try await Stack.with(configure: { $0.operatorToken = Self.token }) { s in
            try await s.http { c in
                let auth: HTTPFields = [.authorization: "Bearer \(Self.token)"]
                let start = try await c.execute(uri: "/api/mining", method: .get)
                #expect(start.status == .ok)
                #expect(start.object["state"] as? String == "running")
                #expect(start.object["available"] as? Bool == true)
                #expect(start.object["minInterval"] as? Double == 0)

                // Without the token, or with a wrong one: 401, and nothing changes.
                for headers: HTTPFields in [[:], [.authorization: "Bearer wrong"], [.authorization: "Basic \(Self.token)"]] {
                    expectError(try await c.execute(uri: "/api/operator/mining", method: .post, headers: headers,
                                                    body: ByteBuffer(string: #"{"state":"paused"}"#)), .unauthorized, "unauthorized")
                    expectError(try await c.execute(uri: "/api/operator/mining/step", method: .post, headers: headers), .unauthorized, "unauthorized")
                    expectError(try await c.execute(uri: "/api/operator/mining", method: .get, headers: headers), .unauthorized, "unauthorized")
                }
                #expect(try await c.execute(uri: "/api/mining", method: .get).object["state"] as? String == "running")

                let paused = try await c.execute(uri: "/api/operator/mining", method: .post, headers: auth,
                                                 body: ByteBuffer(string: #"{"state":"paused","minInterval":2.5}"#))
                #expect(paused.status == .ok, "\(paused.text)")
                #expect(paused.object["state"] as? String == "paused")
                #expect(paused.object["minInterval"] as? Double == 2.5)

                let step = try await c.execute(uri: "/api/operator/mining/step", method: .post, headers: auth)
                #expect(step.status == .ok)
                #expect(step.object["state"] as? String == "stepping")
                #expect(step.object["stepHeight"] as? Int == s.fixture.blocks.count)
                // Everyone sees it.
                let seen = try await c.execute(uri: "/api/mining", method: .get)
                #expect(seen.object["state"] as? String == "stepping")
                #expect(try await c.execute(uri: "/api/operator/mining", method: .get, headers: auth).object["state"] as? String == "stepping")

                let resumed = try await c.execute(uri: "/api/operator/mining", method: .post, headers: auth,
                                                  body: ByteBuffer(string: #"{"state":"running"}"#))
                #expect(resumed.object["state"] as? String == "running")
                #expect(resumed.object["stepHeight"] == nil || resumed.object["stepHeight"] is NSNull)

                // A page on another origin sends the token in the body (CORS lets it send only Content-Type).
                expectError(try await c.execute(uri: "/api/operator/mining", method: .post,
                                                 body: ByteBuffer(string: #"{"state":"paused","token":"wrong"}"#)), .unauthorized, "unauthorized")
                expectError(try await c.execute(uri: "/api/operator/mining/step", method: .post,
                                                 body: ByteBuffer(string: #"{"token":"wrong"}"#)), .unauthorized, "unauthorized")
                let byBody = try await c.execute(uri: "/api/operator/mining", method: .post,
                                                 body: ByteBuffer(string: #"{"state":"paused","token":"\#(Self.token)"}"#))
                #expect(byBody.object["state"] as? String == "paused", "\(byBody.text)")
                let stepByBody = try await c.execute(uri: "/api/operator/mining/step", method: .post,
                                                     body: ByteBuffer(string: #"{"token":"\#(Self.token)"}"#))
                #expect(stepByBody.object["state"] as? String == "stepping", "\(stepByBody.text)")
                _ = try await c.execute(uri: "/api/operator/mining", method: .post, headers: auth, body: ByteBuffer(string: #"{"state":"running"}"#))

                // Bad bodies: named 400s.
                for (body, code) in [("", "bad-json"), ("{}", "bad-json"), (#"{"state":"fast"}"#, "bad-state"),
                                     (#"{"minInterval":-1}"#, "bad-interval"), (#"{"minInterval":99999}"#, "bad-interval"),
                                     (#"{"minInterval":"ten"}"#, "bad-json")] {
                    expectError(try await c.execute(uri: "/api/operator/mining", method: .post, headers: auth, body: ByteBuffer(string: body)),
                                .badRequest, code)
                }
            }
        }
    }

    @Test func otherNetworksRefuseTheLearningMode() async throws {
        try await Stack.with(configure: { $0.operatorToken = Self.token; $0.params = .testnet }) { s in
            try await s.http { c in
                let view = try await c.execute(uri: "/api/mining", method: .get)
                #expect(view.status == .ok)
                #expect(view.object["available"] as? Bool == false)
                #expect(view.object["state"] as? String == "running")
                let auth: HTTPFields = [.authorization: "Bearer \(Self.token)"]
                let r = try await c.execute(uri: "/api/operator/mining/step", method: .post, headers: auth)
                expectError(r, .conflict, "not-regtest")
                #expect(((r.object["error"] as? [String: Any])?["message"] as? String ?? "").contains("regtest"))
                expectError(try await c.execute(uri: "/api/operator/mining", method: .post, headers: auth,
                                                body: ByteBuffer(string: #"{"state":"paused"}"#)), .conflict, "not-regtest")
            }
        }
    }
}
