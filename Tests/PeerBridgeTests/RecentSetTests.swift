@testable import PeerBridge
import Testing

@Suite("Recent set (seen-sets, known inventory)")
struct RecentSetTests {
    @Test("recent set: bounded, forgets the oldest first")
    func recentSet() {
        var s = RecentSet<Int>(limit: 3)
        let fresh = [s.insert(1), s.insert(2), s.insert(3)]
        let again = s.insert(2)
        let fourth = s.insert(4)
        #expect(fresh == [true, true, true] && !again && fourth)
        #expect(!s.contains(1) && s.contains(2) && s.contains(4))
        for i in 5..<1000 { s.insert(i) }
        #expect(s.count == 3 && s.contains(999) && !s.contains(996))
    }

    @Test("recent set: a removed member leaves no stale entry (re-inserted, it is the newest; remove/insert churn stays bounded)")
    func recentSetRemove() {
        var s = RecentSet<String>(limit: 3)
        s.insert("a"); s.remove("a")
        s.insert("b"); s.insert("c"); s.insert("a"); s.insert("d")
        #expect(s.contains("a") && !s.contains("b") && s.contains("c") && s.contains("d"), "the oldest (b) goes, not the re-inserted a")
        var churn = RecentSet<Int>(limit: 10)
        for i in 0..<5 { churn.insert(i) }
        for _ in 0..<10_000 { churn.remove(99); churn.insert(99) }
        #expect(churn.count == 6 && churn.backlog <= 2 * 16 + 1)
    }
}
