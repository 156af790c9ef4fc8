import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOSSL
import NodeKit
import Testing
import TestSupport
@testable import WalletFront

/// The wallet front server: what it serves, the headers that keep the page to its own scripts
/// and the configured edge, its errors, and HTTPS with a certificate.
@Suite("Wallet front server") struct FrontServerTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let publicRoot = repo.appendingPathComponent("Sources/WalletFront/Public").path

    func config(edge: String = "http://127.0.0.1:18340") throws -> FrontConfig {
        var c = FrontConfig()
        c.root = Self.publicRoot
        c.edge = try EdgeOrigin(edge)
        return c
    }

    @Test func servesThePageWithItsSecurityHeaders() async throws {
        let app = try buildFrontApplication(config: try config(), logger: Logger(label: "test"))
        try await app.test(.router) { client in
            try await client.execute(uri: "/", method: .get) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType]?.hasPrefix("text/html") == true)
                let csp = try #require(r.headers[.contentSecurityPolicy])
                #expect(csp.contains("script-src 'self'"))
                #expect(csp.contains("connect-src 'self' http://127.0.0.1:18340 ws://127.0.0.1:18340"))
                #expect(csp.contains("default-src 'none'"))
                #expect(csp.contains("frame-ancestors 'none'"))
                #expect(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"))
                #expect(r.headers[.xContentTypeOptions] == "nosniff")
                #expect(r.headers.contains { $0.name.rawName == "Referrer-Policy" && $0.value == "no-referrer" })
            }
            try await client.execute(uri: "/explorer.html", method: .get) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentSecurityPolicy] != nil)
            }
        }
    }

    @Test func tellsThePageWhichEdge() async throws {
        let app = try buildFrontApplication(config: try config(edge: "https://node.example:8443/"), logger: Logger(label: "test"))
        try await app.test(.router) { client in
            try await client.execute(uri: "/config.json", method: .get) { r in
                #expect(r.status == .ok)
                let c = try JSONDecoder().decode(PageConfig.self, from: Data(buffer: r.body))
                #expect(c.edge == "https://node.example:8443")
                #expect(r.headers[.contentSecurityPolicy]?.contains("connect-src 'self' https://node.example:8443 wss://node.example:8443") == true)
            }
        }
    }

    @Test func errorsAreJSONAndNothingOutsideTheFolderIsServed() async throws {
        let app = try buildFrontApplication(config: try config(), logger: Logger(label: "test"))
        try await app.test(.router) { client in
            for uri in ["/nope.js", "/../Package.swift", "/%2e%2e/%2e%2e/Package.swift", "/js/../../WalletFrontCommand.swift"] {
                try await client.execute(uri: uri, method: .get) { r in
                    #expect(r.status == .notFound || r.status == .badRequest, "\(uri): \(r.status)")
                    let body = String(buffer: r.body)
                    #expect(!body.contains("import Hummingbird") && !body.contains("PackageDescription"), "\(uri) leaked a file")
                    #expect(body.contains("\"error\""), "\(uri): \(body)")
                }
            }
        }
    }

    @Test func servesTheSystemQRCodeLibraryOrSaysItIsMissing() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-qr-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let lib = dir.appendingPathComponent("qrcode.js")
        try Data("var qrcode = function() {};\n".utf8).write(to: lib)
        var c = try config()
        c.qrcodeJS = lib.path
        try await buildFrontApplication(config: c, logger: Logger(label: "test")).test(.router) { client in
            try await client.execute(uri: "/vendor/qrcode.js", method: .get) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType]?.hasPrefix("text/javascript") == true)
                #expect(String(buffer: r.body) == "var qrcode = function() {};\n")
                #expect(r.headers[.contentSecurityPolicy] != nil)
            }
        }
        c.qrcodeJS = dir.appendingPathComponent("absent.js").path
        try await buildFrontApplication(config: c, logger: Logger(label: "test")).test(.router) { client in
            try await client.execute(uri: "/vendor/qrcode.js", method: .get) { r in
                #expect(r.status == .notFound)
                #expect(String(buffer: r.body).contains("node-qrcode-generator"))
            }
        }
    }

    /// The recovery phrase's word list, from where Debian's python3-mnemonic installs it.
    @Test func servesTheSystemBIP39WordListOrSaysItIsMissing() async throws {
        var c = try config()
        #expect(c.bip39Words == "/usr/lib/python3/dist-packages/mnemonic/wordlist/english.txt")
        let expected = try String(contentsOfFile: c.bip39Words, encoding: .utf8)
        try await buildFrontApplication(config: c, logger: Logger(label: "test")).test(.router) { client in
            try await client.execute(uri: "/vendor/bip39-english.txt", method: .get) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType]?.hasPrefix("text/plain") == true)
                let body = String(buffer: r.body)
                #expect(body == expected)
                #expect(body.split(separator: "\n").count == 2048)
            }
        }
        c.bip39Words = "/nonexistent/english.txt"
        try await buildFrontApplication(config: c, logger: Logger(label: "test")).test(.router) { client in
            try await client.execute(uri: "/vendor/bip39-english.txt", method: .get) { r in
                #expect(r.status == .notFound)
                #expect(String(buffer: r.body).contains("python3-mnemonic"))
            }
        }
    }

    /// The portal's chart library, from where Debian's libjs-chart.js installs it.
    @Test func servesTheSystemChartLibraryOrSaysItIsMissing() async throws {
        var c = try config()
        #expect(c.chartJS == "/usr/share/javascript/chart.js/chart.min.js")
        let expected = try Data(contentsOf: URL(fileURLWithPath: c.chartJS))
        try await buildFrontApplication(config: c, logger: Logger(label: "test")).test(.router) { client in
            try await client.execute(uri: "/vendor/chart.js", method: .get) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType]?.hasPrefix("text/javascript") == true)
                #expect(Array(r.body.readableBytesView) == Array(expected))
                #expect(String(buffer: r.body).contains("Chart.js v3"))
            }
        }
        c.chartJS = "/nonexistent/chart.js"
        try await buildFrontApplication(config: c, logger: Logger(label: "test")).test(.router) { client in
            try await client.execute(uri: "/vendor/chart.js", method: .get) { r in
                #expect(r.status == .notFound)
                #expect(String(buffer: r.body).contains("libjs-chart.js"))
            }
        }
    }

    @Test func refusesABadEdgeURL() {
        for bad in ["ftp://x", "127.0.0.1:8340", "http://", "javascript:alert(1)", "http://a b", "http://x/?q=1"] {
            #expect(throws: FrontError.self, "\(bad)") { try EdgeOrigin(bad) }
        }
    }

    /// The page runs only its own files: no inline script, no event-handler attribute, no inline
    /// style in any page (the CSP would block them, so they would be silent failures).
    @Test func pagesHaveNoInlineCode() throws {
        let files = FileManager.default.enumerator(atPath: Self.publicRoot)?.compactMap { $0 as? String } ?? []
        let pages = files.filter { $0.hasSuffix(".html") }
        #expect(pages.contains("index.html") && pages.contains("explorer.html"), "\(pages)")
        let inlineScript = try Regex(#"<script(?![^>]*\bsrc=)[^>]*>"#).ignoresCase()
        let handler = try Regex(#"<[^>]+\son[a-z]+\s*="#).ignoresCase()
        let style = try Regex(#"<[^>]+\sstyle\s*="#).ignoresCase()
        for page in pages {
            let html = try String(contentsOfFile: Self.publicRoot + "/" + page, encoding: .utf8)
            #expect(html.firstMatch(of: inlineScript) == nil, "\(page) has an inline <script>")
            #expect(html.firstMatch(of: handler) == nil, "\(page) has an on…= handler attribute")
            #expect(html.firstMatch(of: style) == nil, "\(page) has a style= attribute")
            #expect(!html.contains("<style"), "\(page) has an inline <style>")
        }
    }

    /// `--tls-cert/--tls-key`: the real executable serves HTTPS with the given certificate.
    @Test func servesHTTPSWithACertificate() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wf-tls-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let cert = dir.appendingPathComponent("cert.pem").path, key = dir.appendingPathComponent("key.pem").path
        let openssl = try await ProcessRunner.run("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                                                  "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost"])
        try #require(openssl.status == 0, "openssl could not make a test certificate")

        // The wallet front's own port (8341) + an offset of the WalletFrontTests range of Tests/ports.json.
        let port = Endpoints.defaultWalletPort + Ports.offset("WalletFrontTests")
        let front = try await ProcessRunner(Build.path("cairn-walletfront"),
                                      ["--port", String(port), "--tls-cert", cert, "--tls-key", key, "--edge", "https://127.0.0.1:9999"])
        defer { front.stopInBackground() }

        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        var answer: (status: UInt, body: String)?
        try? await waitUntil("cairn-walletfront answers over HTTPS", timeout: 30) {
            let r = try await client.execute(HTTPClientRequest(url: "https://127.0.0.1:\(port)/config.json"), timeout: .seconds(2))
            let body = try await r.body.collect(upTo: 1 << 16)
            answer = (r.status.code, String(buffer: body))
            return true
        }
        try await client.shutdown()
        let a = try #require(answer, "no HTTPS answer from cairn-walletfront")
        #expect(a.status == 200)
        #expect(a.body.contains("https://127.0.0.1:9999"))
    }
}
