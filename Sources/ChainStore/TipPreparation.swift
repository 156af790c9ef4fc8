import ChainCore
import Foundation
import GRDB
import NodeKit

/// A block submitted on the tip, made ready while it is stored: checked against the coins it spends
/// but for its signatures, which verify meanwhile on Dispatch's threads (`Chain.process` starts it,
/// `Chain.activate` takes it when the block connects the one branch it was made for), and what
/// `activate` waits on for a branch's signatures (`Verifying`).
extension Chain {
    /// A block on the tip, checked against the UTXO set but for its signatures, which are verifying
    /// (those of the transactions the signature cache holds are not verified again).
    struct Prepared {
        let hash: Hash256
        /// The coins its inputs spend, as the tip's UTXO set holds them.
        let coins: [OutPoint: Coin]
        let outcome: Result<PendingConnection, ValidationError>
        /// Its signatures, verifying on Dispatch's threads since its coins were read (nil when the
        /// rules failed: cancelled then).
        let verification: BlockSignatureVerification?
        /// The signature cache's word on each transaction (nil: no cache).
        let cached: [Bool]?
    }

    /// The coins a block spends, as the tip's UTXO set holds them.
    typealias CoinsRead = [OutPoint: Coin]

    /// Reads `outpoints` in parallel read transactions; nil when a read fails (`activate` then reads
    /// again and reports the error).
    static func readCoins(_ outpoints: [OutPoint], db: DatabasePool) async -> CoinsRead? {
        try? await fetchCoinsInParallel(outpoints, db: db)
    }

    /// Starts verifying the signatures of `block` (a child of the tip) from `coins`, the coins it
    /// spends, and checks it against them but for its signatures meanwhile.
    func prepare(_ entry: HeaderEntry, block: Block, txids: [Hash256], coins: CoinsRead) -> Prepared {
        let cached = signatureCache?.verified(txids)
        let verification = BlockSignatureVerification(block, txids: txids, coins: coins, skip: cached, params: params)
        var view = OverlayView()
        view.base = coins
        do {
            // The rules alone: the signatures are verifying already.
            let pending = try BlockRules.connectDeferringSignatures(block, height: entry.height, view: view, params: params, txids: txids,
                                                                    signaturesVerified: [Bool](repeating: true, count: txids.count))
            return Prepared(hash: entry.hash, coins: coins, outcome: .success(pending), verification: verification, cached: cached)
        } catch {
            verification.cancel()
            return Prepared(hash: entry.hash, coins: coins, outcome: .failure(error), verification: nil, cached: cached)
        }
    }

    /// The signatures of a branch being connected, verifying on Dispatch's threads: those of the
    /// block just submitted on the tip (`Prepared`), or the list of checks of any branch.
    enum Verifying: Sendable {
        case block(BlockSignatureVerification)
        /// `ends`: where each block's checks end in the list.
        case checks(SignatureVerification, ends: [Int])

        /// Blocks the calling thread (never the cooperative pool's) until the verdict: the branch's
        /// block (its index) and its check that failed first, or nil when all verify.
        func wait() -> (block: Int, check: SignatureCheck)? {
            switch self {
            case .block(let v):
                return v.wait().map { (0, $0) }
            case .checks(let v, let ends):
                return v.wait().map { position in (ends.firstIndex { $0 > position }!, v.checks[position]) }
            }
        }

        func cancel() {
            switch self {
            case .block(let v): v.cancel()
            case .checks(let v, _): v.cancel()
            }
        }
    }
}
