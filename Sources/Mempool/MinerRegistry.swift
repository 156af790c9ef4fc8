import NodeKit

/// The miners that asked for templates lately (for `cairn status` and the explorer), bounded:
/// any client can send ids, so past 1,000 only those seen in the last minute are kept.
struct MinerRegistry {
    private var miners: [String: MinerInfo] = [:]

    mutating func seen(_ request: TemplateRequest, at now: Double) {
        miners[request.minerID] = MinerInfo(id: String(request.minerID.prefix(64)), address: String(request.address.prefix(128)),
                                            hashrate: request.hashrate, threads: request.threads, lastSeen: now)
        if miners.count > 1_000 { miners = miners.filter { $0.value.lastSeen >= now - 60 } }
    }

    func active(within seconds: Double, now: Double) -> [MinerInfo] {
        miners.values.filter { $0.lastSeen >= now - seconds }.sorted { $0.id < $1.id }
    }
}
