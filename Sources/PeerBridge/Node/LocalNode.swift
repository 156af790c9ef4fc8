import ChainCore
import NodeKit

/// What the bridge needs of the local node (the chain store and the mempool over the bus).
/// A protocol so the unit tests can drive the bridge without processes.
protocol LocalNode: Sendable {
    func tip() async throws -> ChainTip
    func locator() async throws -> [Hash256]
    func blockStates(_ hashes: [Hash256]) async throws -> [BlockState?]
    func heightOf(_ hash: Hash256) async throws -> Int?
    func headers(after locator: [Hash256], stop: Hash256?, count: Int) async throws -> [BlockHeader]
    /// The stored blocks among `hashes` (at most `RawBlocksRequest.maxHashes`), looked up in order in one
    /// round trip. The lookup may stop early at a byte bound: `looked` says how many of `hashes`, from the
    /// first, were looked at (at least one when any is given); those looked at and not in `found` are unknown.
    func blocks(_ hashes: [Hash256]) async throws -> (found: [Hash256: [UInt8]], looked: Int)
    func submitBlock(_ block: Block, source: String) async throws -> SubmitBlockResult
    func mempoolTx(_ txid: Hash256) async throws -> [UInt8]?
    func submitTx(_ tx: Transaction) async throws -> Result<SubmitTxResult, RPCError>
}
