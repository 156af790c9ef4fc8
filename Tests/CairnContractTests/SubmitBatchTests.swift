import CairnContract
import ChainCore
import Testing

/// `submittxs`'s wire format (docs/PROTOCOL.md, "Bus: batched submissions"): what is encoded decodes
/// to the same, and a malformed or oversized batch is refused as a whole with a message saying why.
@Suite("submittxs wire format")
struct SubmitBatchWireTests {
    static let items = [
        SubmitBatch.Item(raw: [1, 2, 3], receivedAt: 1_795_565_000.25),
        SubmitBatch.Item(raw: Array(repeating: 0xAB, count: 300), receivedAt: nil),
        SubmitBatch.Item(raw: [], receivedAt: 0),
        SubmitBatch.Item(raw: [9], receivedAt: nil, maxFee: 2_500_000),
        SubmitBatch.Item(raw: [8, 7], receivedAt: 1_795_565_001, maxFee: 0),
    ]

    static func refusal(_ bytes: [UInt8]) -> RPCError? {
        do {
            _ = try SubmitBatch.decodeRequest(bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test func aRequestRoundTrips() throws {
        let bytes = try #require(SubmitBatch.encode(Self.items))
        #expect(bytes.count == 1 + 1 + Self.items.reduce(0) { $0 + $1.encodedSize })
        #expect(try SubmitBatch.decodeRequest(bytes) == Self.items)
        // the layout, byte by byte, for the first item: flags 1, receivedAt's IEEE-754 bits LE, length, bytes
        var first = [SubmitBatch.version, UInt8(Self.items.count), 1]
        withUnsafeBytes(of: (1_795_565_000.25 as Double).bitPattern.littleEndian) { first += $0 }
        first += [3, 1, 2, 3]
        #expect(Array(bytes.prefix(first.count)) == first)
        // and for the last: flags 3, receivedAt, then maxFee LE, length, bytes
        var last: [UInt8] = [3]
        withUnsafeBytes(of: (1_795_565_001 as Double).bitPattern.littleEndian) { last += $0 }
        last += Array(repeating: 0, count: 8) + [2, 8, 7]
        #expect(Array(bytes.suffix(last.count)) == last)
        #expect(Self.items[3].encodedSize == 1 + 8 + 1 + 1)
    }

    @Test func answersRoundTrip() throws {
        let txid = try #require(Hash256(hex: String(repeating: "ab", count: 31) + "01"))
        let answers: [SubmitBatch.Answer] = [
            .accepted(txid: txid, fee: 12_345, size: 226),
            .refused(RPCError(MempoolRefusal.conflict.rawValue, "spends an output another mempool transaction spends")),
            .refused(RPCError(MempoolRefusal.busy.rawValue, "")),
        ]
        let decoded = try SubmitBatch.decodeAnswers(SubmitBatch.encode(answers), count: 3)
        #expect(decoded == answers)
        #expect(decoded[0].result == .success(SubmitTxResult(txid: txid.hex, fee: 12_345, size: 226)))
        #expect(decoded[1].result == .failure(RPCError("txn-mempool-conflict", "spends an output another mempool transaction spends")))
        // from submittx's own answer and back
        #expect(SubmitBatch.Answer(.success(SubmitTxResult(txid: txid.hex, fee: 1, size: 2))) == .accepted(txid: txid, fee: 1, size: 2))
        #expect(SubmitBatch.Answer(.success(SubmitTxResult(txid: "zz", fee: 1, size: 2))).result.failure?.code == "internal")
    }

    @Test func aReplyWithTheWrongNumberOfAnswersIsAnInternalError() {
        let bytes = SubmitBatch.encode([SubmitBatch.Answer.refused(RPCError("dust", "x"))])
        #expect(throws: RPCError.self) { try SubmitBatch.decodeAnswers(bytes, count: 2) }
        #expect((try? SubmitBatch.decodeAnswers(bytes + [0], count: 1)) == nil)
        #expect((try? SubmitBatch.decodeAnswers([SubmitBatch.version, 1, 7], count: 1)) == nil)
    }

    @Test func theEncoderKeepsToTheLimits() {
        #expect(SubmitBatch.encode([SubmitBatch.Item]()) == nil)
        #expect(SubmitBatch.encode(Array(repeating: SubmitBatch.Item(raw: [1], receivedAt: nil), count: SubmitBatch.maxCount + 1)) == nil)
        #expect(SubmitBatch.encode(Array(repeating: SubmitBatch.Item(raw: [1], receivedAt: nil), count: SubmitBatch.maxCount)) != nil)
        #expect(SubmitBatch.encode([SubmitBatch.Item(raw: Array(repeating: 0, count: SubmitBatch.maxTransactionBytes + 1), receivedAt: nil)]) == nil)
        let big = SubmitBatch.Item(raw: Array(repeating: 0, count: SubmitBatch.maxTransactionBytes), receivedAt: nil)
        #expect(SubmitBatch.encode(Array(repeating: big, count: SubmitBatch.maxBatchBytes / SubmitBatch.maxTransactionBytes)) == nil)
    }

    @Test func aMalformedBatchIsRefusedAsAWholeSayingWhy() throws {
        let good = try #require(SubmitBatch.encode(Self.items))
        let cases: [(String, [UInt8], String)] = [
            ("empty", [], "truncated input reading version"),
            ("another version", [2] + good.dropFirst(), "version 2"),
            ("no transaction", [SubmitBatch.version, 0], "no transaction"),
            ("a count the bytes cannot hold", [SubmitBatch.version, 0xfd, 0x00, 0x04, 0, 0], "transaction count"),
            ("a count over the limit", [SubmitBatch.version, 0xfd, 0x01, 0x04] + Array(repeating: 0, count: 5000), "exceeds the limit 1024"),
            ("truncated", Array(good.dropLast()), "truncated"),
            ("trailing bytes", good + [0], "trailing byte"),
            ("unknown flags", [SubmitBatch.version, 1, 4, 0], "flags 4"),
            ("a maxFee cut short", [SubmitBatch.version, 1, 2, 0, 0, 0], "maxFee"),
            ("a transaction over the limit", [SubmitBatch.version, 1, 0, 0xfe, 0x01, 0x00, 0x10, 0x00], "transaction length 1048577 exceeds the limit"),
        ]
        for (what, bytes, says) in cases {
            let error = try #require(Self.refusal(bytes), "\(what): accepted")
            #expect(error.code == "bad-params", "\(what): \(error)")
            #expect(error.message.hasPrefix("submittxs: malformed batch: ") && error.message.contains(says), "\(what): \(error.message)")
        }
        let huge = [SubmitBatch.version] + Array(repeating: 0, count: SubmitBatch.maxBatchBytes)
        #expect(Self.refusal(huge)?.message.contains("at most \(SubmitBatch.maxBatchBytes)") == true)
    }

    @Test func serveAnswersEachInTheRequestsOrder() async throws {
        let items = (0..<50).map { SubmitBatch.Item(raw: [UInt8($0)], receivedAt: Double($0)) }
        let reply = try await SubmitBatch.serve(try #require(SubmitBatch.encode(items))) { item in
            // later items finish first: the order is the request's, not the completion's
            try? await Task.sleep(for: .milliseconds(50 - Int(item.raw[0])))
            return item.raw[0] % 2 == 0 ? .accepted(txid: Hash256(bytes: Array(repeating: item.raw[0], count: 32)), fee: UInt64(item.raw[0]), size: 1)
                                        : .refused(RPCError("dust", "item \(item.raw[0]) at \(item.receivedAt ?? -1)"))
        }
        let answers = try SubmitBatch.decodeAnswers(reply, count: 50)
        for (i, answer) in answers.enumerated() {
            if i % 2 == 0 {
                #expect(answer == .accepted(txid: Hash256(bytes: Array(repeating: UInt8(i), count: 32)), fee: UInt64(i), size: 1))
            } else {
                #expect(answer == .refused(RPCError("dust", "item \(i) at \(Double(i))")))
            }
        }
    }
}

extension Result {
    var failure: Failure? {
        if case let .failure(e) = self { return e }
        return nil
    }
}
