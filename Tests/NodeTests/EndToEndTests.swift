import ChainCore
import Foundation
import NodeKit
import Testing
import TestSupport

/// The single-node flow through real processes over real sockets.
@Suite(.serialized) struct EndToEnd {
    static let password = ["CAIRN_WALLET_PASSWORD": "correct horse battery staple"]

    static func newWallet(_ path: String) async throws -> String {
        let (status, out) = try await runProgram(Build.url("cairn"),
                                                ["wallet", "new", "--keystore", path, "--network", "regtest"], env: password)
        #expect(status == 0, "cairn wallet new: \(out)")
        guard let address = out.split(whereSeparator: \.isWhitespace).map(String.init).first(where: { $0.hasPrefix("rcrn1") }) else {
            throw TimedOut(what: "an address in: \(out)")
        }
        return address
    }

    static func txid(in text: String) -> String? {
        text.split(whereSeparator: { !$0.isHexDigit }).map(String.init).first { $0.count == 64 }
    }

    /// A second node on a taken port offset: its cairn up refuses and the harness says so at once,
    /// instead of going on with the first node's answers (the fee-bump browser test once did).
    @Test func aNodeWhoseCairnUpExitsIsNotReady() async throws {
        let first = try await Stack(extra: ["--no-miner"])
        defer { first.stop() }
        // A timeout would throw TimedOut: CairnUpExited says the exit was noticed.
        await #expect(throws: TestNode.CairnUpExited.self) {
            let second = try await TestNode(name: "second", offset: first.offset, folderPrefix: "cairn-node-second",
                                            arguments: ["--no-miner"], what: "the second node answers", timeout: 60) { try await $0.healthy() }
            second.stop()
        }
    }

    @Test func mineSendConfirmTraceAndAttachASecondMiner() async throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-wallets-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let alice = try await Self.newWallet(tmp.appendingPathComponent("alice.json").path)
        let bob = try await Self.newWallet(tmp.appendingPathComponent("bob.json").path)
        let stack = try await Stack(minerAddress: alice, blockInterval: 1.0)
        defer { stack.stop() }
        let wallet = { (name: String, args: [String]) in
            try await stack.cairn(["wallet"] + args + ["--keystore", tmp.appendingPathComponent("\(name).json").path, "--edge", stack.edge], env: Self.password)
        }

        // Mined coins mature after 10 blocks on regtest.
        try await waitUntil("coinbases mature", timeout: 120) { try await stack.height() >= ChainParams.regtest.coinbaseMaturity + 2 }
        let (_, before) = try await wallet("alice", ["balance"])
        #expect(before.contains("."), "balance: \(before)")

        // Send 1.5 CRN through the HTTP edge.
        let (sent, out) = try await wallet("alice", ["send", "--to", bob, "--amount", "1.5"])
        #expect(sent == 0, "send: \(out)\n\(stack.log)")
        let txid = try #require(Self.txid(in: out), "no txid in: \(out)")
        let (found, _) = try await stack.get("/api/tx/\(txid)")
        #expect(found == 200)

        // Confirmed, with its path through the services.
        try await waitUntil("the transaction confirms", timeout: 60) {
            let (_, status) = try await stack.get("/api/tx/\(txid)/status")
            return status["confirmed"] as? Bool == true
        }
        let (_, trace) = try await stack.get("/api/tx/\(txid)/trace")
        let events = (trace["events"] as? [[String: Any]]) ?? []
        let steps = events.compactMap { e -> String? in
            guard let stage = e["stage"] as? String, let service = e["service"] as? String else { return nil }
            return "\(service):\(stage)"
        }
        for step in ["edge:received", "mempool:accepted", "mempool:template", "chainstore:connected"] {
            #expect(steps.contains(step), "trace \(steps)")
        }
        let times = events.compactMap { $0["time"] as? Double }
        #expect(times == times.sorted(), "trace in time order")
        #expect(events.contains { ($0["detail"] as? String ?? "").contains("miner:") }, "the trace names the miner")

        try await waitUntil("bob sees 1.5 CRN", timeout: 30) {
            let (_, text) = try await wallet("bob", ["balance"])
            return text.contains("1.50000000")
        }
        let (_, history) = try await wallet("bob", ["history"])
        #expect(history.contains(txid))

        // A second miner attaches with one command and no change to the running services.
        let second = try await ProcessRunner(Build.path("cairn"), ["miner", "--address", bob, "--edge", stack.edge, "--threads", "1", "--block-interval", "0.5"])
        defer { second.signal(SIGTERM) }
        try await waitUntil("a coinbase pays the second miner", timeout: 60) {
            let txs = try await stack.getArray("/api/address/\(bob)/txs")
            return txs.contains { tx in
                ((tx["vin"] as? [[String: Any]]) ?? []).contains { $0["is_coinbase"] as? Bool == true }
            }
        }
        let (_, aliceStats) = try await stack.get("/api/address/\(alice)")
        let chainStats = aliceStats["chain_stats"] as? [String: Any] ?? [:]
        #expect((chainStats["funded_txo_count"] as? Int ?? 0) > 0, "the first miner's coinbases are there too")
        let (_, miners, _) = try await stack.fetch("/api/miners")
        #expect(miners.contains(bob) && miners.contains(alice), "miners: \(miners)")
        second.signal(SIGTERM)
    }

    @Test func aPyzmqSubscriberGetsHashblockWithBitcoinCoreFraming() async throws {
        let stack = try await Stack(blockInterval: 0.3)
        defer { stack.stop() }
        let script = """
            import json, sys, zmq
            s = zmq.Context().socket(zmq.SUB)
            s.setsockopt(zmq.RCVTIMEO, 30000)
            s.connect(sys.argv[1]); s.subscribe(b"hashblock")
            frames = s.recv_multipart()
            print(json.dumps({"n": len(frames), "topic": frames[0].decode(), "hash": frames[1].hex(), "seq": int.from_bytes(frames[2], "little"), "seqlen": len(frames[2])}))
            """
        let (status, out) = try await runProgram(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script, stack.zmqPub])
        #expect(status == 0, "pyzmq subscriber: \(out)")
        let line = try #require(out.split(separator: "\n").last.map(String.init))
        let msg = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(msg["n"] as? Int == 3)
        #expect(msg["topic"] as? String == "hashblock")
        #expect(msg["seqlen"] as? Int == 4)
        let hash = try #require(msg["hash"] as? String)
        // the body is the hash as explorers show it
        let (found, block) = try await stack.get("/api/block/\(hash)")
        #expect(found == 200 && block["id"] as? String == hash)
    }

    @Test func everyRouteAnswersBadInputWithAJSONClientError() async throws {
        let stack = try await Stack(blockInterval: 1.0)
        defer { stack.stop() }
        let good = TestWallet().address().string
        var chars = Array(good)
        chars[12] = chars[12] == "q" ? "p" : "q"
        let badChecksum = String(chars)
        let mainAddress = TestWallet().address(.main).string
        let zero = String(repeating: "0", count: 64)
        let cases: [(String, String, String?, Int)] = [
            ("GET", "/api/tx/nothex", nil, 400),
            ("GET", "/api/tx/\(zero)", nil, 404),
            ("GET", "/api/tx/\(zero)/status", nil, 404),
            ("GET", "/api/tx/\(zero)/hex", nil, 404),
            ("GET", "/api/block/xyz", nil, 400),
            ("GET", "/api/block/\(zero)", nil, 404),
            ("GET", "/api/block/\(zero)/txs", nil, 404),
            ("GET", "/api/block-height/99999999", nil, 404),
            ("GET", "/api/block-height/-1", nil, 400),
            ("GET", "/api/blocks/notanumber", nil, 400),
            ("GET", "/api/address/\(badChecksum)", nil, 400),
            ("GET", "/api/address/\(badChecksum)/utxo", nil, 400),
            ("GET", "/api/address/\(badChecksum)/txs", nil, 400),
            ("GET", "/api/address/\(mainAddress)", nil, 400),
            ("GET", "/api/address/garbage", nil, 400),
            ("POST", "/api/tx", "not hex at all", 400),
            ("POST", "/api/tx", "00", 400),
            ("POST", "/api/tx", "", 400),
            ("POST", "/api/tx", String(repeating: "ab", count: 2_000_000), 413),
            ("GET", "/api/no/such/route", nil, 404),
        ]
        var codes = Set<String>()
        for (method, path, body, expected) in cases {
            let (status, text, headers) = try await stack.fetch(path, method: method, body: body)
            #expect(status == expected, "\(method) \(path.prefix(80)) → \(status) \(text.prefix(200))")
            #expect(headers["content-type"]?.contains("json") == true, "\(path.prefix(80)) content type")
            let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
            let error = json?["error"] as? [String: Any]
            #expect(error?["code"] is String && error?["message"] is String, "\(path.prefix(80)): \(text.prefix(200))")
            if let c = error?["code"] as? String { codes.insert(c) }
        }
        #expect(codes.contains("address-bad-checksum") && codes.contains("address-wrong-network"), "\(codes)")
        // and the node is still fine
        #expect(try await stack.healthy())
    }
}
