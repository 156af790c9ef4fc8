import Foundation

/// What the CLI tells its user on standard error.
enum Output {
    static func note(_ text: String) {
        FileHandle.standardError.write(Data("cairn: \(text)\n".utf8))
    }
    static func error(_ text: String) {
        FileHandle.standardError.write(Data("error: \(text)\n".utf8))
    }
}
