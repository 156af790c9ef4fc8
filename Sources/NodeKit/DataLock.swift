import Foundation

/// An exclusive lock on a file in the data folder (flock), held for the life
/// of the process: a second process that wants the same data is told it is in use.
public final class DataLock: Sendable {
    private let fd: Int32
    public let path: String

    public enum Failure: Error, CustomStringConvertible {
        case inUse(path: String, holder: String)
        case cannotOpen(path: String, errno: Int32)

        public var description: String {
            switch self {
            case .inUse(let path, let holder):
                return "\(path) is in use by another Cairn process\(holder.isEmpty ? "" : " (\(holder))"); stop it first or choose another --data folder"
            case .cannotOpen(let path, let e): return "cannot open \(path): \(String(cString: strerror(e)))"
            }
        }
    }

    public init(directory: URL, name: String) throws {
        try ServiceSupport.ensureDirectory(directory)
        path = directory.appendingPathComponent(name).path
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure.cannotOpen(path: path, errno: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(fd)
            throw Failure.inUse(path: path, holder: holder)
        }
        ftruncate(fd, 0)
        let note = "pid \(getpid())\n"
        _ = note.withCString { write(fd, $0, strlen($0)) }
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
