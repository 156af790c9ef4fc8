@testable import PeerBridge
import Testing

@Suite("Address book: configured and learned URLs, the node found at a URL")
struct AddressBookTests {
    @Test("only sane ws:// URLs are diallable")
    func diallable() {
        for good in ["ws://10.1.1.1:8342", "ws://[::1]:8342", "ws://node.example:8342/", "ws://a-b.c:1"] {
            #expect(AddressBook.isDiallable(good), "\(good)")
        }
        for bad in ["ws://10.1.1.1", "ws://10.1.1.1:0", "ws://10.1.1.1:70000", "ws://:8342", "ws://user@10.1.1.1:8342",
                    "ws://10.1.1.1:8342/path", "ws://a b:1", "wss://10.1.1.1:8342", "ws://-x:1", "ws://[zz]:1",
                    "ws://" + String(repeating: "a", count: 200) + ":1"] {
            #expect(!AddressBook.isDiallable(bad), "\(bad)")
        }
    }

    @Test("learning: junk skipped, bounded with random eviction of a learned URL, configured ones kept")
    func learnBounded() {
        var book = AddressBook()
        book.addConfigured("ws://seed:1")
        book.learn(["ws://10.0.0.1:1", "ftp://x:1", "ws://10.0.0.1:1"], ownNonce: 9)
        #expect(book.urls == ["ws://10.0.0.1:1", "ws://seed:1"])
        #expect(book.configuredCount == 1 && book.isConfigured("ws://seed:1") && !book.isConfigured("ws://10.0.0.1:1"))
        book.learn((0..<(AddressBook.maxLearned + 50)).map { "ws://10.9.\($0 / 250).\($0 % 250):8342" }, ownNonce: 9)
        #expect(book.learned.count == AddressBook.maxLearned)
        #expect(book.contains("ws://seed:1"), "a configured URL is never evicted")
        #expect(book.contains("ws://10.9.4.49:8342"), "the last one learned made room for itself")
    }

    @Test("forgetting a learned URL forgets the node found there, unless that node is us; configured URLs stay")
    func forget() {
        var book = AddressBook()
        book.addConfigured("ws://seed:1")
        book.learn(["ws://a:1", "ws://b:1"], ownNonce: 9)
        book.found(5, at: "ws://a:1")
        book.found(9, at: "ws://b:1")
        book.forgetLearned("ws://a:1", ownNonce: 9)
        book.forgetLearned("ws://b:1", ownNonce: 9)
        book.forgetLearned("ws://seed:1", ownNonce: 9)
        #expect(book.urls == ["ws://seed:1"])
        #expect(book.node(at: "ws://a:1") == nil)
        #expect(book.node(at: "ws://b:1") == 9, "ourselves stays remembered, so we never dial it again")
    }
}
