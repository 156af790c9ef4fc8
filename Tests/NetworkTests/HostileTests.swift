import ChainCore
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import NodeKit
import Synchronization
import Testing
import TestSupport

/// A second, independent encoder of the peer protocol (docs/PROTOCOL.md §9), for hostile clients.
enum RawPeer {
    static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

    static func compact(_ n: Int) -> [UInt8] {
        n < 0xfd ? [UInt8(n)] : n <= 0xffff ? [0xfd] + le(UInt16(n)) : [0xfe] + le(UInt32(n))
    }

    static func version(magic: [UInt8] = ChainParams.regtest.magic, genesis: Hash256 = ChainParams.regtest.genesisHash,
                        listenPort: UInt16, nonce: UInt64 = .random(in: 1...UInt64.max)) -> [UInt8] {
        let agent = Array("/hostile-test:1/".utf8)
        return [0x01, 1] + le(UInt32(1)) + magic + genesis.bytes + le(UInt32(0)) + Hash256.zero.bytes
            + le(nonce) + le(listenPort) + compact(agent.count) + agent
    }

    static let verack: [UInt8] = [0x02, 1]

    static func inv(_ hashes: [Hash256], kind: UInt8 = 1) -> [UInt8] {
        [0x10, 1] + compact(hashes.count) + hashes.flatMap { [kind] + $0.bytes }
    }

    static func block(_ b: Block) -> [UInt8] { [0x15, 1] + b.encoded }
}

/// A raw WebSocket client that sends `script` after the handshake and records what the node sends back.
final class HostilePeer: Sendable {
    let received = Mutex<[[UInt8]]>([])
    let closedAt = Mutex<Date?>(nil)

    var rejectCodes: [String] {
        received.withLock { msgs in
            msgs.filter { $0.first == 0x03 }.compactMap { m -> String? in
                guard m.count > 3 else { return nil }
                let n = Int(m[2])
                return m.count >= 3 + n ? String(decoding: m[3..<3 + n], as: UTF8.self) : nil
            }
        }
    }

    /// Connects, sends `hello` (if any), waits for the node's verack when `handshake`, then sends `script`;
    /// returns when the node closes the connection (or after `linger` seconds).
    func run(_ url: String, hello: [UInt8]?, handshake: Bool, script: [WebSocketMessageKind], linger: Double = 20) async {
        var logger = Logger(label: "hostile")
        logger.logLevel = .critical
        do {
            try await WebSocketClient.connect(url: url + "/", configuration: .init(maxFrameSize: 4 << 20), logger: logger) { inbound, outbound, _ in
                if let hello { try await outbound.write(.binary(ByteBuffer(bytes: hello))) }
                // One task reads everything the node sends (it may close on us mid-script), telling the
                // writer when the node's verack arrived; whichever comes first of the node closing and
                // `linger` seconds ends the run (a node that neither answers nor closes cannot hang it).
                let (verack, verackSeen) = AsyncStream.makeStream(of: Void.self)
                let (ended, end) = AsyncStream.makeStream(of: Void.self)
                let reader = Task {
                    defer { verackSeen.finish(); end.yield() }
                    for try await m in inbound.messages(maxSize: 4 << 20) {
                        if case .binary(let b) = m {
                            let bytes = b.getBytes(at: b.readerIndex, length: b.readableBytes) ?? []
                            self.received.withLock { $0.append(bytes) }
                            if bytes.first == 0x02 { verackSeen.yield() }
                        }
                    }
                }
                let timer = Task {
                    try? await Task.sleep(for: .seconds(linger))
                    end.yield()
                }
                let writer = Task {
                    if handshake {
                        var it = verack.makeAsyncIterator()
                        guard await it.next() != nil else { return }
                        try await outbound.write(.binary(ByteBuffer(bytes: RawPeer.verack)))
                    }
                    for item in script {
                        switch item {
                        case .binary(let bytes): try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
                        case .text(let t): try await outbound.write(.text(t))
                        }
                    }
                }
                for await _ in ended { break }
                timer.cancel()
                writer.cancel()
                // Returning closes our side, which ends the reader and the writer if the node had not closed.
                _ = reader
            }
        } catch {
            // The node closing on us mid-write is one of the expected endings.
        }
        self.closedAt.withLock { $0 = Date() }
    }
}

