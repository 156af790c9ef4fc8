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
    func block(_ hash: Hash256) async throws -> [UInt8]?
    func submitBlock(_ block: Block, source: String) async throws -> SubmitBlockResult
    func mempoolTx(_ txid: Hash256) async throws -> [UInt8]?
    func submitTx(_ tx: Transaction) async throws -> Result<SubmitTxResult, RPCError>
}
