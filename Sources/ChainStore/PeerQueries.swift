import ChainCore
import NodeKit

/// What the peer bridge asks of the chain store: headers after a block locator
/// (headers-first sync) and which blocks are already known (inventory checks).
extension Chain {
    /// Best-chain headers after the first locator hash found on the best chain
    /// (genesis when none is), up to `count`, stopping after `stop` if met.
    func headers(after locator: [Hash256], stop: Hash256?, count: Int) -> (startHeight: Int, headers: [BlockHeader]) {
        var fork = 0
        for hash in locator {
            if let e = entry(hash), isActive(e) { fork = e.height; break }
        }
        var out = [BlockHeader]()
        var h = fork + 1
        while h < active.count && out.count < count {
            let hash = active[h]
            guard let e = entry(hash) else { break }
            out.append(e.header)
            if hash == stop { break }
            h += 1
        }
        return (fork + 1, out)
    }

    /// For each hash: its state, or nil (unknown).
    func blockStates(_ hashes: [Hash256]) -> [BlockState?] {
        hashes.map { h in
            guard let e = entry(h) else { return nil }
            if e.status == .invalid { return .invalid }
            return isActive(e) ? .active : .stored
        }
    }
}

enum PeerRPC {
    static func hashes(_ texts: [String], limit: Int) throws -> [Hash256] {
        guard texts.count <= limit else { throw RPCError.badParams("at most \(limit) hashes") }
        return try texts.map { t in
            guard let h = Hash256(hex: t) else { throw RPCError.badParams("'\(t.prefix(80))' is not a 64-hex-digit block hash") }
            return h
        }
    }

    static func routes(chain: Chain) -> [ChainMethod: RPCRouter.Raw] {
        [
            .getheaders: RPCRouter.method(HeadersRequest.self) { p in
                let locator = try hashes(p.locator, limit: 101)
                let stop = try p.stop.map { try hashes([$0], limit: 1)[0] }
                let count = max(0, min(p.count, PeerLimits.maxHeaders))
                let (start, headers) = await chain.headers(after: locator, stop: stop, count: count)
                return HeadersReply(startHeight: start, headers: headers.map { Hex.encode($0.encoded) })
            },
            .getblockstates: RPCRouter.method(HashList.self) { p in
                await chain.blockStates(try hashes(p.hashes, limit: PeerLimits.maxHeaders))
            },
        ]
    }
}
