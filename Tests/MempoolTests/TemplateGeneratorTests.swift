import ChainCore
import Foundation
import GRDB
import Logging
import NodeKit
import Testing
import TestSupport
@testable import Mempool

/// A template's `depends` (from the pool's links) and the generator's reuse of its last template.
@Suite("Template depends and reuse")
struct TemplateReuseTests {
    static let request = TemplateRequest(minerID: "m", address: "a", hashrate: 0, threads: 1)

    /// Each transaction's parents in the template found by decoding it: its inputs' txids, 1-based
    /// places in the template, ascending (what the edge computed before `depends` came with it).
    static func decodedDepends(_ t: BlockTemplate) throws -> [[Int]] {
        var place = [Hash256: Int]()
        var out = [[Int]]()
        for (i, hex) in t.transactions.enumerated() {
            let tx = try Transaction(bytes: #require(Hex.decode(hex)))
            out.append(Set(tx.inputs.compactMap { place[$0.previousOutput.txid] }).sorted())
            place[tx.txid] = i + 1
        }
        return out
    }

    /// Two chains (a parent with two children, one of them with a child of its own; a chain of
    /// three) and an independent transaction.
    static func fill(_ pool: Pool, _ h: PoolHarness) async throws -> [Transaction] {
        var txs = [Transaction]()
        func submit(_ tx: Transaction) async throws {
            _ = try await pool.submit(hex: Hex.encode(tx.encoded), receivedAt: nil)
            txs.append(tx)
        }
        // A parent paying two outputs, each spent by a child; the first child's output spent again.
        let c0 = h.spendable[0]
        let parent = h.wallet.spend([c0], to: [h.wallet.output(c0.1.value / 2), h.wallet.output(c0.1.value / 2 - 1_000)])
        try await submit(parent)
        let a = h.wallet.spend([(OutPoint(txid: parent.txid, index: 0), parent.outputs[0])], to: [h.wallet.output(parent.outputs[0].value - 5_000)])
        let b = h.wallet.spend([(OutPoint(txid: parent.txid, index: 1), parent.outputs[1])], to: [h.wallet.output(parent.outputs[1].value - 2_000)])
        try await submit(a)
        try await submit(b)
        // A grandchild spending both children: two parents in the template.
        let both = h.wallet.spend([(OutPoint(txid: a.txid, index: 0), a.outputs[0]), (OutPoint(txid: b.txid, index: 0), b.outputs[0])],
                                  to: [h.wallet.output(a.outputs[0].value + b.outputs[0].value - 3_000)])
        try await submit(both)
        // A chain of three from another coin, the last paying the most.
        var coin = h.spendable[1]
        for fee: Amount in [1_000, 1_500, 40_000] {
            let tx = h.wallet.spend([coin], to: [h.wallet.output(coin.1.value - fee)])
            try await submit(tx)
            coin = (OutPoint(txid: tx.txid, index: 0), tx.outputs[0])
        }
        try await submit(h.pay(h.spendable[2], fee: 20_000))
        return txs
    }

    @Test("depends is what decoding the template's transactions gives, parents before children")
    func dependsMatchesDecoding() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        let txs = try await Self.fill(pool, h)
        let t = try await TemplateGenerator(source: pool, params: .regtest).template(for: Self.request)
        #expect(t.transactions.count == txs.count)
        let depends = try #require(t.depends)
        #expect(depends == (try Self.decodedDepends(t)))
        // The chains are there: the grandchild has two parents, every place is before its child's.
        #expect(depends.contains { $0.count == 2 })
        #expect(depends.filter { !$0.isEmpty }.count == 5)
        for (i, d) in depends.enumerated() { #expect(d.allSatisfy { $0 <= i }) }
    }

    @Test("a template without depends (an older mempool) decodes with depends absent")
    func oldSendersDecode() throws {
        let t = BlockTemplate(height: 1, previousHash: "00", bits: 1, time: 1, minTime: 1, coinbaseValue: 1, fees: 0, transactions: [],
                              txids: [], mempoolSequence: 0)
        var json = try #require(try JSONSerialization.jsonObject(with: Data(JSON.encode(t))) as? [String: Any])
        json["depends"] = nil
        let decoded = try JSON.decode(BlockTemplate.self, Array(try JSONSerialization.data(withJSONObject: json)))
        #expect(decoded.depends == nil)
        #expect(decoded == t)
    }

    @Test("the last template is given again until the pool, the tip or the pace changes")
    func reuseIsInvalidatedByEveryChange() async throws {
        let h = try await PoolHarness()
        let pool = try h.open()
        let txs = try await Self.fill(pool, h)
        let generator = TemplateGenerator(source: pool, params: .regtest)
        let first = try await generator.template(for: Self.request)
        var again = try await generator.template(for: TemplateRequest(minerID: "m2", address: "b", hashrate: 0, threads: 1))
        #expect(await generator.made == 1)
        #expect(await generator.reused == 1)
        again.time = first.time
        #expect(again == first)
        #expect(await generator.activeMiners().count == 2)

        // A transaction in: made afresh, and it is in.
        let extra = h.pay(h.spendable[3], fee: 9_000)
        _ = try await pool.submit(hex: Hex.encode(extra.encoded), receivedAt: nil)
        let withExtra = try await generator.template(for: Self.request)
        #expect(await generator.made == 2)
        #expect(withExtra.txids.contains(extra.txid.hex))

        // A transaction out (a block confirms it): made afresh, and it is gone.
        let block = ChainFixtures.next(after: h.blocks.last!.header, height: h.blocks.count, paying: h.wallet, transactions: [extra])
        await pool.blockConnected(block, height: h.blocks.count)
        let without = try await generator.template(for: Self.request)
        #expect(await generator.made == 3)
        #expect(!without.txids.contains(extra.txid.hex))
        #expect(without.txids.count == txs.count)

        // A new tip alone (the pool unchanged): made afresh, on the new tip.
        _ = try await generator.template(for: Self.request)
        #expect(await generator.made == 3)
        let tip = ChainTip(height: h.blocks.count, hash: block.hash.hex, time: block.header.time, nextBits: ChainParams.regtest.powLimitBits,
                           medianTimePast: Genesis.time)
        await pool.setTip(tip)
        let onTip = try await generator.template(for: Self.request)
        #expect(await generator.made == 4)
        #expect(onTip.previousHash == block.hash.hex && onTip.height == h.blocks.count + 1)

        // A change of pace: made afresh (paused: no transactions).
        let paused = try await generator.template(for: Self.request, pace: MiningPace(state: "paused", stepHeight: nil, minInterval: 0, revision: 1, updatedAt: 0))
        #expect(await generator.made == 5)
        #expect(paused.transactions.isEmpty && paused.depends == [])
        _ = try await generator.template(for: Self.request)
        #expect(await generator.made == 6)
        #expect(await generator.reused == 2)
    }

    /// A binary reply's payload (after its marker).
    static func payload(_ reply: [UInt8]) throws -> [UInt8] {
        try #require(reply.first == BinaryRPC.marker)
        return Array(reply.dropFirst())
    }

    /// A filled pool, its template generator and a pacer (its own database), for the routes' tests.
    static func routeFixture() async throws -> (PoolHarness, Pool, TemplateGenerator, DatabasePool, Pacer) {
        let h = try await PoolHarness()
        let pool = try h.open()
        _ = try await Self.fill(pool, h)
        let generator = TemplateGenerator(source: pool, params: .regtest)
        let db = try DatabasePool(path: h.dir.appendingPathComponent("pace.sqlite").path)
        try MempoolStore.migrator().migrate(db)
        let pacer = Pacer(network: .regtest, db: db, logger: Logger(label: "test")) { _ in }
        try await pacer.load()
        return (h, pool, generator, db, pacer)
    }

    @Test("the route's reply is RPCRouter.method's for the same template, encoded once while nothing changed")
    func encodedReplyIsReused() async throws {
        let (h, pool, generator, db, pacer) = try await Self.routeFixture()
        let route = MempoolRPC.templateRoute(templates: generator, pacer: pacer)
        let request = try JSON.encode(RequestEnvelope(method: "getblocktemplate", params: Self.request))
        let first = try await route(request)
        let second = try await route(request)
        let template = try #require(try JSON.decode(ReplyEnvelope<BlockTemplate>.self, first).result)
        // What the typed route would have answered for this template, byte for byte.
        #expect(first == (try JSON.encode(ReplyEnvelope<BlockTemplate>(result: template, error: nil))))
        #expect(template.depends != nil && template.transactions.count == 8)
        // Asked again: the same template (its time moved on only if a second passed), one encoding
        // per distinct template.
        let again = try #require(try JSON.decode(ReplyEnvelope<BlockTemplate>.self, second).result)
        #expect(await generator.made == 1)
        #expect(await generator.rendered[.json].map { $0.made + $0.reused } == 2)
        if again.time == template.time {
            #expect(second == first)
            #expect(await generator.rendered[.json]?.reused == 1)
        }
        // A change of the pool: encoded again, with it.
        let extra = h.pay(h.spendable[3], fee: 9_000)
        _ = try await pool.submit(hex: Hex.encode(extra.encoded), receivedAt: nil)
        let third = try #require(try JSON.decode(ReplyEnvelope<BlockTemplate>.self, try await route(request)).result)
        #expect(third.txids.contains(extra.txid.hex))
        #expect(await generator.made == 2)
        // Bad params: a clear refusal, not a template.
        do {
            _ = try await route(Array(#"{"method":"getblocktemplate","params":{"minerID":1}}"#.utf8))
            Issue.record("bad params answered")
        } catch {
            #expect(error.code == RPCError.badParams("").code)
        }
        try db.close()
    }

    @Test("getblocktemplaterpc: the header and the JSON-RPC result of the pool's template, rendered once while nothing changed")
    func renderedResultIsTheTemplates() async throws {
        let (h, pool, generator, db, pacer) = try await Self.routeFixture()
        let route = MempoolRPC.rpcTemplateRoute(templates: generator, pacer: pacer)
        let request = BinaryRPC.request(TemplateRPC.method, try JSON.encode(Self.request))
        let first = try Self.payload(try await route(request))
        let second = try Self.payload(try await route(request))
        // The template it renders is the generator's (given again: nothing changed).
        let template = try await generator.template(for: Self.request)
        #expect(await generator.made == 1)
        let (header, result) = try TemplateRPC.parse(first)
        #expect(header == TemplateRPC.Header(template))
        #expect(header.pace == .running)
        // The result is the template's, rendered: every transaction with its parents' places.
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result)) as? [String: Any])
        let txs = try #require(object["transactions"] as? [[String: Any]])
        #expect(txs.map { $0["txid"] as? String } == template.txids)
        #expect(txs.map { $0["depends"] as? [Int] ?? [-1] } == template.depends)
        #expect(template.depends?.contains { $0.count == 2 } == true)
        #expect(object["longpollid"] as? String == header.longPollID)
        #expect(object["height"] as? Int == template.height)
        if template.time == (object["curtime"] as? Int).map(UInt32.init) {
            #expect(Array(result) == TemplateRPC.result(template))
        }
        // Rendered once per distinct template (a second boundary may have moved curtime).
        #expect(await generator.rendered[.rpc].map { $0.made + $0.reused } == 2)
        if second == first { #expect(await generator.rendered[.rpc]?.reused == 1) }
        // A change of the pool: rendered again, with it.
        let extra = h.pay(h.spendable[3], fee: 9_000)
        _ = try await pool.submit(hex: Hex.encode(extra.encoded), receivedAt: nil)
        let (_, third) = try TemplateRPC.parse(try Self.payload(try await route(request)))
        #expect(String(decoding: third, as: UTF8.self).contains(extra.txid.hex))
        #expect(await generator.made == 2)
        // A JSON request, or a payload that is not a TemplateRequest: a clear refusal.
        for bad in [try JSON.encode(RequestEnvelope(method: TemplateRPC.method, params: Self.request)),
                    BinaryRPC.request(TemplateRPC.method, Array(#"{"minerID":1}"#.utf8))] {
            do {
                _ = try await route(bad)
                Issue.record("bad request answered")
            } catch {
                #expect(error.code == RPCError.badParams("").code)
            }
        }
        try db.close()
    }

    @Test("getblocktemplatebin: the pool's template with its transactions as their bytes, encoded once while nothing changed")
    func binaryTemplateIsTheTemplates() async throws {
        let (h, pool, generator, db, pacer) = try await Self.routeFixture()
        let route = MempoolRPC.binaryTemplateRoute(templates: generator, pacer: pacer)
        let request = BinaryRPC.request(TemplateBinary.method, try JSON.encode(Self.request))
        let first = try Self.payload(try await route(request))
        let second = try Self.payload(try await route(request))
        let template = try await generator.template(for: Self.request)
        #expect(await generator.made == 1)
        let (header, items) = try TemplateBinary.parse(first)
        // The JSON template's fields, and its transactions in its order, as bytes and txids.
        var expected = template
        expected.transactions = []
        expected.txids = []
        expected.depends = nil
        if header.time == template.time { #expect(header == expected) }
        #expect(header.height == template.height && header.depends == nil && header.coinbaseValue == template.coinbaseValue)
        #expect(items.map(\.txid.hex) == template.txids)
        #expect(items.map { Hex.encode($0.raw) } == template.transactions)
        #expect(items.count == 8)
        #expect(await generator.rendered[.binary].map { $0.made + $0.reused } == 2)
        if second == first { #expect(await generator.rendered[.binary]?.reused == 1) }
        // A change of the pool: encoded again, with it.
        let extra = h.pay(h.spendable[3], fee: 9_000)
        _ = try await pool.submit(hex: Hex.encode(extra.encoded), receivedAt: nil)
        let (_, third) = try TemplateBinary.parse(try Self.payload(try await route(request)))
        #expect(third.contains { $0.txid == extra.txid && $0.raw == extra.encoded })
        // A payload that is not a TemplateRequest: a clear refusal.
        do {
            _ = try await route(BinaryRPC.request(TemplateBinary.method, Array(#"{"minerID":1}"#.utf8)))
            Issue.record("bad request answered")
        } catch {
            #expect(error.code == RPCError.badParams("").code)
        }
        try db.close()
    }
}
