import NodeKit

/// The best chain's blocks after a subscriber's resume cursor, fetched from the chain store, for a
/// feed that cannot serve them from its own window (the edge restarted, or the client was away long).
/// `/api/ws` (Feed) and the `/rpc` subscriptions (RPCSubscriptions) both walk the chain this way and
/// differ only in what they send for each block.
enum ChainReplay {
    /// The most blocks replayed to one client resuming from a block this edge did not announce.
    static let maxBlocks = 500

    /// Why a replay cannot be served: the subscriber gets a `resync` with this reason.
    struct Stop: Error { let reason: String }

    /// One block of the walk: what to send, and the links that prove it follows the previous one.
    struct Step<T> {
        var item: T
        var previousHash: String
        var hash: String
    }

    /// Walks heights from the cursor's block + 1 through `last` (where the feed stood when the client
    /// subscribed: later blocks reach it live), `fetch`ing each and checking that it links to the one
    /// before. A cursor off the best chain, unknown or more than `maxBlocks` back, a chain that changes
    /// meanwhile, or a chain store that does not answer: a `Stop` naming why (`fetch` may throw one too).
    static func walk<T>(_ backend: Backend, after hash: String, upTo last: (height: Int, hash: String?)?,
                        fetch: (Int) async throws -> Step<T>) async -> Result<[T], Stop> {
        do {
            guard let last else { return .failure(Stop(reason: "this edge has not started its feed yet")) }
            let from = try await backend.chain(.getheader, BlockRef(hash: hash), as: HeaderInfo.self)
            guard from.inBestChain, last.height - from.height <= maxBlocks else {
                return .failure(Stop(reason: from.inBestChain ? "more than \(maxBlocks) blocks since the resume cursor"
                                                             : "the resume cursor's block left the best chain"))
            }
            var out = [T]()
            var previous = from.hash
            for height in stride(from: from.height + 1, through: last.height, by: 1) {
                let step = try await fetch(height)
                guard step.previousHash == previous else { return .failure(Stop(reason: "the chain changed while replaying")) }
                previous = step.hash
                out.append(step.item)
            }
            if let h = last.hash, last.height > from.height, h != previous { return .failure(Stop(reason: "the chain changed while replaying")) }
            return .success(out)
        } catch let stop as Stop {
            return .failure(stop)
        } catch let e as APIError where e.status == .notFound {
            return .failure(Stop(reason: "the resume cursor's block is unknown"))
        } catch {
            return .failure(Stop(reason: "the chain store did not answer: \(APIError.from(error).message)"))
        }
    }
}
