import ArgumentParser
import Foundation
import Logging
import NodeKit

/// `cairn-accounts`: accounts, API keys, their limits and usage (docs/ARCHITECTURE.md, "Accounts").
@main
struct AccountsCommand: ServiceCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairn-accounts",
        abstract: "Cairn's accounts service: accounts, API keys (stored hashed), per-key limits shared by every edge, usage.")

    @OptionGroup var common: CommonOptions

    @Option(help: "Developer portal sign-up (anyone may create an account with a name and password): on or off (default: on on regtest, off elsewhere).")
    var portalSignup: String?

    @Option(help: "Requests a second of a key created on the portal (default 20).")
    var portalKeyRps: Int = 20

    @Option(help: "Requests a UTC day of a key created on the portal (default 100000).")
    var portalKeyDaily: Int = 100_000

    func run() async throws {
        var portal = PortalPolicy.defaultFor(regtest: try common.params.network == .regtest)
        switch portalSignup?.lowercased() {
        case nil: break
        case "on", "yes", "true": portal.signup = true
        case "off", "no", "false": portal.signup = false
        default: throw ValidationError("--portal-signup is on or off, not '\(portalSignup ?? "")'")
        }
        guard portalKeyRps >= 0, portalKeyDaily >= 0 else { throw ValidationError("--portal-key-rps and --portal-key-daily must not be negative") }
        portal.keyRPS = portalKeyRps
        portal.keyDaily = portalKeyDaily
        let runtime = try await ServiceRuntime.start(common, name: "accounts", label: "cairn.accounts", role: .accounts,
                                                     lockName: "accounts.lock") { _ in [common.accountsEndpoints.rpc, common.accountsEndpoints.pub] }
        let logger = runtime.logger, endpoints = common.accountsEndpoints, dir = runtime.dataDirectory
        let store = try Store.open(path: dir.appendingPathComponent("accounts.sqlite").path)
        try await store.pruneReports()

        let publisher = try await runtime.publisher(at: endpoints.pub, hwm: 10_000)
        let service = AccountsService(store: store, publisher: publisher, portal: portal, logger: logger)
        let router = service.router()
        let server = try await runtime.server(at: endpoints.rpc, router: router)
        let keys = try await store.keys(account: nil)
        logger.notice("accounts ready", metadata: ["rpc": "\(server.endpoints.joined(separator: ","))",
                                                    "pub": "\(publisher.endpoints.joined(separator: ","))", "keys": "\(keys.count)",
                                                    "portal-signup": "\(portal.signup ? "on" : "off")"])
        try await runtime.run(afterBus: { try? store.db.close() })
    }
}
