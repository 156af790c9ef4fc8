import Foundation
import Synchronization
import Testing
import TestSupport
@testable import Bus

/// The three transports every delivery test runs over.
enum Transport: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case inproc, ipc, tcp

    var testDescription: String { rawValue }

    /// A fresh endpoint to bind (tcp uses port `*`; read the real one from `lastEndpoint`).
    func endpoint() -> String {
        switch self {
        case .inproc: "inproc://bus-test-\(randomHex())"
        case .ipc: ipcEndpoint()
        case .tcp: "tcp://127.0.0.1:*"
        }
    }
}

/// An ipc endpoint with a random name under one shared temporary directory (short, for the
/// sun_path limit; libzmq removes the socket file when the binding socket closes).
func ipcEndpoint() -> String {
    "ipc://\(testDirectory)/\(randomHex()).ipc"
}

let testDirectory: String = {
    let path = "/tmp/cairn-bus-tests"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}()

func randomHex() -> String { BusFraming.hex(BusFraming.randomBytes(6)) }

/// A flag shared between tasks.
final class Flag: Sendable {
    private let state = Atomic<Bool>(false)
    var isSet: Bool { state.load(ordering: .acquiring) }
    func set() { state.store(true, ordering: .releasing) }
}

/// A counter shared between tasks.
final class Counter: Sendable {
    private let state = Atomic<Int>(0)
    var value: Int { state.load(ordering: .relaxed) }
    @discardableResult func increment() -> Int { state.add(1, ordering: .relaxed).newValue }
}

extension SubscriberEvent {
    var sequence: UInt32? {
        if case let .message(_, _, sequence) = self { return sequence }
        return nil
    }
}

/// Reads the next `count` events (nil if the stream ended first).
func next(_ count: Int, from iterator: inout EventStream<SubscriberEvent>.AsyncIterator) async -> [SubscriberEvent] {
    var events: [SubscriberEvent] = []
    while events.count < count, let event = await iterator.next() { events.append(event) }
    return events
}
