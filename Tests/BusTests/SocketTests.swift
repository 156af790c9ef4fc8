import Foundation
import Testing
import TestSupport
@testable import Bus

@Suite("ZMQ wrapper")
struct SocketTests {
    @Test("multipart messages cross every transport", arguments: Transport.allCases)
    func multipartDelivery(transport: Transport) async throws {
        let context = try ZMQContext()
        let endpoint = transport.endpoint()
        let frames: [[UInt8]] = [Array("head".utf8), [], [UInt8](repeating: 7, count: 100_000), [0, 255]]
        let received = try await onOwnThread { () throws -> [[[UInt8]]] in
            let pull = try ZMQSocket(context: context, type: .pull)
            try pull.setReceiveTimeout(milliseconds: 20_000)
            try pull.bind(endpoint)
            let push = try ZMQSocket(context: context, type: .push)
            try push.connect(pull.lastEndpoint!)
            #expect(try push.send(frames))
            #expect(try push.send([[42]]))
            let first = try #require(try pull.receive())
            let second = try #require(try pull.receive())
            #expect(try pull.receive(dontWait: true) == nil)
            return [first, second]
        }
        #expect(received == [frames, [[42]]])
        await context.terminate()
    }

    @Test("DEALER/ROUTER routing ids, poll over a socket and an eventfd")
    func routerDealerAndPoll() async throws {
        let context = try ZMQContext()
        try await onOwnThread {
            let router = try ZMQSocket(context: context, type: .router)
            try router.setRouterMandatory(true)
            try router.bind("tcp://127.0.0.1:*")
            let endpoint = try #require(router.lastEndpoint)
            #expect(endpoint.hasPrefix("tcp://127.0.0.1:") && !endpoint.hasSuffix(":*"))
            let dealer = try ZMQSocket(context: context, type: .dealer)
            try dealer.setRoutingID(Array("me".utf8))
            try dealer.setTCPKeepalive(enabled: true, idle: 30, interval: 5, count: 3)
            try dealer.setSendHighWaterMark(10)
            try dealer.setReceiveHighWaterMark(10)
            try dealer.setImmediate(false)
            try dealer.connect(endpoint)
            try dealer.send([Array("ping".utf8)])

            let mailbox = try Mailbox<Int>()
            mailbox.post(5)
            var items = [ZMQPollItem(router, .readable), ZMQPollItem(fd: mailbox.fd, .readable)]
            var seenSocket = false, seenFD = false
            while !(seenSocket && seenFD) {
                try ZMQPoller.poll(&items, timeoutMilliseconds: 20_000)
                if items[1].returned.contains(.readable) { #expect(mailbox.drain() == [5]); seenFD = true }
                if items[0].returned.contains(.readable) {
                    let message = try #require(try router.receive(dontWait: true))
                    #expect(message == [Array("me".utf8), Array("ping".utf8)])
                    seenSocket = true
                }
            }
            try router.send([Array("me".utf8), Array("pong".utf8)])
            try dealer.setReceiveTimeout(milliseconds: 20_000)
            #expect(try dealer.receive() == [Array("pong".utf8)])
            // ROUTER_MANDATORY: an unknown peer is an error, not a silent drop.
            #expect(throws: ZMQError(code: EHOSTUNREACH)) { try router.send([Array("nobody".utf8), [1]]) }
            _ = mailbox.close()
        }
        await context.terminate()
    }

    @Test("errors carry errno and zmq_strerror; closed sockets and bad endpoints throw")
    func errors() async throws {
        let context = try ZMQContext()
        try await onOwnThread {
            let socket = try ZMQSocket(context: context, type: .pub)
            do {
                try socket.bind("nonsense://here")
                Issue.record("bind should fail")
            } catch let error as ZMQError {
                #expect(error.code == EPROTONOSUPPORT)
                #expect(!error.message.isEmpty)
            }
            socket.close()
            #expect(throws: ZMQError.self) { try socket.connect("inproc://x") }
        }
        await context.terminate()
        // After termination new sockets fail with ETERM.
        #expect(throws: ZMQError(code: ZMQError.terminatedCode)) { try ZMQSocket(context: context, type: .pair) }
    }

    @Test("shutdown wakes a blocked receive with ETERM and terminate returns")
    func shutdownWakesBlockedCalls() async throws {
        try await withHangGuard(seconds: 180) {
            let context = try ZMQContext()
            let started = OneShot<Void>()
            async let blocked: ZMQError? = onOwnThread { () throws -> ZMQError? in
                let pull = try ZMQSocket(context: context, type: .pull)
                try pull.bind("inproc://blocked")
                started.set(())
                do {
                    _ = try pull.receive()
                    return nil
                } catch let error as ZMQError {
                    return error
                }
            }
            await started.value()
            context.shutdown()
            #expect(try await blocked == ZMQError(code: ZMQError.terminatedCode))
            await context.terminate()
        }
    }

    @Test("CURVE: an encrypted pair works; a client with the wrong server key gets nothing")
    func curvePair() async throws {
        let context = try ZMQContext()
        let server = try CurveKeyPair.generate()
        let client = try CurveKeyPair.generate()
        let impostor = try CurveKeyPair.generate()
        #expect(server.publicKey.count == 40 && server.secretKey.count == 40)
        try await onOwnThread {
            let pull = try ZMQSocket(context: context, type: .pair)
            try pull.setCurve(.server(server))
            try pull.bind("tcp://127.0.0.1:*")
            let endpoint = try #require(pull.lastEndpoint)

            let good = try ZMQSocket(context: context, type: .pair)
            try good.setCurve(.client(client, serverPublicKey: server.publicKey))
            try good.connect(endpoint)
            try good.send([Array("secret".utf8), [1, 2]])
            try pull.setReceiveTimeout(milliseconds: 20_000)
            #expect(try pull.receive() == [Array("secret".utf8), [1, 2]])
            try pull.send([Array("back".utf8)])
            try good.setReceiveTimeout(milliseconds: 20_000)
            #expect(try good.receive() == [Array("back".utf8)])
        }
        try await onOwnThread {
            let pull = try ZMQSocket(context: context, type: .pull)
            try pull.setCurve(.server(server))
            try pull.bind("tcp://127.0.0.1:*")
            let bad = try ZMQSocket(context: context, type: .push)
            try bad.setCurve(.client(client, serverPublicKey: impostor.publicKey))
            try bad.connect(pull.lastEndpoint!)
            _ = try bad.send([Array("leak".utf8)], dontWait: true)
            // The handshake fails, so nothing can ever arrive; the wait is not a timing assertion.
            try pull.setReceiveTimeout(milliseconds: 500)
            #expect(try pull.receive() == nil)
        }
        await context.terminate()
    }

    @Test("sync message body round-trips and rejects malformed input")
    func syncCodec() {
        let snapshot = SyncSnapshot(instance: BusFraming.randomBytes(16), next: ["hashblock": 7, "rawtx": 0, "é": 4_000_000_000])
        #expect(SyncSnapshot(decoding: snapshot.encoded()) == snapshot)
        var truncated = snapshot.encoded()
        truncated.removeLast()
        #expect(SyncSnapshot(decoding: truncated) == nil)
        #expect(SyncSnapshot(decoding: []) == nil)
        #expect(SyncSnapshot(decoding: snapshot.encoded() + [0]) == nil)
        #expect(BusFraming.le32(0x0403_0201) == [1, 2, 3, 4])
        #expect(BusFraming.readLE32([1, 2, 3, 4]) == 0x0403_0201)
        #expect(!BusFraming.isSyncTopic(Array("hashblock".utf8)))
    }
}
