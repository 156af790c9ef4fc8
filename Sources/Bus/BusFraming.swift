/// Wire formats shared by the Bus services. All integers are little-endian.
///
/// **Publications** (Bitcoin Core's ZMQ notification framing): three frames
/// `topic | body | sequence` where `sequence` is a 4-byte little-endian UInt32 counted per topic per
/// publisher from 0.
///
/// **Sync** (slow-joiner handshake, see `Publisher`): same three frames; topic =
/// `0xFF "cairn.sync/" <subscriber-chosen suffix>`, sequence frame = 4 zero bytes (a sync never uses a
/// normal topic's counter), body = `version 0x01 | instance id (16 bytes) | count (u32) |
/// count × (topic length (u16) | topic UTF-8 bytes | next sequence (u32))`.
///
/// **Requests**: DEALER → ROUTER frames `request id (16 bytes: 8 random client-instance bytes +
/// u64 counter) | body`. **Replies**: `request id | status (1 byte: 0 ok, 1 handler error) |
/// payload` (the handler's bytes, or the error description in UTF-8).
enum BusFraming {
    /// 0xFF never occurs in UTF-8, so a sync topic cannot prefix-match a `String` topic, and it sorts
    /// after every such topic in libzmq's subscription trie (which resends subscriptions in that order
    /// on reconnect, so the sync subscription always follows the real ones).
    static let syncPrefix: [UInt8] = [0xFF] + Array("cairn.sync/".utf8)
    static let syncVersion: UInt8 = 1
    static let requestIDSize = 16

    static let statusOK: UInt8 = 0
    static let statusError: UInt8 = 1

    static func le32(_ value: UInt32) -> [UInt8] {
        [UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8),
         UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 24)]
    }

    static func readLE32<C: Collection<UInt8>>(_ bytes: C) -> UInt32? where C.Index == Int {
        guard bytes.count == 4 else { return nil }
        let s = bytes.startIndex
        return UInt32(bytes[s]) | UInt32(bytes[s + 1]) << 8 | UInt32(bytes[s + 2]) << 16 | UInt32(bytes[s + 3]) << 24
    }

    static func le64(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xF)]] })
    }

    static func isSyncTopic(_ topic: [UInt8]) -> Bool { topic.starts(with: syncPrefix) }
}

/// The body of a sync message: which publisher instance, and the next sequence number per topic.
struct SyncSnapshot: Equatable, Sendable {
    var instance: [UInt8]
    var next: [String: UInt32]

    func encoded() -> [UInt8] {
        var out: [UInt8] = [BusFraming.syncVersion]
        out += instance
        out += BusFraming.le32(UInt32(next.count))
        for (topic, sequence) in next.sorted(by: { $0.key < $1.key }) {
            let bytes = Array(topic.utf8)
            out += [UInt8(truncatingIfNeeded: bytes.count), UInt8(truncatingIfNeeded: bytes.count >> 8)]
            out += bytes
            out += BusFraming.le32(sequence)
        }
        return out
    }

    init(instance: [UInt8], next: [String: UInt32]) {
        self.instance = instance
        self.next = next
    }

    /// Parses a sync body; nil if malformed.
    init?(decoding body: [UInt8]) {
        var cursor = 0
        func take(_ n: Int) -> ArraySlice<UInt8>? {
            guard n >= 0, body.count - cursor >= n else { return nil }
            defer { cursor += n }
            return body[cursor..<cursor + n]
        }
        guard let version = take(1), version.first == BusFraming.syncVersion,
              let instance = take(16), let countBytes = take(4),
              let count = BusFraming.readLE32(countBytes) else { return nil }
        var next: [String: UInt32] = [:]
        for _ in 0..<count {
            guard let lengthBytes = take(2) else { return nil }
            let length = Int(lengthBytes[lengthBytes.startIndex]) | Int(lengthBytes[lengthBytes.startIndex + 1]) << 8
            guard let topic = take(length), let sequenceBytes = take(4),
                  let sequence = BusFraming.readLE32(sequenceBytes) else { return nil }
            next[String(decoding: topic, as: UTF8.self)] = sequence
        }
        guard cursor == body.count else { return nil }
        self.instance = Array(instance)
        self.next = next
    }
}
