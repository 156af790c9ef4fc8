import Foundation

/// A condition that did not hold before its deadline.
public struct TimedOut: Error, CustomStringConvertible {
    public let what: String
    public init(what: String) { self.what = what }
    public var description: String { "timed out waiting until \(what)" }
}

/// Polls `condition` until it holds; the timeout is a hang guard, not a measurement.
public func waitUntil(_ what: String, timeout: Double = 60, every: Double = 0.2, _ condition: () async throws -> Bool) async throws {
    var deadline = Date().addingTimeInterval(timeout)
    while true {
        if (try? await condition()) == true { return }
        guard Date() < deadline else { throw TimedOut(what: what) }
        let asleep = Date()
        try await Task.sleep(for: .milliseconds(Int(every * 1000)))
        // Time this poller was not scheduled at all (the test process's cooperative pool was busy
        // elsewhere, so what it waits for could not run either) does not count against the timeout;
        // the condition is always checked once more after a wait.
        let stalled = Date().timeIntervalSince(asleep) - every
        if stalled > 1 { deadline = deadline.addingTimeInterval(stalled) }
    }
}

/// Runs a program to its end; returns its status and its output (stdout and stderr, via a file so
/// no pipe can fill up). The wait happens on a plain thread, never on the cooperative pool.
public func runProgram(_ exe: URL, _ args: [String], env: [String: String] = [:]) async throws -> (Int32, String) {
    let p = Process()
    p.executableURL = exe
    p.arguments = args
    p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-out-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    let h = try FileHandle(forWritingTo: out)
    p.standardOutput = h
    p.standardError = h
    try p.run()
    let status: Int32 = await withCheckedContinuation { c in
        Thread { p.waitUntilExit(); c.resume(returning: p.terminationStatus) }.start()
    }
    try? h.close()
    let text = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
    try? FileManager.default.removeItem(at: out)
    return (status, text)
}
