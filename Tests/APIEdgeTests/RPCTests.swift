@testable import APIEdge
import Bus
import ChainCore
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import NodeKit
import ServiceLifecycleTestKit
import Synchronization
import Testing
import TestSupport

/// Fakes that the shared Stack lacks: a peer bridge, and mempool answers for the JSON-RPC paths
/// (testtx, getblocktemplate, refusals with each of bitcoind's codes), delegating the rest to FakeMempool.
final class RPCFakes: Sendable {
    let context: ZMQContext
    let bridge: RequestServer
    let mempool: RequestServer
    let chain: RequestServer
    let deadEndpoint: String
    let state: FakeState
    /// A transaction whose output is dust (the fake refuses it as the mempool would: -26).
    let dusty: Transaction
    var bridgeEndpoint: String { bridge.endpoints[0] }
    var mempoolEndpoint: String { mempool.endpoints[0] }

    init(fixture f: ChainFixture) async throws {
        context = try ZMQContext()
        // Where nothing answers, ever: a freed TCP port could be bound again by the next fake (it was:
        // the accounts fake answered "no method getpeers" for a bridge that should be missing).
        deadEndpoint = "ipc://" + FileManager.default.temporaryDirectory.appendingPathComponent("cairn-nobody-\(UUID().uuidString.prefix(8))").path
        let state = FakeState()
        self.state = state
        let bridgeRouter = RPCRouter([
            "getpeers": RPCRouter.method(Empty.self) { _ in
                PeerList(listen: "ws://127.0.0.1:18342", peers: [], banned: [], known: [], offences: [:])
            },
            "getsync": RPCRouter.method(Empty.self) { _ in
                SyncStatus(state: "idle", height: f.height, tipHash: f.tip.hash.hex, bestPeerHeight: f.height, headersKnown: f.height,
                           blocksQueued: 0, blocksInFlight: 0, orphans: 0, blocksReceived: 0, blocksAccepted: 0, txsReceived: 0,
                           txsAccepted: 0, progress: 1)
            },
            "addpeer": RPCRouter.method(AddPeer.self) { p in
                if p.url.contains("banned") { throw RPCError("banned", "that address is banned") }
                state.addedPeers.withLock { $0.append(p.url) }
                return Empty()
            },
            "setnetworkactive": RPCRouter.method(NetworkActive.self) { p in
                state.networkActive.withLock { $0 = p.active }
                return p
            },
        ])
        bridge = try await RequestServer(context: context, bind: ["tcp://127.0.0.1:*"]) { await bridgeRouter.handle($0) }

        let base = FakeMempool.router(f, submitted: Submissions())
        let subsidy = ChainParams.regtest.subsidy(height: 3)
        let cb3 = f.blocks[3].transactions[0]
        dusty = f.alice.spend([(OutPoint(txid: cb3.txid, index: 0), cb3.outputs[0])],
                              to: [TxOutput(value: 10, publicKey: f.bob.publicKey), TxOutput(value: subsidy - 20_000, publicKey: f.alice.publicKey)])
        let pendingHex = Hex.encode(f.pending.encoded), orphanHex = Hex.encode(f.orphan.encoded)
        let dustyHex = Hex.encode(dusty.encoded), confirmedHex = Hex.encode(f.payment.encoded)
        @Sendable func check(_ p: SubmitTx) throws -> SubmitTxResult {
            switch p.hex {
            case orphanHex: throw RPCError("bad-txns-inputs-missingorspent", "input 0 spends a missing or spent output")
            case dustyHex: throw RPCError("dust", "output 0 pays 10 units, below the dust limit 1000")
            case confirmedHex: throw RPCError("txn-already-known", "already in the chain")
            case pendingHex: throw RPCError("txn-already-in-mempool", "already in the mempool")
            default: break
            }
            guard let raw = Hex.decode(p.hex), let tx = try? Transaction(bytes: raw) else { throw RPCError("bad-encoding", "not a transaction") }
            state.maxFees.withLock { $0.append(p.maxFee) }
            // (every other transaction pays 1,000 units; the mempool checks the submitter's limit last)
            if let maxFee = p.maxFee, maxFee < 1_000 {
                throw RPCError("max-fee-exceeded", "fee 1000 units for \(raw.count) bytes is above the \(maxFee) units allowed")
            }
            return SubmitTxResult(txid: tx.txid.hex, fee: 1_000, size: raw.count)
        }
        @Sendable func template() -> BlockTemplate {
            BlockTemplate(height: f.height + 1, previousHash: f.tip.hash.hex, bits: ChainParams.regtest.powLimitBits, time: f.tip.header.time + 60,
                          minTime: f.tip.header.time + 1, coinbaseValue: ChainParams.regtest.subsidy(height: f.height + 1) + f.pendingFee,
                          fees: f.pendingFee, transactions: [pendingHex], txids: [f.pending.txid.hex],
                          mempoolSequence: state.templateSequence.withLock { $0 })
        }
        let rendered = RPCRouter.binaryMethod { _ async throws(RPCError) -> [UInt8] in
            do { return try TemplateRPC.payload(template()) } catch { throw RPCError("internal", "\(error)") }
        }
        let extra = RPCRouter([
            "submittx": RPCRouter.method(SubmitTx.self) { try check($0) },
            "submittxs": RPCRouter.submitBatch { try check($0) },
            "testtx": RPCRouter.method(SubmitTx.self) { try check($0) },
            "getblocktemplate": RPCRouter.method(TemplateRequest.self) { _ in template() },
            // The pre-rendered result, unless the fake plays an older mempool without it.
            TemplateRPC.method: { request async throws(RPCError) -> [UInt8] in
                guard !state.olderMempool.withLock({ $0 }) else { throw RPCError("unknown-method", "no method \(TemplateRPC.method)") }
                return try await rendered(request)
            },
        ])
        // The chain store's getcoins and submitblock, which the shared fake lacks.
        var utxos = [OutPoint: CoinInfo]()
        for (height, block) in f.blocks.enumerated() where height > 0 {
            for (pos, tx) in block.transactions.enumerated() {
                for input in tx.inputs where !input.previousOutput.isNull { utxos[input.previousOutput] = nil }
                for (i, o) in tx.outputs.enumerated() {
                    utxos[OutPoint(txid: tx.txid, index: UInt32(i))] = CoinInfo(txid: tx.txid.hex, index: UInt32(i), value: o.value,
                                                                                publicKey: Hex.encode(o.publicKey), height: height, coinbase: pos == 0)
                }
            }
        }
        let coins = utxos
        let chainBase = FakeChainStore.router(f)
        let chainExtra = RPCRouter([
            "getcoins": RPCRouter.method(OutpointList.self) { list in
                list.outpoints.map { text -> CoinInfo? in
                    let parts = text.split(separator: ":")
                    guard parts.count == 2, let h = Hash256(hex: String(parts[0])), let n = UInt32(parts[1]) else { return nil }
                    return coins[OutPoint(txid: h, index: n)]
                }
            },
            "submitblock": RPCRouter.method(SubmitBlock.self) { p in
                guard let raw = Hex.decode(p.hex), let block = try? Block(bytes: raw) else { throw RPCError("bad-encoding", "not a block") }
                if f.blocks.contains(block) { return SubmitBlockResult(hash: block.hash.hex, accepted: false, reason: "duplicate", isTip: false) }
                return SubmitBlockResult(hash: block.hash.hex, accepted: true, height: f.height + 1, isTip: true)
            },
        ])
        chain = try await RequestServer(context: context, bind: ["tcp://127.0.0.1:*"]) { bytes in
            let name = (try? JSONDecoder().decode(MethodName.self, from: Data(bytes)))?.method ?? ""
            return ["getcoins", "submitblock"].contains(name) ? await chainExtra.handle(bytes) : await chainBase.handle(bytes)
        }
        let own: Set<String> = ["submittx", "testtx", "getblocktemplate"]
        mempool = try await RequestServer(context: context, bind: ["tcp://127.0.0.1:*"]) { bytes in
            // (a binary request is the edge's `submittxs`: these fakes' own too)
            let name = (try? JSONDecoder().decode(MethodName.self, from: Data(bytes)))?.method ?? ""
            return own.contains(name) || bytes.first == BinaryRPC.marker ? await extra.handle(bytes) : await base.handle(bytes)
        }
    }

