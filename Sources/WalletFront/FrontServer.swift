import CairnContract
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import Logging

/// The node edge the page is pointed at: its URL and the origins the page may connect to.
struct EdgeOrigin: Sendable, Equatable {
    /// Base URL without a trailing slash, e.g. `http://127.0.0.1:8340`.
    let url: String
    /// `http(s)://host:port` and the matching `ws(s)://host:port` (the live feed).
    let httpOrigin: String
    let wsOrigin: String

    init(_ text: String) throws {
        guard let u = URL(string: text), let scheme = u.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = u.host, !host.isEmpty, u.query == nil, u.fragment == nil, u.user == nil
        else { throw FrontError("--edge must be an http:// or https:// URL such as http://127.0.0.1:8340, got '\(text)'") }
        guard host.allSatisfy({ $0.isLetter || $0.isNumber || ".-:".contains($0) }) else {
            throw FrontError("--edge has an unusable host '\(host)'")
        }
        let hostPart = Endpoints.urlHost(host)
        let portPart = u.port.map { ":\($0)" } ?? ""
        var path = u.path
        while path.hasSuffix("/") { path.removeLast() }
        httpOrigin = "\(scheme)://\(hostPart)\(portPart)"
        wsOrigin = "\(scheme == "https" ? "wss" : "ws")://\(hostPart)\(portPart)"
        url = httpOrigin + path
    }
}

extension EdgeOrigin {
    /// Whether a URL names this machine (browsers treat those as trustworthy even over http).
    static func isLoopbackURL(_ text: String) -> Bool {
        guard let host = URL(string: text)?.host?.lowercased() else { return false }
        return host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }
}

struct FrontError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

struct FrontConfig: Sendable {
    var host = "127.0.0.1"
    var port = 8341
    var edge = try! EdgeOrigin("http://127.0.0.1:8340")
    var tls: (cert: String, key: String)?
    var root = "."
    /// Debian's node-qrcode-generator, served as /vendor/qrcode.js (read once at start; not copied into the repository).
    var qrcodeJS = FrontConfig.debianQRCodeJS

    /// Debian's python3-mnemonic: the BIP-39 English word list, served as /vendor/bip39-english.txt
    /// (the recovery phrase; `cairn wallet` reads the same file).
    var bip39Words = FrontConfig.debianBIP39English

    /// Debian's libjs-chart.js (Chart.js 3.9, UMD): served as /vendor/chart.js (the developer portal's usage charts).
    var chartJS = FrontConfig.debianChartJS

    static let debianChartJS = "/usr/share/javascript/chart.js/chart.min.js"
    static let debianQRCodeJS = "/usr/share/javascript/qrcode-generator/qrcode.js"
    static let debianBIP39English = "/usr/lib/python3/dist-packages/mnemonic/wordlist/english.txt"

    var scheme: String { tls == nil ? "http" : "https" }
    var isLoopback: Bool { ["127.0.0.1", "::1", "localhost"].contains(host) || host.hasPrefix("127.") }

    /// Only this server's files run; the page may talk to itself and to the configured edge, nothing else.
    var contentSecurityPolicy: String {
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self' \(edge.httpOrigin) \(edge.wsOrigin)",
            "manifest-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ].joined(separator: "; ")
    }
}

/// What `/config.json` tells the page.
struct PageConfig: Codable, Sendable {
    var edge: String
    var version: Int
}

struct ErrorBody: Encodable {
    struct Detail: Encodable { var code: String; var message: String }
    var error: Detail
}

/// `GET /config.json` (what the page reads first) and `GET /healthz`.
struct PageConfigMiddleware<Context: RequestContext>: RouterMiddleware {
    let body: ByteBuffer
    init(_ config: PageConfig) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        body = ByteBuffer(bytes: try encoder.encode(config))
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .get || request.method == .head else { return try await next(request, context) }
        switch request.uri.path {
        case "/config.json":
            return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: body))
        case "/healthz":
            return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: "{\"ok\":true}")))
        default:
            return try await next(request, context)
        }
    }
}

