import ArgumentParser
import Bus
import Foundation
import NodeKit

/// `cairn bus-check`: can this process use the node's bus? Calls the chain store and subscribes to
/// its tip, with the given certificate or none. An operator's check that a new host's keys are
/// admitted, and the container tests' proof that a process without them is refused.
struct BusCheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bus-check",
        abstract: "Check that this process can call the chain store and subscribe to it over the bus (exit 0) or is refused (exit 1).")

    @OptionGroup var common: CommonOptions

    @Option(name: .customLong("as"), help: "The certificate to present, NAME.key in --bus-keys (\(ServiceName.onBus.map(\.rawValue).joined(separator: ", "))).")
    var role: String = "edge"

    @Option(help: "Seconds to wait for each answer.")
    var timeout: Double = 3

    func run() async throws {
        let endpoints = common.endpoints
        guard let busRole = ServiceName(rawValue: role), ServiceName.onBus.contains(busRole) else { throw ValidationError("--as \(role): one of \(ServiceName.onBus.map(\.rawValue))") }
        let security: BusSecurity = if let folder = common.busKeys ?? ProcessInfo.processInfo.environment["CAIRN_BUS_KEYS"], !folder.isEmpty {
            try BusSecurity.load(role: busRole, folder: URL(fileURLWithPath: folder, isDirectory: true))
        } else {
            .off(busRole)
        }
        let wait = Duration.milliseconds(Int(max(0.1, timeout) * 1000))
        let context = try ZMQContext()
        let curve = try security.client(of: .chainstore)
        let how = security.enabled ? "CURVE as \(role)" : "no keys"
        var ok = true

        let rpc = try await RPCClient(context: context, endpoint: endpoints.chainRPC, timeout: wait, retries: 1, curve: curve)
        do {
            let tip = try await rpc.call(ChainMethod.getchaintip, Empty(), as: ChainTip.self)
            print("rpc \(endpoints.chainRPC) (\(how)): ok, height \(tip.height)")
        } catch {
            ok = false
            print("rpc \(endpoints.chainRPC) (\(how)): refused or unreachable: \(error)")
        }
        let sub = try await Subscriber(context: context, connect: [endpoints.chainPub], topics: [Topic.tip], curve: curve)
        do {
            try await sub.ready(timeout: wait)
            print("pub \(endpoints.chainPub) (\(how)): ok, subscribed")
        } catch {
            ok = false
            print("pub \(endpoints.chainPub) (\(how)): refused or unreachable: no subscription confirmed in \(timeout) s")
        }
        await rpc.stop()
        await sub.stop()
        await context.terminate()
        if !ok { throw ExitCode(1) }
    }
}
