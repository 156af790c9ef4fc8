import Foundation
import Hummingbird
import Logging

/// The operator's credentials, one set for everything that needs them: the JSON-RPC methods that
/// change the node's operation (`submitblock`, `addnode`, `setnetworkactive`), the operator routes
/// (`/api/operator/…`: verify, API keys, usage) and `cairn rpc` / `cairn verify` / `cairn keys`. As
/// bitcoind's: a cookie file written at start in the data folder (`.cookie`, mode 0600,
/// `__cookie__:<64 hex digits>`, new at every start, deleted at a clean exit) and/or a configured
/// token (`--rpc-token`, alias `--operator-token`). Sent with HTTP Basic auth (`__cookie__` and the
/// cookie's secret; any user name with the token as the password) or `Authorization: Bearer` with
/// the token or the cookie's secret. Each edge writes its own cookie: replicas of the edge each
/// have their own (use the token to reach any of them).
final class OperatorAuth: Sendable {
    static let cookieUser = "__cookie__"
    static let cookieName = ".cookie"
    /// A wrong password waits this long before its 401 (Task.sleep: no thread is held).
    static let wrongCredentialsDelay = Duration.milliseconds(250)

    enum Verdict: Sendable, Equatable {
        /// No Authorization header.
        case none
        case valid
        case wrong
    }

    /// Where the cookie was written (nil: no cookie, e.g. no data folder given).
    let cookiePath: String?
    private let cookieSecret: [UInt8]?
    private let token: [UInt8]?

    init(cookieDirectory: URL?, token: String?, logger: Logger) throws {
        self.token = token.flatMap { $0.isEmpty ? nil : Array($0.utf8) }
        guard let dir = cookieDirectory else {
            cookiePath = nil
            cookieSecret = nil
            return
        }
        var rng = SystemRandomNumberGenerator()
        let secret = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent(Self.cookieName).path
        try Self.writePrivate(path: path, contents: "\(Self.cookieUser):\(secret)")
        cookiePath = path
        cookieSecret = Array(secret.utf8)
        logger.info("operator cookie written", metadata: ["path": "\(path)"])
    }

    /// Writes a file readable by its owner only (a temporary file renamed over the old one).
    static func writePrivate(path: String, contents: String) throws {
        let tmp = path + ".tmp"
        unlink(tmp)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CookieError(path: tmp, errno: errno) }
        let bytes = Array(contents.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let failed = written != bytes.count || fchmod(fd, 0o600) != 0
        let err = errno
        close(fd)
        guard !failed, rename(tmp, path) == 0 else {
            unlink(tmp)
            throw CookieError(path: path, errno: failed ? err : errno)
        }
    }

    struct CookieError: Error, CustomStringConvertible {
        let path: String
        let errno: Int32
        var description: String { "cannot write the operator cookie \(path): \(String(cString: strerror(errno)))" }
    }

    /// Whether any credential exists (else operator requests can never pass).
    var isConfigured: Bool { cookieSecret != nil || token != nil }

    /// Deletes the cookie (at a clean exit), only if it is still ours.
    func removeCookie() {
        guard let path = cookiePath, let secret = cookieSecret,
              let text = try? String(contentsOfFile: path, encoding: .utf8),
              text == "\(Self.cookieUser):\(String(decoding: secret, as: UTF8.self))" else { return }
        unlink(path)
    }

    /// Checks an Authorization header value.
    func verdict(_ header: String?) -> Verdict {
        guard let header = header?.trimmingCharacters(in: .whitespaces), !header.isEmpty else { return .none }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2 else { return .wrong }
        let scheme = parts[0].lowercased(), value = parts[1].trimmingCharacters(in: .whitespaces)
        if scheme == "bearer" {
            let given = Array(value.utf8)
            return Self.matches(given, token) || Self.matches(given, cookieSecret) ? .valid : .wrong
        }
        guard scheme == "basic", let data = Data(base64Encoded: value),
              let colon = data.firstIndex(of: UInt8(ascii: ":")) else { return .wrong }
        let user = Array(data[..<colon]), password = Array(data[data.index(after: colon)...])
        if user == Array(Self.cookieUser.utf8), Self.matches(password, cookieSecret) { return .valid }
        return Self.matches(password, token) ? .valid : .wrong
    }

    /// Compares in time independent of where the first difference is.
    static func matches(_ given: [UInt8], _ expected: [UInt8]?) -> Bool {
        guard let expected, given.count == expected.count else { return false }
        var diff: UInt8 = 0
        for (a, b) in zip(given, expected) { diff |= a ^ b }
        return diff == 0
    }

    static func unauthorized(_ message: String) -> APIError {
        APIError(.unauthorized, "unauthorized", message, headers: [.wwwAuthenticate: "Basic realm=\"jsonrpc\""])
    }
}