/// Plain TCP connections to the peer port that never finish their HTTP request (the upgrade stage's bounds).
enum HalfOpen {
    static func connect(port: Int, send text: String) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { close(fd); return nil }
        _ = text.utf8CString.withUnsafeBufferPointer { Glibc.send(fd, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) }
        return fd
    }

    /// Whether the server closed it (end of stream or reset), without blocking.
    static func closedByServer(_ fd: Int32) -> Bool {
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buf, buf.count, Int32(MSG_DONTWAIT))
        if n == 0 { return true }
        if n < 0 { return errno != EAGAIN && errno != EWOULDBLOCK }
        return false
    }
}

/// A WebSocket client over a raw socket with a 4 KB receive buffer that never reads what the node sends
/// (so the node's writer ends up blocked), and writes binary messages (masked with a zero key).
final class DeafPeer {
    let fd: Int32

    init?(port: Int) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var small: Int32 = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { Glibc.close(fd); return nil }
        let request = "GET / HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        guard write(Array(request.utf8)) else { Glibc.close(fd); return nil }
    }

    /// Blocking write of everything (false when the node closed).
    func write(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    @discardableResult
    func send(_ message: [UInt8]) -> Bool {
        var frame: [UInt8] = [0x82]
        if message.count < 126 { frame.append(0x80 | UInt8(message.count)) }
        else if message.count <= 0xffff { frame += [0x80 | 126, UInt8(message.count >> 8), UInt8(message.count & 0xff)] }
        else { frame += [0x80 | 127] + (0..<8).reversed().map { UInt8((UInt64(message.count) >> (8 * UInt64($0))) & 0xff) } }
        return write(frame + [0, 0, 0, 0] + message)
    }

    func close() { Glibc.close(fd) }
}

enum WebSocketMessageKind: Sendable {
    case binary([UInt8])
    case text(String)
}

