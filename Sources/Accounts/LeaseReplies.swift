import Foundation
import NodeKit
import Synchronization

/// The answers to an edge's recent lease requests, by edge and request id (`LeaseRequest.id`). An
/// edge's RPC client sends a request again when the answer is late (Lazy Pirate), and the first
/// may have been served: the repeat gets the first's answer (awaited if it is still being
/// computed) instead of a second grant, so tokens are taken from a key's limits once per request.
final class LeaseReplies: Sendable {
    /// How many recent requests are remembered (an edge's retries come within seconds).
    static let kept = 1_024
    private let state = Mutex<(tasks: [String: Task<LeaseReply, any Error>], order: [String])>(([:], []))

    func reply(edge: String, id: UInt64, compute: @escaping @Sendable () async throws -> LeaseReply) async throws -> LeaseReply {
        let key = "\(edge)#\(id)"
        let task = state.withLock { s -> Task<LeaseReply, any Error> in
            if let known = s.tasks[key] { return known }
            let t = Task { try await compute() }
            s.tasks[key] = t
            s.order.append(key)
            if s.order.count > Self.kept { s.tasks[s.order.removeFirst()] = nil }
            return t
        }
        return try await task.value
    }
}
