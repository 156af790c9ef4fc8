import ArgumentParser
import Foundation

/// The entry point every service shares. A configuration error (a bad flag, a malformed or
/// missing environment variable, bus keys that cannot be read) is reported as one line on
/// standard error, `cairn-miner: configuration error: …`, instead of the usage text, and
/// exits with `CAIRN_CONFIG_ERROR_STATUS` (default 64, EX_USAGE).
///
/// The images set `CAIRN_CONFIG_ERROR_STATUS=0` and the compose and stack files restart
/// services `on-failure`: a crash (a non-zero status or a signal) is restarted, while a
/// configuration error, which no restart can fix, leaves the container stopped with that line
/// as its last log entry instead of a restart loop.
public protocol ServiceCommand: AsyncParsableCommand {}

extension ServiceCommand {
    public static func main() async {
        let name = configuration.commandName ?? "cairn"
        SupervisorWatch.start { FileHandle.standardError.write(Data(SupervisorWatch.goneMessage(name, supervisor: $0).utf8)) }
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data("\(name): configuration error: \(ServiceSupport.oneLine(message(for: error)))\n".utf8))
                Foundation.exit(ServiceSupport.configErrorStatus())
            }
            exit(withError: error)
        }
    }
}

extension ServiceSupport {
    /// The exit status of a configuration error: `CAIRN_CONFIG_ERROR_STATUS`, or 64 (EX_USAGE).
    public static func configErrorStatus(_ env: [String: String] = ProcessInfo.processInfo.environment) -> Int32 {
        env["CAIRN_CONFIG_ERROR_STATUS"].flatMap { Int32($0) } ?? 64
    }

    /// The first non-empty line of a message, with an "Error: " prefix removed.
    public static func oneLine(_ message: String) -> String {
        let line = message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.first { !$0.isEmpty } ?? message
        return line.hasPrefix("Error: ") ? String(line.dropFirst("Error: ".count)) : line
    }
}
