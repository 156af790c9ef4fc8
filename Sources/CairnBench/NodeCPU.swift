import Foundation

/// Where the CPU goes over a timed window: each of the node's processes (the services `cairn up`
/// started, and `cairn up` itself) and this one (the load generator), from utime + stime (fields 14
/// and 15 of `/proc/<pid>/stat`, all threads) read before and after, and the whole machine's busy
/// time from `/proc/stat` (the machine is shared: whatever else ran shows as the difference).
struct CPUSample {
    /// name → (pid, CPU seconds so far).
    var processes: [String: (pid: Int32, seconds: Double)]
    /// Seconds of all cores busy (not idle, not waiting on I/O) since boot.
    var machineBusy: Double?
    var at = ContinuousClock.now

    /// The node's processes (children of `cairn up`, by executable) and this process, now.
    static func take(node: BenchNode) -> CPUSample {
        var processes = [String: (pid: Int32, seconds: Double)]()
        let up = node.upPID
        if let s = ProcessStat(pid: up) { processes["cairn up"] = (up, s.cpuSeconds) }
        for (pid, name) in children(of: up) {
            if let s = ProcessStat(pid: pid) { processes[name] = (pid, s.cpuSeconds) }
        }
        if let s = ProcessStat(pid: getpid()) { processes["generator"] = (getpid(), s.cpuSeconds) }
        return CPUSample(processes: processes, machineBusy: machineBusySeconds())
    }

    /// The pids whose parent is `parent`, with their executable's name (less the `cairn-` prefix).
    static func children(of parent: Int32) -> [(Int32, String)] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var out = [(Int32, String)]()
        for entry in entries {
            guard let pid = Int32(entry), let stat = ProcessStat(pid: pid), stat.parent == parent,
                  let cmd = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
                  let first = cmd.split(separator: 0).first else { continue }
            var name = URL(fileURLWithPath: String(decoding: first, as: UTF8.self)).lastPathComponent
            if name.hasPrefix("cairn-") { name.removeFirst("cairn-".count) }
            out.append((pid, name))
        }
        return out
    }

    /// All cores' busy seconds since boot: the `cpu` line of /proc/stat less idle and iowait.
    static func machineBusySeconds() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return nil }
        let ticks = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard ticks.count >= 5 else { return nil }
        // user nice system idle iowait irq softirq steal (guest time is already in user).
        let busy = ticks.prefix(8).enumerated().filter { $0.offset != 3 && $0.offset != 4 }.reduce(0) { $0 + $1.element }
        return busy / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// The table of µs of CPU per accepted transaction over the window from `before` to `after`
    /// (`accepted` transactions), each process's share of the cores, and the sum against the cores'
    /// budget at the measured rate.
    static func report(_ title: String, before: CPUSample, after: CPUSample, accepted: Int, cores: Int) {
        let seconds = (after.at - before.at).seconds
        guard accepted > 0, seconds > 0 else { return }
        let rate = Double(accepted) / seconds
        let budget = Double(cores) * 1e6 / rate   // µs of the cores per transaction at this rate
        print("  CPU per accepted transaction, \(title) (\(accepted) accepted in \(String(format2: seconds)) s, \(Int(rate.rounded())) tx/s; /proc/<pid>/stat utime+stime):")
        print("    " + "process".padding(toLength: 24, withPad: " ", startingAt: 0) + "µs/tx".leftPadded(9) + "% of \(cores) cores".leftPadded(16))
        func line(_ name: String, _ cpu: Double) {
            let us = cpu / Double(accepted) * 1e6
            print("    " + name.padding(toLength: 24, withPad: " ", startingAt: 0) + String(format: "%9.1f", us)
                  + String(format: "%15.1f%%", cpu / (seconds * Double(cores)) * 100))
        }
        let order = ["edge", "mempool", "chainstore", "miner", "peerbridge", "accounts", "walletfront", "cairn up", "generator"]
        let names = after.processes.keys.sorted { (order.firstIndex(of: $0) ?? order.count, $0) < (order.firstIndex(of: $1) ?? order.count, $1) }
        var sum = 0.0
        for name in names {
            guard let a = after.processes[name] else { continue }
            guard let b = before.processes[name], b.pid == a.pid else {
                if let b = before.processes[name] {
                    print("    \(name): restarted during the window (pid \(b.pid) → \(a.pid)), left out")
                } else {
                    print("    \(name): not running at the window's start (pid \(a.pid) at its end), left out")
                }
                continue
            }
            let cpu = a.seconds - b.seconds
            sum += cpu
            line(name == "chainstore" ? "chain store" : name == "generator" ? "generator (the bench)" : name, cpu)
        }
        for (name, b) in before.processes where after.processes[name] == nil {
            print("    \(name): exited during the window (pid \(b.pid)), left out")
        }
        line("sum", sum)
        if let a = after.machineBusy, let b = before.machineBusy {
            line("machine (all processes)", a - b)
        }
        print("    budget at \(Int(rate.rounded())) tx/s: \(String(format: "%.1f", budget)) µs/tx (\(cores) cores); the sum is \(String(format: "%.0f", sum / Double(accepted) * 1e6 / budget * 100))% of it")
    }
}

/// The fields of `/proc/<pid>/stat` the CPU table needs.
struct ProcessStat {
    var parent: Int32
    /// utime + stime (fields 14 and 15), seconds.
    var cpuSeconds: Double

    init?(pid: Int32) {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // After the command's closing parenthesis: field 3 (state) onwards.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let parent = Int32(fields[1]), let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        self.parent = parent
        cpuSeconds = (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
