import Testing
import TestSupport
@testable import Bus

/// CURVE with a ZAP handler: only allowed client keys complete the handshake (ARCHITECTURE: the bus
/// off one host). Servers and clients live in separate contexts, as in separate processes.
@Suite("ZAP authentication")
struct ZAPTests {
    @Test("an allowed client key gets replies; an unknown one, or a plain client, is refused")
    func requestReply() async throws {
        try await withHangGuard(seconds: 180) {
            let serverContext = try ZMQContext(), clientContext = try ZMQContext()
            let serverKeys = try CurveKeyPair.generate()
            let allowedKeys = try CurveKeyPair.generate(), strangerKeys = try CurveKeyPair.generate()
            let zap = try await ZAPHandler(context: serverContext, allowedClientKeys: [allowedKeys.publicKey])
            let server = try await RequestServer(context: serverContext, bind: "tcp://127.0.0.1:*", curve: serverKeys) { $0 }
            let endpoint = server.endpoints[0]
            let allowed = try await RequestClient(
                context: clientContext, endpoint: endpoint, curve: .client(allowedKeys, serverPublicKey: serverKeys.publicKey))
            #expect(try await allowed.request([7]) == [7])
            let stranger = try await RequestClient(
                context: clientContext, endpoint: endpoint, timeout: .milliseconds(300), retries: 2,
                curve: .client(strangerKeys, serverPublicKey: serverKeys.publicKey))
            await #expect(throws: BusError.unreachable(endpoint: endpoint, attempts: 2)) { try await stranger.request([8]) }
            let plain = try await RequestClient(context: clientContext, endpoint: endpoint, timeout: .milliseconds(300), retries: 1)
            await #expect(throws: BusError.unreachable(endpoint: endpoint, attempts: 1)) { try await plain.request([9]) }
            #expect(server.stats.executed == 1)
            #expect(zap.counts.accepted >= 1)
            #expect(zap.counts.refused >= 1)
            // Revoking the allowed key refuses its next connection.
            zap.allow([])
            let revoked = try await RequestClient(
                context: clientContext, endpoint: endpoint, timeout: .milliseconds(300), retries: 1,
                curve: .client(allowedKeys, serverPublicKey: serverKeys.publicKey))
            await #expect(throws: BusError.unreachable(endpoint: endpoint, attempts: 1)) { try await revoked.request([10]) }
            for c in [allowed, stranger, plain, revoked] { await c.stop() }
            await server.stop()
            await clientContext.terminate()
            await serverContext.terminate()
            await zap.join()
        }
    }

    @Test("a subscriber with an unknown key never gets ready nor receives; an allowed one does")
    func publishSubscribe() async throws {
        try await withHangGuard(seconds: 180) {
            let serverContext = try ZMQContext(), clientContext = try ZMQContext()
            let serverKeys = try CurveKeyPair.generate()
            let allowedKeys = try CurveKeyPair.generate(), strangerKeys = try CurveKeyPair.generate()
            let zap = try await ZAPHandler(context: serverContext, allowedClientKeys: [allowedKeys.publicKey])
            let publisher = try await Publisher(context: serverContext, bind: ["tcp://127.0.0.1:*"], curve: serverKeys)
            let good = try await Subscriber(context: clientContext, connect: publisher.endpoints, topics: ["tip"],
                                            curve: .client(allowedKeys, serverPublicKey: serverKeys.publicKey))
            let bad = try await Subscriber(context: clientContext, connect: publisher.endpoints, topics: ["tip"],
                                           curve: .client(strangerKeys, serverPublicKey: serverKeys.publicKey))
            try await good.ready()
            await #expect(throws: (any Error).self) { try await bad.ready(timeout: .milliseconds(1500)) }
            publisher.publish(topic: "tip", body: [1])
            var iterator = good.events.makeAsyncIterator()
            #expect(await next(1, from: &iterator) == [.message(topic: "tip", body: [1], sequence: 0)])
            #expect(!bad.isReady)
            #expect(zap.counts.refused >= 1)
            await good.stop()
            await bad.stop()
            await publisher.stop()
            await clientContext.terminate()
            await serverContext.terminate()
        }
    }

    @Test("ZAP requests: CURVE with an allowed key only; malformed requests are refused")
    func decisions() {
        let key = [UInt8](repeating: 7, count: 32)
        func request(_ mechanism: String, _ credentials: [[UInt8]]) -> [[UInt8]] {
            [Array("1.0".utf8), [1], [], Array("127.0.0.1".utf8), [], Array(mechanism.utf8)] + credentials
        }
        #expect(ZAPHandler.decide(request("CURVE", [key])) { $0 == key }.status == "200")
        #expect(ZAPHandler.decide(request("CURVE", [key])) { _ in false }.status == "400")
        #expect(ZAPHandler.decide(request("NULL", [])) { _ in true }.status == "400")
        #expect(ZAPHandler.decide(request("PLAIN", [Array("u".utf8), Array("p".utf8)])) { _ in true }.status == "400")
        #expect(ZAPHandler.decide(request("CURVE", [[1, 2]])) { _ in true }.status == "400")
        #expect(ZAPHandler.decide([Array("2.0".utf8)]) { _ in true }.status == "500")
    }

    @Test("Z85 round trip with the RFC 32 test vector")
    func z85() {
        let bytes: [UInt8] = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]
        #expect(Z85.encode(bytes) == "HelloWorld")
        #expect(Z85.decode("HelloWorld") == bytes)
        #expect(Z85.decode("Hello") != nil)
        #expect(Z85.decode("abc") == nil)
    }
}
