import Foundation

/// The service executables, next to `cairn` itself.
struct Binaries: Sendable {
    let directory: URL
    static let names = ["cairn-chainstore", "cairn-mempool", "cairn-edge", "cairn-miner", "cairn-walletfront", "cairn-peerbridge", "cairn-accounts"]

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static func locate(needing needed: [String] = names) throws -> Binaries {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        let dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        let b = Binaries(directory: dir)
        let missing = needed.filter { !FileManager.default.isExecutableFile(atPath: b.path($0)) }
        guard missing.isEmpty else {
            throw CLIError("missing next to \(exe): \(missing.joined(separator: ", ")); build them with `swift build` (all products)")
        }
        return b
    }
}
