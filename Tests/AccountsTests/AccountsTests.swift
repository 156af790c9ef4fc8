@testable import Accounts
import Foundation
import GRDB
import NodeKit
import Testing

/// The accounts service's store, limiter and usage reports, in process on a temporary accounts.sqlite.
@Suite("Accounts service")
struct AccountsTests {
    static func withStore<T>(_ body: (Store) async throws -> T) async throws -> T {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-accounts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Store.open(path: dir.appendingPathComponent("accounts.sqlite").path)
        let result = try await body(store)
        try store.db.close()
        return result
    }

    @Test func keysAreStoredHashedAndShownOnce() async throws {
        try await Self.withStore { store in
            let created = try await store.createKey(NewKey(name: "app", rps: 5, daily: 100, origins: ["https://app.example/"], methods: ["getblockcount"]))
            let (id, secret) = try #require(APIKeyFormat.parse(created.key))
            #expect(id == created.info.id)
            #expect(secret.count == 43)
            #expect(created.info.origins == ["https://app.example"])
            let record = try #require(try await store.record(id: id))
            #expect(record.secretHash == Store.hash(secret))
            // Nothing in the file holds the secret.
            let rows = try await store.db.read { db in try Row.fetchAll(db, sql: "SELECT * FROM apikey") }
            #expect(!rows.description.contains(secret))
            // The default account, created on first use, and listed.
            #expect(try await store.accounts().map(\.name) == ["operator"])
            #expect(try await store.keys(account: created.info.account).map(\.id) == [id])
        }
    }

    @Test func badKeysAreRefusedWithTheirReason() async throws {
        try await Self.withStore { store in
            await #expect(throws: RPCError.self) { try await store.createKey(NewKey(name: "", rps: 0, daily: 0)) }
            await #expect(throws: RPCError.self) { try await store.createKey(NewKey(name: "x", rps: -1, daily: 0)) }
            await #expect(throws: RPCError.self) { try await store.createKey(NewKey(name: "x", rps: 0, daily: 0, origins: ["not a url"])) }
            await #expect(throws: RPCError.self) { try await store.createKey(NewKey(name: "x", account: "0000000000000000", rps: 0, daily: 0)) }
            await #expect(throws: RPCError.self) { try await store.revoke(id: "0000000000000000") }
        }
    }

    @Test func revokeAndRotate() async throws {
        try await Self.withStore { store in
            let created = try await store.createKey(NewKey(name: "app", rps: 0, daily: 0))
            let rotated = try await store.rotate(id: created.info.id)
            #expect(rotated.info.id == created.info.id)
            #expect(rotated.key != created.key)
            let record = try #require(try await store.record(id: created.info.id))
            #expect(record.secretHash == Store.hash(APIKeyFormat.parse(rotated.key)!.secret))
            let revoked = try await store.revoke(id: created.info.id)
            #expect(revoked.revoked != nil)
            await #expect(throws: RPCError.self) { try await store.rotate(id: created.info.id) }
        }
    }

    @Test func aReportIsAppliedOnceWhateverTimesItIsSent() async throws {
        try await Self.withStore { store in
            let key = try await store.createKey(NewKey(name: "app", rps: 0, daily: 0)).info.id
            let hour = 1_795_560_000
            let r1 = UsageReport(edge: "e1", sequence: 1, counts: [UsageCount(key: key, method: "getblockcount", hour: hour, requests: 5, errors: 1, refused: 2)])
            #expect(try await store.apply(r1))
            #expect(!(try await store.apply(r1)), "a resent report changes nothing")
            let r2 = UsageReport(edge: "e1", sequence: 2, counts: [UsageCount(key: key, method: "getblockcount", hour: hour, requests: 3, errors: 0, refused: 0)])
            let other = UsageReport(edge: "e2", sequence: 1, counts: [UsageCount(key: key, method: "getblockcount", hour: hour, requests: 10, errors: 0, refused: 0)])
            #expect(try await store.apply(r2))
            #expect(try await store.apply(other))
            #expect(!(try await store.apply(r1)))
            let rows = try await store.usage(key: key, since: hour)
            #expect(rows == [UsageRow(key: key, method: "getblockcount", hour: hour, requests: 18, errors: 1, refused: 2)])
        }
    }

    @Test func aLeaseSentAgainIsChargedOnce() async throws {
        try await Self.withStore { store in
            let service = AccountsService(store: store, publisher: nil, logger: .init(label: "test"))
            let key = try await store.createKey(NewKey(name: "app", rps: 0, daily: 10)).info.id
            let request = LeaseRequest(edge: "e1", wants: [LeaseWant(key: key, want: 6, returned: 0)], report: nil, id: 7)
            // the edge's client resends a request whose answer was late: the same answer, taken once
            async let a = service.lease(request)
            async let b = service.lease(request)
            let (first, again) = try await (a, b)
            #expect(first == again && first.grants.first?.tokens == 6)
            let third = try await service.lease(request)
            #expect(third == first)
            // a new request is a new charge: 4 of the day's 10 are left
            var next = request
            next.id = 8
            let fresh = try await service.lease(next)
            #expect(fresh.grants.first?.tokens == 4)
            // without an id (an older edge), every request is a charge
            next.id = nil
            #expect(try await service.lease(next).grants.first?.tokens == 0)
        }
    }