    struct MethodName: Decodable { var method: String }

    func stop() async {
        await bridge.stop()
        await mempool.stop()
        await chain.stop()
        await context.terminate()
    }

    /// A Stack whose edge reaches these fakes (bridge: a working one, or none).
    func with<T: Sendable>(bridge: Bool = true, configure: @escaping (inout EdgeConfig) -> Void = { _ in },
                           _ body: @Sendable (Stack) async throws -> T) async throws -> T {
        let bridgeAt = bridge ? bridgeEndpoint : deadEndpoint, pool = mempoolEndpoint, chainAt = chain.endpoints[0]
        return try await Stack.with(configure: { c in
            c.peerRPC = bridgeAt
            c.peerPub = bridgeAt
            // A working fake bridge gets patience to spare on a loaded machine (its -31 here would
            // be a timeout, not the test's point); a dead one keeps the edge's short default.
            if bridge { c.peerTimeout = .seconds(10) }
            c.endpoints.mempoolRPC = pool
            c.endpoints.chainRPC = chainAt
            configure(&c)
        }, body)
    }
}

/// What the fakes record, and a slot for an answer awaited across tasks.
final class FakeState: Sendable {
    let templateSequence = Mutex<UInt64>(7)
    /// The fake mempool answers getblocktemplaterpc "unknown-method", as one older than it.
    let olderMempool = Mutex(false)
    let networkActive = Mutex(true)
    let addedPeers = Mutex<[String]>([])
    let answer = Mutex<String?>(nil)
    /// The `maxFee` of each submission the fake mempool was given, in order.
    let maxFees = Mutex<[UInt64?]>([])
}

/// Posts JSON-RPC bodies to the edge's test client.
struct RPCClientHelper: Sendable {
    let client: any TestClientProtocol

