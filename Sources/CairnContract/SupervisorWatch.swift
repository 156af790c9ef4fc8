import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The contract between a supervisor (`cairn up`, `cairn net`) and the processes it starts: a child
/// stops when its supervisor is gone, even when the supervisor died by SIGKILL.
///
/// The supervisor starts each child through `setpriv --pdeathsig TERM`, so Linux sends the child
/// SIGTERM when the supervisor dies. That alone has two gaps, both real on a loaded machine:
/// - a supervisor killed after the fork but before `setpriv` set the signal leaves a child with no
///   parent-death signal at all (prctl(2) says to check the parent after setting it; `setpriv` does not);
/// - `cairn up` (a child of `cairn net`) ignores SIGTERM before its dispatch source watches for it
///   (`SignalWatcher`): a SIGTERM in between is lost. (The services' swift-service-lifecycle ignores
///   it first only on Darwin: on Linux a SIGTERM before its handler is installed ends the process by
///   the default action, which every service survives, as it does kill -9.)
///
/// So the supervisor also names itself in `CAIRN_SUPERVISOR_PID`, and a child started with it runs a
/// watch thread that sends its own process SIGTERM once a second for as long as its parent is no
/// longer that process (Linux gives an orphan a new parent, never the dead supervisor's pid: it
/// goes to a process alive before the supervisor died). A child already shutting down ignores
/// the repeats (the service group acts on the first; `cairn up` stops once); one still running
/// `graceSeconds` after it was first told kills itself, as the supervisor's own stop does to a
/// child that outlives its SIGTERM. A process started without the variable (compose, swarm, by
/// hand) runs no watch. The variable is taken out of the process's environment once read, so a
/// process it starts is not mistaken for its child.
public enum SupervisorWatch {
    /// The environment variable naming the supervisor's process id.
    public static let environmentKey = "CAIRN_SUPERVISOR_PID"

    /// How long an orphan may take to stop after its first SIGTERM before it kills itself: longer
    /// than `cairn up`'s own stop of its children (10 s, then SIGKILL and up to 5 s for them to go),
    /// so an orphaned `cairn up` (under `cairn net`) finishes that stop and says so.
    public static let graceSeconds = 20

    /// The supervisor's process id from `env`, nil when unset or not a process id above 1.
    public static func supervisor(in env: [String: String] = ProcessInfo.processInfo.environment) -> pid_t? {
        guard let text = env[environmentKey], let pid = pid_t(text), pid > 1 else { return nil }
        return pid
    }

    /// The environment a supervisor gives its children: its own, naming itself as their supervisor.
    public static func childEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> [String: String] {
        var out = env
        out[environmentKey] = String(getpid())
        return out
    }

    /// Starts the watch when `env` names a supervisor. `gone` is called once, on the watch thread,
    /// when the parent is first seen to be another process (the caller logs it).
    public static func start(_ env: [String: String] = ProcessInfo.processInfo.environment,
                             gone: @escaping @Sendable (pid_t) -> Void = { _ in }) {
        guard let supervisor = supervisor(in: env) else { return }
        unsetenv(environmentKey)
        // Its own thread: one cheap syscall a second, never a task on the cooperative pool.
        let thread = Thread {
            var told = 0
            while true {
                if let signal = signal(parent: getppid(), supervisor: supervisor, told: told) {
                    if told == 0 { gone(supervisor) }
                    told += 1
                    kill(getpid(), signal)
                }
                Thread.sleep(forTimeInterval: 1)
            }
        }
        thread.name = "cairn.supervisor-watch"
        thread.start()
    }

    /// What one look of the watch sends its own process: nothing while `parent` is the supervisor;
    /// once it is not, SIGTERM the first `graceSeconds` times (`told`: how many were sent before),
    /// then SIGKILL.
    public static func signal(parent: pid_t, supervisor: pid_t, told: Int) -> Int32? {
        guard parent != supervisor else { return nil }
        return told < graceSeconds ? SIGTERM : SIGKILL
    }

    /// The line a child writes when its supervisor is gone.
    public static func goneMessage(_ name: String, supervisor: pid_t) -> String {
        "\(name): its supervisor (process \(supervisor)) is gone: stopping\n"
    }
}
