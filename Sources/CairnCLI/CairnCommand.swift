import ArgumentParser
import Foundation

/// `cairn`: runs a node (`up`), attaches miners, shows status, and holds a wallet.
@main
struct Cairn: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairn",
        abstract: "Cairn: a proof-of-work blockchain. Run a node, attach miners, check status, use a wallet.",
        subcommands: [Up.self, Net.self, MinerAttach.self, Status.self, Verify.self, Wallet.self, Keygen.self, BusCheck.self, RPC.self, Mining.self, Keys.self])
}
