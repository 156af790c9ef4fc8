import ChainCore
import Foundation
import NodeKit

/// The methods of `chain.rpc` (their messages are in CairnContract/ChainMessages.swift).
enum ChainRPC {
    static func router(chain: Chain, queries: ChainQueries, started: Double) -> RPCRouter {
        let cache = chain.signatureCache
        return RPCRouter(ChainMethod.self, [
            .getchaininfo: RPCRouter.method(Empty.self) { _ in try await queries.chainInfo() },
            .submitblock: RPCRouter.method(SubmitBlock.self) { p in
                guard p.hex.utf8.count <= 2 * Limits.maxBlockSize else {
                    return SubmitBlockResult(hash: "", accepted: false, reason: RejectReason.badBlockLength.rawValue,
                                             message: "block larger than \(Limits.maxBlockSize) bytes", isTip: false)
                }
                return await chain.submit(hex: p.hex, source: p.source)
            },
            .getheader: RPCRouter.method(BlockRef.self) { try await queries.header($0) },
            .getblock: RPCRouter.method(BlockRef.self) { try await queries.block($0) },
            .getblocks: RPCRouter.method(BlockRange.self) { try await queries.blocks($0) },
            .gettx: RPCRouter.method(TxRef.self) { try await queries.transaction($0) },
            .getcoins: RPCRouter.method(OutpointList.self) { try await queries.coins($0) },
            .getspends: RPCRouter.method(OutpointList.self) { try await queries.spends($0) },
            .getblockstats: RPCRouter.method(BlockStatsRequest.self) { try await queries.blockStats($0) },
            .getaddress: RPCRouter.method(AddressRef.self) { try await queries.addressStats($0) },
            .getaddressutxos: RPCRouter.method(AddressRef.self) { try await queries.addressUTXOs($0) },
            .getaddresstxs: RPCRouter.method(AddressTxsParams.self) { try await queries.addressTxs($0) },
            .getlocator: RPCRouter.method(Empty.self) { _ in await chain.locator() },
            .getchaintip: RPCRouter.method(Empty.self) { _ in await chain.chainTip() },
            .gettrace: RPCRouter.method(TxRef.self) { try await queries.trace($0) },
            .verifyutxo: RPCRouter.method(Empty.self) { _ in try await queries.verifyUTXO() },
            .getrawblocks: RPCRouter.method(RawBlocksRequest.self) { try await queries.rawBlocks($0) },
            .getstatus: RPCRouter.method(Empty.self) { _ in
                let tip = await chain.tip
                return ServiceStatus(service: .chainstore, pid: getpid(), startedAt: started, tipHeight: tip.height,
                                     tipHash: tip.hash.hex, details: ["headers": "\(await chain.index.count)"].merging(SignatureCache.statusDetails(cache)) { a, _ in a })
            },
        ].merging(PeerRPC.routes(chain: chain)) { own, _ in own })
    }
}
