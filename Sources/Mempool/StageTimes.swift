import Foundation
import Synchronization

/// Optional timing of where an acknowledgement's time goes inside the mempool (issue 11's
/// acknowledgement tail): off unless `CAIRN_MEMPOOL_STAGE_TIMES` names a file; then every
/// `interval` one line per stage is appended to it (`stage n= p50= p99= max=`, milliseconds; sizes
/// for the `*Size` stages), and the window starts again. Off, a record is one load of a flag.
///
/// Stages: `precheck` (decode, coins, signatures before the gate), `gateWait` (a submission
/// waiting for the gate), `gateHold` (its gated stages), `ackWait` (from leaving the gate to its
/// commit's answer), `total` (a submission in the mempool, start to answer); `blockGateWait` and
/// `blockGateHold` (a connected block's removal behind the gate), `commit` (one SQLite
/// transaction of the writer), `commitSize` (its queued changes), `publish` (a batch's
/// announcements after its commit), `snapshot` (block assembly's choice on the actor), `assemble`
/// (a template made from that choice), `didTemplate` (the pool told what went in), `render` (a
/// template's reply bytes, once per template and form).
final class StageTimes: Sendable {
    enum Stage: String, CaseIterable, Sendable {
        case precheck, gateWait, gateHold, ackWait, total
        case blockGateWait, blockGateHold, commit, commitSize, publish, snapshot, assemble, didTemplate, render
    }

    static let shared = StageTimes(path: ProcessInfo.processInfo.environment["CAIRN_MEMPOOL_STAGE_TIMES"])

    let path: String?
    private let samples = Mutex([Stage: [Double]]())
    private let started: Bool

    init(path: String?, interval: Duration = .seconds(5)) {
        self.path = path?.isEmpty == false ? path : nil
        started = self.path != nil
        if started {
            Task.detached { [weak self] in
                while let me = self {
                    try? await Task.sleep(for: interval)
                    me.flush()
                }
            }
        }
    }

    var enabled: Bool { started }

    /// Now, for the elapsed times below (monotonic seconds).
    @inline(__always)
    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// A duration in seconds (or a size for the `*Size` stages).
    func record(_ stage: Stage, _ value: Double) {
        guard started else { return }
        samples.withLock { $0[stage, default: []].append(value) }
    }

    /// Since `start` (from `now()`).
    func record(_ stage: Stage, since start: Double) {
        guard started else { return }
        record(stage, Self.now() - start)
    }

    /// The window's lines, and the window emptied.
    func summary() -> [String] {
        let taken = samples.withLock { s -> [Stage: [Double]] in
            defer { s = [:] }
            return s
        }
        return Stage.allCases.compactMap { stage in
            guard var v = taken[stage], !v.isEmpty else { return nil }
            v.sort()
            func q(_ p: Double) -> Double { v[min(v.count - 1, Int((p * Double(v.count - 1)).rounded()))] }
            let scale = stage == .commitSize ? 1.0 : 1000.0
            return String(format: "%@ n=%d p50=%.2f p99=%.2f max=%.2f", stage.rawValue, v.count, q(0.5) * scale, q(0.99) * scale, v.last! * scale)
        }
    }

    private func flush() {
        guard let path else { return }
        let lines = summary()
        guard !lines.isEmpty else { return }
        let text = String(format: "t=%.1f\n", Date().timeIntervalSince1970) + lines.map { "  " + $0 }.joined(separator: "\n") + "\n"
        if let handle = FileHandle(forWritingAtPath: path) {
            handle.seekToEndOfFile()
            handle.write(Data(text.utf8))
            try? handle.close()
        } else {
            _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        }
    }
}