    func post(_ body: String, auth: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let auth { headers[.authorization] = auth }
        return try await client.execute(uri: "/rpc", method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    /// A JSON-RPC 2.0 call; returns the reply object (HTTP 200 checked).
    func call(_ method: String, _ params: String = "[]", auth: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        let r = try await post(#"{"jsonrpc":"2.0","id":7,"method":"\#(method)","params":\#(params)}"#, auth: auth)
        #expect(r.status == .ok, "body: \(r.text)", sourceLocation: sourceLocation)
        #expect(r.headers[.contentType]?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
        return r.object
    }

    func result(_ method: String, _ params: String = "[]", auth: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Any? {
        let o = try await call(method, params, auth: auth, sourceLocation: sourceLocation)
        #expect(o["error"] == nil, "error: \(String(describing: o["error"]))", sourceLocation: sourceLocation)
        return o["result"]
    }

    /// The error code of a JSON-RPC 2.0 call (nil if it succeeded).
    func code(_ method: String, _ params: String = "[]", auth: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Int? {
        let o = try await call(method, params, auth: auth, sourceLocation: sourceLocation)
        #expect(o["jsonrpc"] as? String == "2.0", sourceLocation: sourceLocation)
        #expect(o["id"] as? Int == 7, sourceLocation: sourceLocation)
        let e = o["error"] as? [String: Any]
        #expect(e?["message"] is String, "body: \(o)", sourceLocation: sourceLocation)
        return e?["code"] as? Int
    }
}

func basic(_ user: String, _ password: String) -> String { "Basic " + Data("\(user):\(password)".utf8).base64EncodedString() }

@Suite("JSON-RPC on the edge")
struct RPCTests {
    @Test func jsonWriting() throws {
        let value: RPCValue = ["s": "quote \" backslash \\ newline \n tab \t bell \u{07} é 😀", "a": .amount(1), "b": .amount(2_100_000_000_000_000),
                               "d": 0.5, "i": -3, "n": .null, "t": true, "list": [1, "x", [:]]]
        let bytes = value.encoded()
        #expect(try RPCValue.decode(Data(bytes)) == ["s": "quote \" backslash \\ newline \n tab \t bell \u{07} é 😀", "a": 0.00000001,
                                                     "b": .double(21_000_000), "d": 0.5, "i": -3, "n": .null, "t": true, "list": [1, "x", [:]]])
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains(#""a":0.00000001"#) && text.contains(#""b":21000000.00000000"#) && text.contains(#"\u0007"#))
        #expect(text.hasPrefix(#"{"a":"#))
    }

    /// One set of fakes for the suite's tests (they only read it, except the counters they set).
    static func withFakes<T: Sendable>(_ body: @Sendable (RPCFakes) async throws -> T) async throws -> T {
        let f = try await RPCFakes(fixture: Stack.shared)
        do {
            let r = try await body(f)
            await f.stop()
            return r
        } catch {
            await f.stop()
            throw error
        }
    }

    @Test func shapesOfBothVersions() async throws {
        try await Self.withFakes { fakes in
            try await fakes.with { s in
                try await s.http { c in
                    let rpc = RPCClientHelper(client: c)
                    let v2 = try await rpc.post(#"{"jsonrpc":"2.0","id":"a","method":"getblockcount","params":[]}"#)
                    #expect(v2.status == .ok)
                    #expect(Set(v2.object.keys) == ["jsonrpc", "result", "id"])
                    #expect(v2.object["result"] as? Int == 4)
                    #expect(v2.object["id"] as? String == "a")
                    // bitcoind clients' 1.0 shape: no "jsonrpc"; answered with result, error and id.
                    let v1 = try await rpc.post(#"{"method":"getblockcount","params":[],"id":1}"#)
                    #expect(v1.status == .ok)
                    #expect(Set(v1.object.keys) == ["result", "error", "id"])
                    #expect(v1.object["error"] is NSNull)
                    #expect(v1.object["result"] as? Int == 4)
                    let v1explicit = try await rpc.post(#"{"jsonrpc":"1.0","method":"getbestblockhash","id":null}"#)
                    #expect(v1explicit.object["result"] as? String == s.fixture.tip.hash.hex)
                    #expect(v1explicit.object["id"] is NSNull)
                    // A 1.0 error keeps bitcoind's statuses: 404 for an unknown method, 500 for an application error.
                    let missing = try await rpc.post(#"{"method":"nosuchmethod","params":[],"id":2}"#)
                    #expect(missing.status == .notFound)
                    #expect((missing.object["error"] as? [String: Any])?["code"] as? Int == -32601)
                    #expect(missing.object["result"] is NSNull)
                    let notFound = try await rpc.post(#"{"method":"getblockheader","params":["\#(String(repeating: "ab", count: 32))"],"id":3}"#)
                    #expect(notFound.status == .internalServerError)
                    #expect((notFound.object["error"] as? [String: Any])?["code"] as? Int == -5)
                    let badParam = try await rpc.post(#"{"method":"getblockhash","params":[99],"id":4}"#)
                    #expect(badParam.status == .badRequest)
                    #expect((badParam.object["error"] as? [String: Any])?["code"] as? Int == -8)
                    // The same errors in 2.0 are HTTP 200.
                    #expect(try await rpc.code("nosuchmethod") == -32601)
                }
            }
        }
    }

    @Test func everyErrorCode() async throws {
        try await Self.withFakes { fakes in
            try await fakes.with { s in
                let f = s.fixture
                try await s.http { c in
                    let rpc = RPCClientHelper(client: c)
                    // -32700: not JSON (bitcoind's shape, id null); 400 rather than bitcoind's 500: the client's mistake.
                    let parse = try await rpc.post("{not json")
                    #expect(parse.status == .badRequest)
                    #expect((parse.object["error"] as? [String: Any])?["code"] as? Int == -32700)
                    #expect(parse.object["id"] is NSNull)
                    let scalar = try await rpc.post("42")
                    #expect((scalar.object["error"] as? [String: Any])?["code"] as? Int == -32700)
                    // -32600: a wrong version, no method, a method that is not a string, params that are neither array nor object.
                    for body in [#"{"jsonrpc":"3.0","id":1,"method":"getblockcount"}"#, #"{"jsonrpc":2,"id":1,"method":"getblockcount"}"#,
                                 #"{"jsonrpc":"2.0","id":1}"#, #"{"jsonrpc":"2.0","id":1,"method":5}"#,
                                 #"{"jsonrpc":"2.0","id":1,"method":"getblockhash","params":3}"#] {
                        let r = try await rpc.post(body)
                        #expect((r.object["error"] as? [String: Any])?["code"] as? Int == -32600, "\(body): \(r.text)")
                        #expect(r.object["id"] as? Int == 1, "\(body): \(r.text)")
                    }
                    // -32601
                    #expect(try await rpc.code("getwalletinfo") == -32601)
                    // -32602: a required param missing, too many params.
                    #expect(try await rpc.code("getblockhash") == -32602)
                    #expect(try await rpc.code("getblockcount", "[1]") == -32602)
                    // -3: a param of the wrong JSON type.
                    #expect(try await rpc.code("getblockhash", #"["2"]"#) == -3)
                    #expect(try await rpc.code("getblock", #"["\#(f.tip.hash.hex)", "two"]"#) == -3)
                    // -8: invalid values, unknown named params.
                    #expect(try await rpc.code("getblockhash", "[99]") == -8)
                    #expect(try await rpc.code("getblockhash", "[-1]") == -8)
                    #expect(try await rpc.code("getblockheader", #"["abc"]"#) == -8)
                    #expect(try await rpc.code("getblockheader", #"["\#(String(repeating: "zz", count: 32))"]"#) == -8)
                    #expect(try await rpc.code("getblockhash", #"{"heigth": 2}"#) == -8)
                    #expect(try await rpc.code("getblock", #"["\#(f.tip.hash.hex)", 7]"#) == -8)
                    #expect(try await rpc.code("estimatesmartfee", "[0]") == -8)
                    #expect(try await rpc.code("getrawmempool", "[true, true]") == -8)
                    #expect(try await rpc.code("testmempoolaccept", "[[]]") == -8)
                    // -5: unknown block, transaction, mempool entry.
                    let nobody = String(repeating: "ab", count: 32)
                    #expect(try await rpc.code("getblockheader", #"["\#(nobody)"]"#) == -5)
                    #expect(try await rpc.code("getblock", #"["\#(nobody)"]"#) == -5)
                    #expect(try await rpc.code("getrawtransaction", #"["\#(nobody)"]"#) == -5)
                    #expect(try await rpc.code("getmempoolentry", #"["\#(nobody)"]"#) == -5)
                    // -22: undecodable transaction.
                    #expect(try await rpc.code("sendrawtransaction", #"["zz"]"#) == -22)
                    #expect(try await rpc.code("sendrawtransaction", #"["00"]"#) == -22)
                    // -25: missing inputs; -26: a policy rule; -27: already in the chain.
                    #expect(try await rpc.code("sendrawtransaction", #"["\#(Hex.encode(f.orphan.encoded))"]"#) == -25)
                    #expect(try await rpc.code("sendrawtransaction", #"["\#(Hex.encode(fakes.dusty.encoded))", 0]"#) == -26)
                    #expect(try await rpc.code("sendrawtransaction", #"["\#(Hex.encode(f.payment.encoded))", 0]"#) == -27)
                    // Already in the mempool is no error, as bitcoind's: the txid, on /rpc and on POST /api/tx.
                    let again = try await c.execute(uri: "/api/tx", method: .post, body: ByteBuffer(string: Hex.encode(f.pending.encoded)))
                    #expect(again.status == .ok && String(buffer: again.body) == f.pending.txid.hex, "\(again.status) \(String(buffer: again.body))")
                    // -31: no peer bridge (below); -32603: a service that does not know a method is an internal error.
                }
            }
        }
    }

    @Test func unreachableServicesAndPeers() async throws {
        try await Self.withFakes { fakes in
            // -31: the node's peer bridge does not answer (bitcoind's "P2P disabled").
            try await fakes.with(bridge: false) { s in
                try await s.http { c in
                    let rpc = RPCClientHelper(client: c)
                    #expect(try await rpc.code("getpeerinfo") == -31)
                    #expect(try await rpc.code("getconnectioncount") == -31)
                    // getnetworkinfo still answers, with no connections (as bitcoind with networking off).
                    let info = try await rpc.result("getnetworkinfo") as? [String: Any]
                    #expect(info?["connections"] as? Int == 0)
                    // getblockchaininfo answers without the bridge, from the chain store alone.
                    let chain = try await rpc.result("getblockchaininfo") as? [String: Any]
                    #expect(chain?["headers"] as? Int == 4)
                }
            }
            // -9: main network, no peer connected: no template (bitcoind's "not connected").
            try await fakes.with(configure: { $0.params = .main }) { s in
                try await s.http { c in
                    let code = try await RPCClientHelper(client: c).code("getblocktemplate")
                    #expect(code == -9)
                }
            }
        }
        // -28: the chain store does not answer (starting, restarting): bitcoind's warmup code, retry later.
        try await Stack.with(dead: true) { s in
            try await s.http { c in
                let code = try await RPCClientHelper(client: c).code("getblockcount")
                #expect(code == -28)
            }
        }
        // -32603: the shared fake mempool has no testtx (a service of another version): internal, not the client's fault.
        try await Stack.with { s in
            try await s.http { c in
                let tx = Hex.encode(s.fixture.pending.encoded)
                let code = try await RPCClientHelper(client: c).code("testmempoolaccept", #"[["\#(tx)"], 0]"#)
                #expect(code == -32603)
            }
        }
    }

    @Test func batchesAndNotifications() async throws {
        try await Self.withFakes { fakes in
            try await fakes.with { s in
                try await s.http { c in
                    let rpc = RPCClientHelper(client: c)
                    let batch = try await rpc.post("""
                        [{"jsonrpc":"2.0","id":1,"method":"getblockcount"},
                         {"jsonrpc":"2.0","id":2,"method":"getblockhash","params":[0]},
                         {"jsonrpc":"2.0","method":"getblockcount"},
                         {"jsonrpc":"2.0","id":3,"method":"nosuch"},
                         5,
                         {"id":4,"method":"getblockhash","params":{"height":2}}]
                        """)
                    #expect(batch.status == .ok)
                    let answers = batch.json as? [[String: Any]] ?? []
                    #expect(answers.count == 5)
                    #expect(answers.map { $0["id"] as? Int } == [1, 2, 3, nil, 4])
                    #expect(answers[0]["result"] as? Int == 4)
                    #expect(answers[1]["result"] as? String == s.fixture.blocks[0].hash.hex)
                    #expect((answers[2]["error"] as? [String: Any])?["code"] as? Int == -32601)
                    #expect((answers[3]["error"] as? [String: Any])?["code"] as? Int == -32600)
                    #expect(answers[4]["result"] as? String == s.fixture.blocks[2].hash.hex)
                    #expect(Set(answers[4].keys) == ["result", "error", "id"])  // a 1.0 item keeps its shape

                    // Notifications: no answer, 204; a batch of notifications only: 204.
                    let note = try await rpc.post(#"{"jsonrpc":"2.0","method":"getblockcount"}"#)
                    #expect(note.status == .noContent)
                    #expect(note.body.readableBytes == 0)
                    let notes = try await rpc.post(#"[{"jsonrpc":"2.0","method":"getblockcount"},{"jsonrpc":"2.0","method":"uptime"}]"#)
                    #expect(notes.status == .noContent)
                    // An empty batch: [] (as bitcoind).
                    #expect(try await rpc.post("[]").text == "[]")
                    // More than 1,000 items: one -32600 error.
                    let big = try await rpc.post("[" + Array(repeating: "{}", count: 1_001).joined(separator: ",") + "]")
                    #expect(big.status == .badRequest)
                    #expect((big.object["error"] as? [String: Any])?["code"] as? Int == -32600)
                    let full = try await rpc.post("[" + Array(repeating: "{}", count: 1_000).joined(separator: ",") + "]")
                    #expect((full.json as? [Any])?.count == 1_000)
                    // A body over the edge's limit: 413 in the edge's JSON error shape.
                    let huge = try await rpc.post(#"{"jsonrpc":"2.0","id":1,"method":"help","params":[""# + String(repeating: "x", count: 5_000) + #""]}"#)
                    expectError(huge, .contentTooLarge, "body-too-large")
                }
            }
        }
    }

    @Test func methodsAnswerFromTheServices() async throws {
        try await Self.withFakes { fakes in
            try await fakes.with { s in
                let f = s.fixture
                try await s.http { c in
                    let rpc = RPCClientHelper(client: c)
                    #expect(try await rpc.result("getbestblockhash") as? String == f.tip.hash.hex)
                    #expect(try await rpc.result("getblockhash", "[3]") as? String == f.blocks[3].hash.hex)
                    #expect(try await rpc.result("getblockhash", #"{"height":1}"#) as? String == f.blocks[1].hash.hex)

                    let header = try await rpc.result("getblockheader", #"["\#(f.blocks[3].hash.hex)"]"#) as? [String: Any] ?? [:]
                    #expect(header["height"] as? Int == 3)
                    #expect(header["confirmations"] as? Int == 2)
                    #expect(header["previousblockhash"] as? String == f.blocks[2].hash.hex)
                    #expect(header["nextblockhash"] as? String == f.blocks[4].hash.hex)
                    #expect(header["merkleroot"] as? String == f.blocks[3].header.merkleRoot.hex)
                    #expect(header["bits"] as? String == String(format: "%08x", f.blocks[3].header.bits))
                    #expect(header["nTx"] as? Int == 1)
                    #expect(try await rpc.result("getblockheader", #"["\#(f.blocks[3].hash.hex)", false]"#) as? String
                        == Hex.encode(f.blocks[3].header.encoded))
                    let genesis = try await rpc.result("getblockheader", #"["\#(f.blocks[0].hash.hex)"]"#) as? [String: Any] ?? [:]
                    #expect(genesis["previousblockhash"] == nil)

                    #expect(try await rpc.result("getblock", #"["\#(f.tip.hash.hex)", 0]"#) as? String == Hex.encode(f.tip.encoded))
                    let v1 = try await rpc.result("getblock", #"["\#(f.tip.hash.hex)"]"#) as? [String: Any] ?? [:]
                    #expect(v1["tx"] as? [String] == f.tip.txids.map(\.hex))
                    #expect(v1["size"] as? Int == f.tip.encodedSize)
                    #expect(v1["nextblockhash"] == nil)
                    let v2 = try await rpc.result("getblock", #"{"blockhash":"\#(f.tip.hash.hex)","verbosity":2}"#) as? [String: Any] ?? [:]
                    let txs = v2["tx"] as? [[String: Any]] ?? []
                    #expect(txs.count == 2)
                    #expect((txs[0]["vin"] as? [[String: Any]])?.first?["coinbase"] is String)
                    #expect(txs[0]["fee"] == nil)
                    #expect(txs[1]["txid"] as? String == f.payment.txid.hex)
                    #expect(num(txs[1]["fee"]) == 0.00005)
                    let out0 = (txs[1]["vout"] as? [[String: Any]])?.first
                    #expect(num(out0?["value"]) == 10)
                    // Amounts as bitcoind writes them: a number with exactly 8 decimals.
                    let text = try await rpc.post(#"{"jsonrpc":"2.0","id":1,"method":"getblock","params":["\#(f.tip.hash.hex)",2]}"#).text
                    #expect(text.contains(#""fee":0.00005000"#))
                    #expect(text.contains(#""value":10.00000000"#))
                    #expect((out0?["scriptPubKey"] as? [String: Any])?["address"] as? String == f.bob.address.string)

                    // getrawtransaction: confirmed (from the index), unconfirmed (from the mempool), in a given block.
                    #expect(try await rpc.result("getrawtransaction", #"["\#(f.payment.txid.hex)"]"#) as? String == Hex.encode(f.payment.encoded))
                    let verbose = try await rpc.result("getrawtransaction", #"["\#(f.payment.txid.hex)", true]"#) as? [String: Any] ?? [:]
                    #expect(verbose["blockhash"] as? String == f.tip.hash.hex)
                    #expect(verbose["confirmations"] as? Int == 1)
                    #expect((verbose["vin"] as? [[String: Any]])?.first?["txid"] as? String == f.payment.inputs[0].previousOutput.txid.hex)
                    let pending = try await rpc.result("getrawtransaction", #"["\#(f.pending.txid.hex)", 1]"#) as? [String: Any] ?? [:]
                    #expect(pending["blockhash"] == nil)
                    #expect(pending["hex"] as? String == Hex.encode(f.pending.encoded))
                    let inBlock = try await rpc.result("getrawtransaction", #"["\#(f.payment.txid.hex)", true, "\#(f.tip.hash.hex)"]"#) as? [String: Any] ?? [:]
                    #expect(inBlock["in_active_chain"] as? Bool == true)
                    #expect(try await rpc.code("getrawtransaction", #"["\#(f.payment.txid.hex)", true, "\#(f.blocks[1].hash.hex)"]"#) == -5)

                    // Mempool.
                    #expect(try await rpc.result("getrawmempool") as? [String] == [f.pending.txid.hex])
                    let seq = try await rpc.result("getrawmempool", #"{"mempool_sequence":true}"#) as? [String: Any]
                    #expect(seq?["mempool_sequence"] as? Int == 7)
                    let verbosePool = try await rpc.result("getrawmempool", "[true]") as? [String: [String: Any]]
                    #expect(num((verbosePool?[f.pending.txid.hex]?["fees"] as? [String: Any])?["base"]) == 0.0001)
                    let entry = try await rpc.result("getmempoolentry", #"["\#(f.pending.txid.hex)"]"#) as? [String: Any]
                    #expect(entry?["vsize"] as? Int == f.pending.encodedSize)
                    let info = try await rpc.result("getmempoolinfo") as? [String: Any]
                    #expect(info?["size"] as? Int == 1)
                    #expect(info?["loaded"] as? Bool == true)

                    // gettxout: an unspent coinbase; an output the mempool spends (null); a mempool output (0 confirmations).
                    let cb3 = f.blocks[3].transactions[0].txid.hex
                    let out = try await rpc.result("gettxout", #"["\#(cb3)", 0]"#) as? [String: Any]
                    #expect(out?["confirmations"] as? Int == 2)
                    #expect(out?["coinbase"] as? Bool == true)
                    #expect(out?["bestblock"] as? String == f.tip.hash.hex)
                    let spentByPool = f.blocks[2].transactions[0].txid.hex
                    #expect(try await rpc.result("gettxout", #"["\#(spentByPool)", 0]"#) is NSNull)
                    #expect(try await rpc.result("gettxout", #"["\#(spentByPool)", 0, false]"#) is [String: Any])
                    #expect((try await rpc.result("gettxout", #"["\#(f.pending.txid.hex)", 0]"#) as? [String: Any])?["confirmations"] as? Int == 0)

                    // Submission: accepted, and already in the mempool (its txid again, as bitcoind).
                    #expect(try await rpc.result("sendrawtransaction", #"["\#(Hex.encode(f.pending.encoded))"]"#) as? String == f.pending.txid.hex)
                    let tested = try await rpc.result("testmempoolaccept", #"[["\#(Hex.encode(fakes.dusty.encoded))", "\#(Hex.encode(f.orphan.encoded))"]]"#) as? [[String: Any]]
                    #expect(tested?.map { $0["allowed"] as? Bool } == [false, false])
                    #expect(tested?.map { $0["reject-reason"] as? String } == ["dust", "bad-txns-inputs-missingorspent"])

                    // maxfeerate (CRN/kB) goes to the mempool as the highest fee for the transaction's size (the
                    // mempool knows the fee; the fake's is 1,000 units): 0.10 by default, none for 0; above it, -25.
                    let coinbase3 = f.blocks[3].transactions[0]
                    let fresh = f.alice.spend([(OutPoint(txid: coinbase3.txid, index: 0), coinbase3.outputs[0])],
                                              to: [TxOutput(value: coinbase3.outputs[0].value - 1_000, publicKey: f.bob.publicKey)])
                    let freshHex = Hex.encode(fresh.encoded), size = UInt64(fresh.encodedSize)
                    fakes.state.maxFees.withLock { $0 = [] }
                    #expect(try await rpc.result("sendrawtransaction", #"["\#(freshHex)"]"#) as? String == fresh.txid.hex)
                    #expect(try await rpc.result("sendrawtransaction", #"["\#(freshHex)", 0]"#) as? String == fresh.txid.hex)
                    let refused = try await rpc.post(#"{"jsonrpc":"2.0","id":1,"method":"sendrawtransaction","params":["\#(freshHex)", 0.00001]}"#)
                    let error = refused.object["error"] as? [String: Any]
                    #expect(error?["code"] as? Int == -25)
                    #expect((error?["message"] as? String)?.hasPrefix("max-fee-exceeded: fee 1000 units") == true, "\(refused.text)")
                    let overLimit = try await rpc.result("testmempoolaccept", #"[["\#(freshHex)"], 0.00001]"#) as? [[String: Any]]
                    #expect(overLimit?.first?["reject-reason"] as? String == "max-fee-exceeded")
                    #expect(fakes.state.maxFees.withLock { $0 } == [10_000_000 * size / 1000, nil, 1_000 * size / 1000, 1_000 * size / 1000])
                    #expect(try await rpc.code("sendrawtransaction", #"["\#(freshHex)", -1]"#) == -3)
                    #expect(try await rpc.code("sendrawtransaction", #"["\#(freshHex)", 1]"#) == -8)
                    #expect(try await rpc.code("testmempoolaccept", #"[["zz"], 1]"#) == -8, "the rate is read before the transactions, as bitcoind")
                    #expect(fakes.state.maxFees.withLock { $0.count } == 4, "nothing submitted with a refused rate")

                    // Mining, fees, addresses, network.
                    let mining = try await rpc.result("getmininginfo") as? [String: Any]
                    #expect(mining?["blocks"] as? Int == 4)
                    #expect(mining?["pooledtx"] as? Int == 1)
                    #expect(mining?["chain"] as? String == "regtest")
                    let fee = try await rpc.result("estimatesmartfee", "[2]") as? [String: Any]
                    #expect(fee?["blocks"] as? Int == 3)
                    #expect(num(fee?["feerate"]) != nil)
                    let valid = try await rpc.result("validateaddress", #"["\#(f.alice.address.string)"]"#) as? [String: Any]
                    #expect(valid?["isvalid"] as? Bool == true)
                    #expect(valid?["scriptPubKey"] as? String == Hex.encode(f.alice.publicKey))
                    let invalid = try await rpc.result("validateaddress", #"["rcrn1nope"]"#) as? [String: Any]
                    #expect(invalid?["isvalid"] as? Bool == false)
                    #expect(invalid?["error"] is String)
                    let chain = try await rpc.result("getblockchaininfo") as? [String: Any]
                    #expect(chain?["chain"] as? String == "regtest")
                    #expect(chain?["blocks"] as? Int == 4)
                    #expect(chain?["bestblockhash"] as? String == f.tip.hash.hex)
                    #expect(chain?["initialblockdownload"] as? Bool == false)
                    #expect(try await rpc.result("getconnectioncount") as? Int == 0)
                    #expect(try await rpc.result("getpeerinfo") as? [Any] != nil)
                    let net = try await rpc.result("getnetworkinfo") as? [String: Any]
                    #expect(net?["subversion"] as? String == "/Cairn:\(NodeRoutes.version)/")
                    #expect((net?["localaddresses"] as? [[String: Any]])?.first?["port"] as? Int == 18342)
                    #expect(try await rpc.result("uptime") as? Int != nil)
                }
            }
        }
    }

    /// A long poll open when the edge's graceful shutdown begins is answered then, with the
    /// template as it is (Hummingbird's shutdown waits for the requests in flight; a long poll
    /// that went on waiting, or waited again and again, would hold the edge's exit its 60 s).
    @Test func aLongPollIsAnsweredWhenTheEdgeBeginsToStop() async throws {
        try await Self.withFakes { fakes in
            try await fakes.with { s in
                try await s.http { c in
                    let rpc = RPCClientHelper(client: c)
                    let id = try #require(try await rpc.result("getblocktemplate") as? [String: Any])["longpollid"] as? String
                    let answered = try await withHangGuard("a long poll at the edge's shutdown", seconds: 30) {
                        try await testGracefulShutdown { trigger in
                            async let answer = Self.longPollAnswer(rpc, id ?? "")
                            try await Task.sleep(for: .milliseconds(200))   // (either way: a wait begun after the shutdown returns at once)
                            trigger.triggerGracefulShutdown()
                            return try await answer
                        }
                    }
                    #expect(id != nil && answered == id, "the unchanged template's id: \(String(describing: answered))")
                }
            }
        }
    }

    /// A long poll's answer: its template's `longpollid`.
    static func longPollAnswer(_ rpc: RPCClientHelper, _ id: String) async throws -> String? {
        try await rpc.result("getblocktemplate", #"[{"longpollid":"\#(id)"}]"#).flatMap { $0 as? [String: Any] }?["longpollid"] as? String
    }

    @Test func blockTemplateAndLongPoll() async throws {
        try await Self.withFakes { fakes in
            try await fakes.with { s in
                let f = s.fixture
                try await s.http(.live) { c in
                    let rpc = RPCClientHelper(client: c)
                    let t = try await rpc.result("getblocktemplate", #"[{"rules":["segwit"]}]"#) as? [String: Any] ?? [:]
                    #expect(t["height"] as? Int == 5)
                    #expect(t["previousblockhash"] as? String == f.tip.hash.hex)
                    #expect((t["transactions"] as? [[String: Any]])?.first?["txid"] as? String == f.pending.txid.hex)
                    #expect((t["target"] as? String)?.count == 64)
                    let id = try #require(t["longpollid"] as? String)
                    #expect(id == f.tip.hash.hex + "7")
                    #expect(try await rpc.code("getblocktemplate", #"[{"mode":"proposal"}]"#) == -8)
                    // A long poll with the current id waits until the mempool announces new work.
                    let answered = FakeState()
                    let waiting = Task {
                        let r = try await rpc.result("getblocktemplate", #"[{"longpollid":"\#(id)"}]"#) as? [String: Any]
                        answered.answer.withLock { $0 = r?["longpollid"] as? String ?? "no longpollid" }
                    }
                    // Not answered while nothing changed (checked once, briefly: no timing threshold).
                    try await Task.sleep(for: .milliseconds(300))
                    #expect(answered.answer.withLock { $0 } == nil)
                    let answer = try await withHangGuard("long poll") {
                        fakes.state.templateSequence.withLock { $0 = 8 }
                        while true {
                            // Repeated: the edge's subscription may still be joining.
                            _ = s.pool.publisher.publish(topic: Topic.template, body: try JSON.encode(TemplateNotice(mempoolSequence: 8, txCount: 1)))
                            try await Task.sleep(for: .milliseconds(100))
                            if let r = answered.answer.withLock({ $0 }) { return r }
                        }
                    }
                    try await waiting.value
                    #expect(answer == f.tip.hash.hex + "8")
                }
            }
        }
    }

    /// A mempool without getblocktemplaterpc (an older one): the edge renders its BlockTemplate
    /// itself, and the result is the one the pre-rendered path gives.
    @Test func blockTemplateFromAnOlderMempool() async throws {
        try await Self.withFakes { fakes in
            try await fakes.with { s in
                try await s.http { c in
                    let rpc = RPCClientHelper(client: c)
                    let rendered = try #require(try await rpc.result("getblocktemplate") as? NSDictionary)
                    fakes.state.olderMempool.withLock { $0 = true }
                    defer { fakes.state.olderMempool.withLock { $0 = false } }
                    let older = try #require(try await rpc.result("getblocktemplate") as? NSDictionary)
                    #expect(rendered == older)
                    #expect((older["transactions"] as? [Any])?.count == 1)
                }
            }
        }
    }

    @Test func helpAndDiscoverComeFromOneTable() async throws {
        try await Self.withFakes { fakes in
            try await fakes.with { s in
                try await s.http { c in
                    let rpc = RPCClientHelper(client: c)
                    let overview = try await rpc.result("help") as? String ?? ""
                    #expect(overview.contains("== Blockchain =="))
                    #expect(overview.contains("getblock \"blockhash\" ( verbosity )"))
                    let one = try await rpc.result("help", #"["getblock"]"#) as? String ?? ""
                    #expect(one.hasPrefix("getblock \"blockhash\" ( verbosity )"))
                    #expect(one.contains("2. verbosity"))
                    #expect(one.contains("Credits (per call, against an API key's limits): 1; verbosity ≥ 1: 2; verbosity ≥ 2: 4"))
                    #expect(try await rpc.result("help", #"["nosuch"]"#) as? String == "help: unknown command: nosuch")
                    let doc = try await rpc.result("rpc.discover") as? [String: Any] ?? [:]
                    #expect(doc["openrpc"] as? String == "1.2.6")
                    let methods = doc["methods"] as? [[String: Any]] ?? []
                    let table = s.edge.rpc.methods.list
                    #expect(methods.map { $0["name"] as? String } == table.map(\.name.rawValue))
                    for (m, d) in zip(table, methods) {
                        #expect(overview.contains(m.synopsis), "help lacks \(m.name)")
                        #expect((d["params"] as? [[String: Any]])?.map { $0["name"] as? String } == m.params.map(\.name))
                        #expect(d["x-weight"] as? Int == m.weight)
                        #expect(d["x-credits"] as? String == m.creditsText)
                        #expect(d["x-operator-only"] as? Bool == m.operatorOnly)
                    }
                    for name in ["getblockchaininfo", "getblockcount", "getbestblockhash", "getblockhash", "getblockheader", "getblock",
                                 "getrawtransaction", "sendrawtransaction", "testmempoolaccept", "getmempoolinfo", "getrawmempool",
                                 "getmempoolentry", "gettxout", "getblocktemplate", "submitblock", "getmininginfo", "getnetworkinfo",
                                 "getpeerinfo", "getconnectioncount", "estimatesmartfee", "validateaddress", "uptime", "help", "rpc.discover"] {
                        #expect(table.contains { $0.name.rawValue == name }, "missing \(name)")
                    }
                    // /rpc is in the OpenAPI document.
                    let openapi = try await c.execute(uri: "/openapi.json", method: .get).object
                    #expect((openapi["paths"] as? [String: Any])?["/rpc"] != nil)
                }
            }
        }
    }

    @Test func operatorCredentials() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-rpc-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cookiePath = dir.appendingPathComponent(".cookie").path
        try await Self.withFakes { fakes in
            try await fakes.with(configure: { $0.rpcCookieDirectory = dir; $0.rpcToken = "s3cret-token" }) { s in
                // The cookie: owner-only, __cookie__:<64 hex digits>.
                let attributes = try FileManager.default.attributesOfItem(atPath: cookiePath)
                #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
                let cookie = try String(contentsOfFile: cookiePath, encoding: .utf8)
                let parts = cookie.split(separator: ":")
                #expect(parts.count == 2 && parts[0] == "__cookie__" && parts[1].count == 64 && parts[1].utf8.allSatisfy(\.isHexDigit))
                let cookieAuth = "Basic " + Data(cookie.utf8).base64EncodedString()
                try await s.http { c in
                    let rpc = RPCClientHelper(client: c)
                    // Without credentials: 401 with the edge's JSON error, nothing run.
                    let denied = try await rpc.post(#"{"jsonrpc":"2.0","id":1,"method":"setnetworkactive","params":[false]}"#)
                    expectError(denied, .unauthorized, "unauthorized")
                    #expect(denied.headers[.wwwAuthenticate] == "Basic realm=\"jsonrpc\"")
                    #expect(fakes.state.networkActive.withLock { $0 } == true)
                    // In a batch too: the whole request is refused before anything in it runs.
                    let deniedBatch = try await rpc.post(#"[{"jsonrpc":"2.0","id":1,"method":"getblockcount"},{"jsonrpc":"2.0","id":2,"method":"submitblock","params":["00"]}]"#)
                    expectError(deniedBatch, .unauthorized, "unauthorized")
                    // Wrong credentials: 401 (after a wait), even for a public method.
                    for wrong in [basic("__cookie__", String(repeating: "0", count: 64)), basic("x", "nope"), "Bearer nope", "Basic %%%", "Digest x"] {
                        let r = try await rpc.post(#"{"jsonrpc":"2.0","id":1,"method":"getblockcount"}"#, auth: wrong)
                        expectError(r, .unauthorized, "unauthorized")
                    }
                    // Public methods need nothing.
                    #expect(try await rpc.result("getblockcount") as? Int == 4)
                    // The cookie, the token (as Basic password or Bearer) each grant the operator methods.
                    #expect(try await rpc.result("setnetworkactive", "[false]", auth: cookieAuth) as? Bool == false)
                    #expect(fakes.state.networkActive.withLock { $0 } == false)
                    #expect(try await rpc.result("setnetworkactive", "[true]", auth: basic("anyone", "s3cret-token")) as? Bool == true)
                    #expect(try await rpc.result("addnode", #"["127.0.0.1:18999", "onetry"]"#, auth: "Bearer s3cret-token") is NSNull)
                    #expect(fakes.state.addedPeers.withLock { $0 } == ["ws://127.0.0.1:18999"])
                    // Operator methods' own errors: -8 bad command, -30 bad address, -1 a refusal by the bridge, -22 undecodable block.
                    #expect(try await rpc.code("addnode", #"["127.0.0.1:18999", "remove"]"#, auth: cookieAuth) == -8)
                    #expect(try await rpc.code("addnode", #"["nope", "add"]"#, auth: cookieAuth) == -30)
                    #expect(try await rpc.code("addnode", #"["banned.example:1", "add"]"#, auth: cookieAuth) == -1)
                    #expect(try await rpc.code("submitblock", #"["00"]"#, auth: cookieAuth) == -22)
                    let next = s.fixture.next(after: s.fixture.tip, height: 5)
                    #expect(try await rpc.result("submitblock", #"["\#(Hex.encode(next.encoded))"]"#, auth: cookieAuth) is NSNull)
                    #expect(try await rpc.result("submitblock", #"["\#(Hex.encode(s.fixture.tip.encoded))"]"#, auth: cookieAuth) as? String == "duplicate")
                }
            }
        }
        // Deleted at a clean stop.
        #expect(!FileManager.default.fileExists(atPath: cookiePath))
    }
}

/// A JSON number as a Double, whichever way the parser typed it.
func num(_ v: Any?) -> Double? {
    switch v {
    case let d as Double: return d
    case let i as Int: return Double(i)
    case let n as NSNumber: return n.doubleValue
    default: return nil
    }
}
