import Foundation

/// Reads a password: `CAIRN_WALLET_PASSWORD` for scripts, else a prompt on the
/// terminal with echo off (termios).
enum Password {
    static let envName = "CAIRN_WALLET_PASSWORD"

    enum Failure: Error, CustomStringConvertible {
        case noTerminal
        case noTerminalFor(what: String, env: String)
        case mismatch
        case empty
        var description: String {
            switch self {
            case .noTerminal: return "no terminal to ask for the password: set \(Password.envName)"
            case .noTerminalFor(let what, let env): return "no terminal to ask for \(what): set \(env)"
            case .mismatch: return "the passwords do not match"
            case .empty: return "an empty password is not allowed"
            }
        }
    }

    static func read(prompt: String, confirm: Bool = false) throws -> String {
        if let p = ProcessInfo.processInfo.environment[envName] {
            guard !p.isEmpty else { throw Failure.empty }
            return p
        }
        let first = try prompted(prompt)
        guard !first.isEmpty else { throw Failure.empty }
        if confirm {
            let second = try prompted("Repeat the password: ")
            guard first == second else { throw Failure.mismatch }
        }
        return first
    }

    /// Another secret (the recovery phrase): the environment variable `env`, else a prompt with echo off.
    static func readSecret(prompt: String, env: String, what: String) throws -> String {
        if let v = ProcessInfo.processInfo.environment[env], !v.isEmpty { return v }
        do { return try prompted(prompt) } catch Failure.noTerminal { throw Failure.noTerminalFor(what: what, env: env) }
    }

    /// Prompts on /dev/tty with echo turned off, restoring the terminal afterwards.
    private static func prompted(_ prompt: String) throws -> String {
        let fd = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw Failure.noTerminal }
        defer { close(fd) }
        _ = prompt.withCString { write(fd, $0, strlen($0)) }
        var saved = termios()
        let isTTY = tcgetattr(fd, &saved) == 0
        if isTTY {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            quiet.c_lflag |= tcflag_t(ECHONL)
            tcsetattr(fd, TCSAFLUSH, &quiet)
        }
        defer { if isTTY { tcsetattr(fd, TCSAFLUSH, &saved) } }
        var bytes = [UInt8]()
        var c: UInt8 = 0
        while true {
            let n = Glibc.read(fd, &c, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 || c == UInt8(ascii: "\n") { break }
            if c != UInt8(ascii: "\r") { bytes.append(c) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
