import Foundation
import Synchronization

/// The one table of port offsets (Tests/ports.json, read by the Python helpers too): each suite
/// that starts nodes draws its offsets from its own range, so suites running side by side (and
/// other checkouts on the same machine) never share a port.
public enum Ports {
    public struct Range: Decodable, Sendable {
        public let first: Int
        public let last: Int
        public let who: String
        /// The service ports this range's users listen on (+ offset); nil: all of `servicePorts`.
        public let ports: [Int]?
    }

    public struct Table: Decodable, Sendable {
        public let servicePorts: [Int]
        public let ephemeral: [Int]
        public let reserved: [Int]
        public let step: Int
        public let ranges: [String: Range]

        /// Every port the range `name` may listen on.
        public func ports(of name: String) -> Set<Int> {
            guard let r = ranges[name] else { return [] }
            var out = Set<Int>()
            for offset in stride(from: r.first, through: r.last, by: step) {
                for p in r.ports ?? servicePorts { out.insert(p + offset) }
            }
            return out
        }
    }

    public static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ports.json")

    public static let table: Table = {
        do {
            return try JSONDecoder().decode(Table.self, from: Data(contentsOf: file))
        } catch {
            fatalError("Tests/ports.json unreadable (\(file.path)): \(error)")
        }
    }()

    /// The next slot per range: a random first slot per test process, then one after the other.
    private static let next = Mutex<[String: Int]>([:])

    /// `count` consecutive offsets (one step apart) from the range `name`, never handed out twice
    /// by this process until the range wraps.
    public static func offsets(_ name: String, count: Int = 1) -> [Int] {
        guard let r = table.ranges[name] else { fatalError("no range \(name) in Tests/ports.json") }
        let slots = (r.last - r.first) / table.step + 1
        precondition(count <= slots)
        let first = next.withLock { n -> Int in
            var slot = n[name] ?? Int.random(in: 0..<slots)
            if slot + count > slots { slot = 0 }
            n[name] = (slot + count) % slots
            return slot
        }
        return (0..<count).map { r.first + (first + $0) * table.step }
    }

    /// One offset from the range `name`.
    public static func offset(_ name: String) -> Int { offsets(name)[0] }
}