    @Test func usageCountsCreditsAndTheDailyQuotaStartsFromThem() async throws {
        try await Self.withStore { store in
            let created = try await store.createKey(NewKey(name: "app", rps: 0, daily: 10))
            let record = try #require(try await store.record(id: created.info.id))
            let hour = Int(Date().timeIntervalSince1970) / 3600 * 3600
            // Two getblock calls at verbosity 2 (4 credits each), and pushed notifications (counted, no credits).
            try await store.apply(UsageReport(edge: "e", sequence: 1, counts: [
                UsageCount(key: record.info.id, method: "getblock", hour: hour, requests: 2, errors: 0, refused: 0, credits: 8),
                UsageCount(key: record.info.id, method: "subscription:newHeads", hour: hour, requests: 5, errors: 0, refused: 0, credits: 0),
            ]))
            let rows = try await store.usage(key: record.info.id, since: hour)
            #expect(rows.map(\.credits) == [8, 0])
            #expect(try await store.requests(key: record.info.id, since: hour) == 8, "the day's credits, not its requests")
            let g = try await Limiter(store: store).grant(LeaseWant(key: record.info.id, want: 100, returned: 0), record: record)
            #expect(g.tokens == 2)
            // A report from an edge of before credits (no "credits" member): one a request.
            let old = try JSONDecoder().decode(UsageCount.self, from: Data(#"{"key":"k","method":"m","hour":0,"requests":3,"errors":0,"refused":1}"#.utf8))
            #expect(old.credits == 3)
        }
    }

    @Test func theBucketGrantsNoMoreThanItsTokensAndTakesBackWhatIsReturned() async throws {
        try await Self.withStore { store in
            let record = KeyRecord(info: KeyInfo(id: "00000000000000aa", account: "a", name: "k", rps: 10, daily: 0, origins: [], methods: [],
                                                 created: 0, revoked: nil), secretHash: "")
            let limiter = Limiter(store: store)
            // Two edges asking at once share the one bucket: 10 tokens, not 20.
            let a = try await limiter.grant(LeaseWant(key: record.info.id, want: 8, returned: 0), record: record)
            let b = try await limiter.grant(LeaseWant(key: record.info.id, want: 8, returned: 0), record: record)
            #expect(a.tokens == 8)
            #expect(b.tokens <= 3, "2 left, and at most what refilled in the meantime")
            // What an edge gives back can be granted again.
            let c = try await limiter.grant(LeaseWant(key: record.info.id, want: 5, returned: 5), record: record)
            #expect(c.tokens == 5)
            let revoked = KeyRecord(info: { var i = record.info; i.revoked = 1; return i }(), secretHash: "")
            #expect(try await limiter.grant(LeaseWant(key: record.info.id, want: 1, returned: 0), record: revoked).refusal == "revoked")
            #expect(try await limiter.grant(LeaseWant(key: "00000000000000bb", want: 1, returned: 0), record: nil).refusal == "unknown")
        }
    }

    @Test func theDailyQuotaCountsGrantsAndStartsFromTheUsageAfterARestart() async throws {
        try await Self.withStore { store in
            let created = try await store.createKey(NewKey(name: "app", rps: 0, daily: 10))
            let record = try #require(try await store.record(id: created.info.id))
            let now = Date().timeIntervalSince1970
            try await store.apply(UsageReport(edge: "e", sequence: 1, counts: [UsageCount(key: record.info.id, method: "m", hour: Int(now) / 3600 * 3600,
                                                                                          requests: 7, errors: 0, refused: 0)]))
            // A new limiter (the service restarted): 7 of 10 used today already.
            let limiter = Limiter(store: store)
            let g = try await limiter.grant(LeaseWant(key: record.info.id, want: 100, returned: 0), record: record)
            #expect(g.tokens == 3)
            #expect(g.dailyRemaining == 0)
            let refused = try await limiter.grant(LeaseWant(key: record.info.id, want: 1, returned: 0), record: record)
            #expect(refused.tokens == 0)
            #expect(refused.refusal == "daily")
            #expect(refused.retryAfter > 0 && refused.retryAfter <= 86400)
            let back = try await limiter.grant(LeaseWant(key: record.info.id, want: 1, returned: 2), record: record)
            #expect(back.tokens == 1, "returned tokens are requests not made")
        }
    }
}