extension NetworkTests {
    @Test("hostile peers: wrong network, garbage, oversized, invalid block, announcement flood, text and early messages: each is dropped, scored and banned; the node keeps serving its honest peer and loses nothing")
    func hostilePeers() async throws {
        let w = TestWallet()
        let n = try await Node("N", miner: w, blockInterval: 1.0)
        let m = try await Node("M", miner: nil, peers: [n.peerURL])
        try await withLogs([n, m]) {
            try await waitUntil("M follows N to height 3", timeout: 180) {
                let h = try await n.hash(at: 3)
                let mh = try await m.hash(at: 3)
                return h != nil && mh == h
            }
            let honest = try await m.peers().peers.first { $0.handshaken }
            try #require(honest != nil)
            var port: UInt16 = 40_000

            func attack(_ name: String, hello: [UInt8]?, handshake: Bool, script: [WebSocketMessageKind],
                        expectReject: String, offence: String) async throws {
                port += 1
                let peer = HostilePeer()
                await peer.run(n.peerURL, hello: hello, handshake: handshake, script: script)
                #expect(peer.closedAt.withLock { $0 } != nil, "\(name): the node closed the connection")
                #expect(peer.rejectCodes.contains(expectReject), "\(name): got \(peer.rejectCodes)")
                let list = try await n.peers()
                #expect((list.offences[offence] ?? 0) >= 1, "\(name): offence \(offence) counted: \(list.offences)")
                try await waitUntil("\(name): the hostile peer is gone from N's peers", timeout: 60) {
                    try await !n.peers().peers.contains { $0.userAgent == "/hostile-test:1/" }
                }
            }

            // Wrong network: stated reason, banned.
            try await attack("wrong magic", hello: RawPeer.version(magic: ChainParams.main.magic, listenPort: port + 1), handshake: false,
                             script: [], expectReject: "wrong-network", offence: "wrong-network")
            let genesisAttacker = UInt64.random(in: 1...UInt64.max)
            try await attack("wrong genesis", hello: RawPeer.version(genesis: ChainParams.testnet.genesisHash, listenPort: port + 1, nonce: genesisAttacker),
                             handshake: false, script: [], expectReject: "wrong-genesis", offence: "wrong-genesis")
            // Garbage after a good handshake: unknown types, a truncated ping, a lying inventory count.
            try await attack("garbage", hello: RawPeer.version(listenPort: port + 1), handshake: true,
                             script: [.binary([0xee, 1, 1, 2, 3]), .binary([0x04, 1, 0, 0]), .binary([0x10, 1, 50, 1] + Hash256.zero.bytes),
                                      .binary([0x10, 1, 0xfd, 1, 0])],
                             expectReject: "misbehaving", offence: "malformed-message")
            // Oversized: a tx message over its 1,000,000-byte bound.
            try await attack("oversized", hello: RawPeer.version(listenPort: port + 1), handshake: true,
                             script: [.binary([0x16, 1] + [UInt8](repeating: 0, count: 1_200_000))],
                             expectReject: "misbehaving", offence: "oversized-message")
            // An invalid block on the node's tip: the coinbase pays more than allowed (valid proof of work).
            let tipHash = try #require(Hash256(hex: try await n.tipHash()))
            let tipInfo = try await n.rpc("chain", "getblock", BlockRef(hash: tipHash.hex), as: BlockInfo.self)
            let tip = try Block(bytes: Hex.decode(tipInfo.hex)!)
            // (A merkle root that does not match its transactions: refused before the block is stored.)
            var bad = ChainFixtures.next(after: tip.header, height: tipInfo.header.height + 1, paying: w)
            bad.header.merkleRoot = Hash256.sha256d([9, 9, 9])
            bad = ChainFixtures.remine(bad)
            try await attack("invalid block", hello: RawPeer.version(listenPort: port + 1), handshake: true,
                             script: [.binary(RawPeer.block(bad))], expectReject: "misbehaving", offence: "invalid-block")
            let badStatus = try await n.get("/api/block/\(bad.hash.hex)/status").1
            #expect(badStatus["in_best_chain"] as? Bool != true)
            // A flood of announcements: 12,000 random transaction ids at once.
            let flood = (0..<12).map { _ in WebSocketMessageKind.binary(RawPeer.inv((0..<1000).map { _ in Hash256.sha256d(Array(UUID().uuidString.utf8)) })) }
            try await attack("flood", hello: RawPeer.version(listenPort: port + 1), handshake: true, script: flood,
                             expectReject: "misbehaving", offence: "rate-limited")
            // A peer that never reads: the node's answers (33 KB `notfound`s) pile up until its writer blocks;
            // then it misbehaves, and the node lets go of it within seconds although its writer is stuck
            // and the peer keeps the socket open.
            let peerPort = Int(n.peerURL.split(separator: ":").last!)!
            let deaf = try #require(DeafPeer(port: peerPort))
            defer { deaf.close() }
            #expect(deaf.send(RawPeer.version(listenPort: 42_000)) && deaf.send(RawPeer.verack))
            try await waitUntil("the deaf peer is handshaken", timeout: 120) {
                try await n.peers().peers.contains { $0.userAgent == "/hostile-test:1/" && $0.handshaken }
            }
            let unknown = (0..<1000).flatMap { i in [UInt8(2)] + Hash256.sha256d(Array("deaf \(i)".utf8)).bytes }
            for _ in 0..<300 { deaf.send([0x11, 1, 0xfd, 0xe8, 0x03] + unknown) }   // getdata, 1,000 unknown blocks
            // Reading all 300 (each one chain-store round trip) does not by itself mean the writer is stuck: the
            // node's answers, 300 × 33 KB = 9.9 MB, are more than the kernel takes on loopback (a send buffer
            // of at most 4 MB, the peer's 4 KB receive buffer), so once all are queued, megabytes stay unwritten.
            var seen = "the deaf peer not listed"
            do {
                try await waitUntil("the node is stuck writing to the deaf peer", timeout: 180) {
                    guard let p = try await n.peers().peers.first(where: { $0.userAgent == "/hostile-test:1/" }) else {
                        seen = "the deaf peer not listed"
                        return false
                    }
                    seen = "messages in \(p.messagesIn), bytes out \(p.bytesOut), queued \(p.bytesQueued)"
                    // (the last getdata is read a moment before its answer is queued)
                    return p.messagesIn >= 302 && p.bytesOut >= 300 * 33_000 && p.bytesQueued >= 2_000_000
                }
            } catch {
                Issue.record("last seen of the deaf peer: \(seen)")
                throw error
            }
            let stuck = try #require(try await n.peers().peers.first { $0.userAgent == "/hostile-test:1/" })
            #expect(stuck.bytesOut >= 300 * 33_000 && stuck.bytesQueued >= 2_000_000,
                    "the node answered every getdata and holds what it cannot write: \(stuck.bytesOut) sent, \(stuck.bytesQueued) unwritten")
            deaf.send([0x04, 1, 0]); deaf.send([0x04, 1, 0])   // malformed twice: banned, closed
            try await waitUntil("the deaf peer is let go of while its socket is still open", timeout: 30) {
                try await !n.peers().peers.contains { $0.userAgent == "/hostile-test:1/" }
            }

            // Text frames and messages before the handshake.
            try await attack("text before version", hello: nil, handshake: false,
                             script: [.text("{\"type\":\"QUERY_LATEST\"}"), .binary([0x04, 1] + RawPeer.le(UInt64(1))), .binary([0x06, 1])],
                             expectReject: "misbehaving", offence: "text-frame")

            // The HTTP stage is bounded: 80 half-sent requests; over the 64 pending, closed at once;
            // the rest closed by the upgrade deadline (10 s); honest peering unaffected (checked below).
            let fds = (0..<80).compactMap { _ in HalfOpen.connect(port: peerPort, send: "GET / HTTP/1.1\r\nHost: x\r\nUpgra") }
            #expect(fds.count == 80)
            defer { for fd in fds { close(fd) } }
            try await waitUntil("connections over the pending cap are closed", timeout: 8) {
                fds.filter { HalfOpen.closedByServer($0) }.count >= 16
            }
            try await waitUntil("every half-sent request is closed by the upgrade deadline", timeout: 40) {
                fds.allSatisfy { HalfOpen.closedByServer($0) }
            }

            let list = try await n.peers()
            #expect(list.banned.count >= 7, "every attacker is banned: \(list.banned.map(\.address))")
            // A banned identity is refused at once when it comes back.
            let back = HostilePeer()
            await back.run(n.peerURL, hello: RawPeer.version(listenPort: 40_002), handshake: false, script: [], linger: 10)
            #expect(back.rejectCodes.contains("banned"), "\(back.rejectCodes)")
            // Coming back under another listen_port (and a new connection port) with the same node nonce: still banned.
            let moved = HostilePeer()
            await moved.run(n.peerURL, hello: RawPeer.version(listenPort: 41_234, nonce: genesisAttacker), handshake: false, script: [], linger: 10)
            #expect(moved.rejectCodes.contains("banned"), "another listen_port: \(moved.rejectCodes)")

            // The node kept serving: the honest peer is the same connection, still in step, nothing lost.
            let after = try await m.peers().peers.first { $0.handshaken }
            #expect(after?.id == honest?.id, "M's connection to N survived the attacks")
            let h0 = try await n.height()
            try await waitUntil("M follows N's next blocks", timeout: 180) {
                let h = try await n.hash(at: h0 + 2)
                let mh = try await m.hash(at: h0 + 2)
                return h != nil && mh == h
            }
            let check = try await n.rpc("chain", "verifyutxo", Empty(), as: UTXOCheck.self)
            #expect(check.ok)
            #expect(n.pids(of: "cairn-peerbridge").count == 1)
            #expect(!(try String(contentsOf: n.dir.appendingPathComponent("up.log"), encoding: .utf8)).contains("stopped unexpectedly"),
                    "no service of N crashed")
        }
    }
}
