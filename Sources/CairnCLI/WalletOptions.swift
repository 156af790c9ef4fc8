import ArgumentParser
import ChainCore
import Crypto
import Foundation
import NodeKit
import Wallet

struct WalletOptions: ParsableArguments {
    @Option(help: "Keystore file (env CAIRN_WALLET; default ./cairn-wallet.json).")
    var keystore: String?

    @Option(help: "Edge URL (env CAIRN_EDGE; default http://127.0.0.1:8340).")
    var edge: String?

    @Option(help: "Network (default: the edge's, else regtest).")
    var network: String?

    var keystorePath: String {
        keystore ?? ProcessInfo.processInfo.environment["CAIRN_WALLET"].flatMap { $0.isEmpty ? nil : $0 } ?? "./cairn-wallet.json"
    }

    var client: EdgeClient { EdgeClient(edge) }

    /// For a new wallet: --network, else the edge's, else regtest.
    func newWalletNetwork() async throws -> Network {
        var net = network
        if net == nil, let node = try? await client.get("/api/node", as: NodeReply.self) { net = node.network }
        let name = net ?? "regtest"
        guard let network = Network(rawValue: name) else { throw CLIError("unknown network '\(name)'") }
        return network
    }

    /// Seals `key` under a new password into a new keystore file; prints the address and the path.
    func writeNew(_ key: Curve25519.Signing.PrivateKey, network: Network, account: UInt32) throws {
        let path = keystorePath
        let password = try Password.read(prompt: "New wallet password: ", confirm: true)
        let file = try Keystore.seal(key, password: password, network: network)
        try Keystore.write(file, path: path)
        print("address  \(file.address)")
        print("path     \(PhraseWallet.path(account: account))")
    }

    /// The keystore, checked against --network and the edge's network.
    func load(checkEdge: Bool) async throws -> (KeystoreFile, Address, ChainParams) {
        let path = keystorePath
        let file = try Keystore.read(path: path)
        let address = try Keystore.check(file, path: path)
        if let n = network, n != file.network {
            throw CLIError("--network \(n), but \(path) holds a \(file.network) wallet")
        }
        if checkEdge, let node = try? await client.get("/api/node", as: NodeReply.self), node.network != file.network {
            throw CLIError("\(path) holds a \(file.network) wallet, but the edge at \(client.base) runs \(node.network)")
        }
        return (file, address, address.network.params)
    }
}

/// Runs a wallet action, turning known failures into one clear line and exit 1.
func walletAction(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let e as KeystoreError {
        Output.error(e.description); throw ExitCode.failure
    } catch let e as SendError {
        Output.error(e.description); throw ExitCode.failure
    } catch let e as EdgeClient.Failure {
        Output.error(e.description); throw ExitCode.failure
    } catch let e as Password.Failure {
        Output.error(e.description); throw ExitCode.failure
    } catch let e as MnemonicError {
        Output.error(e.description); throw ExitCode.failure
    }
}