/// `GET /vendor/…`: files from system packages, read once when the server starts, never copied
/// into the repository: `qrcode.js` (node-qrcode-generator), `bip39-english.txt`
/// (python3-mnemonic's BIP-39 word list) and `chart.js` (libjs-chart.js). A clear 404 when a
/// package is not installed.
struct VendorFilesMiddleware<Context: RequestContext>: RouterMiddleware {
    struct File: Sendable {
        var urlPath: String
        var source: String
        var package: String
        var contentType: String
        var what: String
        var body: ByteBuffer?
    }
    static var path: String { "/vendor/qrcode.js" }
    static var wordListPath: String { "/vendor/bip39-english.txt" }
    static var chartPath: String { "/vendor/chart.js" }
    let files: [String: File]

    init(qrcodePath: String, bip39WordsPath: String = FrontConfig.debianBIP39English, chartJSPath: String = FrontConfig.debianChartJS,
         logger: Logger) {
        var files = [String: File]()
        for var f in [
            File(urlPath: Self.path, source: qrcodePath, package: "node-qrcode-generator",
                 contentType: "text/javascript; charset=utf-8", what: "the QR code library",
                 body: nil),
            File(urlPath: Self.wordListPath, source: bip39WordsPath, package: "python3-mnemonic",
                 contentType: "text/plain; charset=utf-8", what: "the BIP-39 word list", body: nil),
            File(urlPath: Self.chartPath, source: chartJSPath, package: "libjs-chart.js",
                 contentType: "text/javascript; charset=utf-8", what: "the chart library", body: nil),
        ] {
            if let data = FileManager.default.contents(atPath: f.source) {
                f.body = ByteBuffer(bytes: data)
            } else {
                logger.warning("no \(f.what) at \(f.source) (install the Debian package \(f.package))")
            }
            files[f.urlPath] = f
        }
        self.files = files
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let file = files[request.uri.path], request.method == .get || request.method == .head else {
            return try await next(request, context)
        }
        guard let body = file.body else {
            return SecurityHeadersMiddleware<Context>.errorResponse(.notFound,
                message: "\(file.what) is not installed on this server (\(file.source), Debian package \(file.package))")
        }
        return Response(status: .ok, headers: [.contentType: file.contentType], body: .init(byteBuffer: body))
    }
}

/// Security headers on every answer, and no caching of the page's code (an update shows at once).
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    let csp: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let e as HTTPError {
            response = Self.errorResponse(e.status, message: e.body ?? e.status.reasonPhrase)
        }
        response.headers[.contentSecurityPolicy] = csp
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        response.headers[HTTPField.Name("Cross-Origin-Opener-Policy")!] = "same-origin"
        response.headers[HTTPField.Name("Cross-Origin-Resource-Policy")!] = "same-origin"
        response.headers[HTTPField.Name("Permissions-Policy")!] = "camera=(), microphone=(), geolocation=(), payment=()"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-cache" }
        return response
    }

    /// Errors in the project's JSON shape: `{"error": {"code", "message"}}`.
    static func errorResponse(_ status: HTTPResponse.Status, message: String) -> Response {
        let code: String = switch status.code {
        case 404: "not-found"
        case 405: "method-not-allowed"
        case 400..<500: "bad-request"
        default: "internal"
        }
        let data = (try? JSONEncoder().encode(ErrorBody(error: .init(code: code, message: message)))) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

func buildFrontApplication(config: FrontConfig, logger: Logger) throws -> some ApplicationProtocol {
    let router = Router()
    router.add(middleware: SecurityHeadersMiddleware(csp: config.contentSecurityPolicy))
    // Before the files: a config.json left in the folder must not override the configured edge.
    router.add(middleware: try PageConfigMiddleware(PageConfig(edge: config.edge.url, version: 1)))
    router.add(middleware: VendorFilesMiddleware(qrcodePath: config.qrcodeJS, bip39WordsPath: config.bip39Words,
                                               chartJSPath: config.chartJS, logger: logger))
    router.add(middleware: FileMiddleware(config.root, searchForIndexHtml: true, logger: logger))
    let server: HTTPServerBuilder
    if let tls = config.tls {
        let chain = try NIOSSLCertificate.fromPEMFile(tls.cert).map { NIOSSLCertificateSource.certificate($0) }
        guard !chain.isEmpty else { throw FrontError("no certificate in \(tls.cert)") }
        let key = try NIOSSLPrivateKey(file: tls.key, format: .pem)
        server = try .tls(.http1(), tlsConfiguration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key)))
    } else {
        server = .http1()
    }
    return Application(router: router, server: server,
                       configuration: .init(address: .hostname(config.host, port: config.port), serverName: "cairn-walletfront"),
                       logger: logger)
}
