import ArgumentParser
import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import CairnContract
import ServiceLifecycle

/// `cairn-walletfront`: serves the browser wallet (/) and the block explorer (/explorer.html) as
/// static files, and tells the page which node edge to talk to (`/config.json`). It never sees a
/// key: the page signs in the browser and talks to the edge directly, across origins (CORS).
@main
struct WalletFrontCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairn-walletfront",
        abstract: "Serves Cairn's browser wallet and block explorer, pointed at a node's HTTP edge.")

    @Option(help: "Listen address (env CAIRN_WALLET_HOST; default 127.0.0.1). Beyond loopback, use --tls-cert/--tls-key: WebCrypto needs a secure context.")
    var host: String?

    @Option(help: "Listen port (env CAIRN_WALLET_PORT; default \(Endpoints.defaultWalletPort)).")
    var port: Int?

    @Option(help: "The node edge the page talks to, e.g. http://127.0.0.1:8340 (env CAIRN_EDGE_URL). Any node's edge works if it allows this server's origin (CORS).")
    var edge: String?

    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain: serve HTTPS (env CAIRN_WALLET_TLS_CERT).")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key for --tls-cert (env CAIRN_WALLET_TLS_KEY).")
    var tlsKey: String?

    @Option(help: "Folder of the page's files (env CAIRN_WALLET_ROOT; default the files built into this executable's bundle).")
    var root: String?

    @Option(name: .customLong("qrcode-js"), help: "The QR code library served as /vendor/qrcode.js (env CAIRN_QRCODE_JS; default \(FrontConfig.debianQRCodeJS), from Debian's node-qrcode-generator).")
    var qrcodeJS: String?

    @Option(name: .customLong("bip39-words"), help: "The BIP-39 English word list served as /vendor/bip39-english.txt (env CAIRN_BIP39_WORDLIST; default \(FrontConfig.debianBIP39English), from Debian's python3-mnemonic).")
    var bip39Words: String?

    @Option(name: .customLong("chart-js"), help: "The chart library served as /vendor/chart.js (env CAIRN_CHART_JS; default \(FrontConfig.debianChartJS), from Debian's libjs-chart.js).")
    var chartJS: String?

    @Option(name: .customLong("log-level"), help: "Log level (env CAIRN_LOG_LEVEL; default info).")
    var logLevel: String?

    func config() throws -> FrontConfig {
        let env = ProcessInfo.processInfo.environment
        func pick(_ value: String?, _ key: String) -> String? { value ?? env[key].flatMap { $0.isEmpty ? nil : $0 } }
        var c = FrontConfig()
        c.host = pick(host, "CAIRN_WALLET_HOST") ?? "127.0.0.1"
        if let p = port ?? env["CAIRN_WALLET_PORT"].flatMap({ Int($0) }) {
            guard (0...65535).contains(p) else { throw ValidationError("--port must be 0…65535") }
            c.port = p
        }
        let edgeURL = pick(edge, "CAIRN_EDGE_URL") ?? "http://127.0.0.1:\(Endpoints.defaultHTTPPort)"
        c.edge = try EdgeOrigin(edgeURL)
        let cert = pick(tlsCert, "CAIRN_WALLET_TLS_CERT"), key = pick(tlsKey, "CAIRN_WALLET_TLS_KEY")
        switch (cert, key) {
        case let (cert?, key?): c.tls = (cert, key)
        case (nil, nil): c.tls = nil
        default: throw ValidationError("--tls-cert and --tls-key go together")
        }
        c.root = try pick(root, "CAIRN_WALLET_ROOT") ?? Self.bundledRoot()
        c.qrcodeJS = pick(qrcodeJS, "CAIRN_QRCODE_JS") ?? FrontConfig.debianQRCodeJS
        c.bip39Words = pick(bip39Words, "CAIRN_BIP39_WORDLIST") ?? FrontConfig.debianBIP39English
        c.chartJS = pick(chartJS, "CAIRN_CHART_JS") ?? FrontConfig.debianChartJS
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: c.root + "/index.html", isDirectory: &isDir), !isDir.boolValue else {
            throw ValidationError("no index.html in \(c.root): point --root at the wallet's Public folder")
        }
        return c
    }

    /// SwiftPM copies `Public` into `Cairn_WalletFront.resources` next to the executable.
    static func bundledRoot() throws -> String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        let candidate = dir.appendingPathComponent("Cairn_WalletFront.resources/Public").path
        if FileManager.default.fileExists(atPath: candidate) { return candidate }
        throw ValidationError("the page's files are not next to \(exe) (expected \(candidate)); pass --root")
    }

    func run() async throws {
        // Started by `cairn up`: stop when it is gone (SupervisorWatch).
        SupervisorWatch.start { FileHandle.standardError.write(Data(SupervisorWatch.goneMessage("cairn-walletfront", supervisor: $0).utf8)) }
        let level = Logger.Level(rawValue: (logLevel ?? ProcessInfo.processInfo.environment["CAIRN_LOG_LEVEL"] ?? "info").lowercased()) ?? .info
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "cairn.walletfront")
        let config = try config()
        let app = try buildFrontApplication(config: config, logger: logger)
        logger.notice("wallet front starting", metadata: [
            "listen": "\(config.scheme)://\(config.host):\(config.port)", "edge": "\(config.edge.url)", "root": "\(config.root)"])
        if config.tls != nil && config.edge.httpOrigin.hasPrefix("http://") && !EdgeOrigin.isLoopbackURL(config.edge.httpOrigin) {
            logger.warning("the page is served over https but --edge is plain http on another host: browsers block that (mixed content) and the page will show the node as offline; give the edge an https:// address")
        }
        if !config.isLoopback && config.tls == nil {
            logger.warning("serving plain HTTP beyond loopback: browsers allow WebCrypto only on https or on http://localhost / 127.0.0.1, so opened by another name the wallet will say so and stay locked; pass --tls-cert and --tls-key for that")
        }
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    }
}
