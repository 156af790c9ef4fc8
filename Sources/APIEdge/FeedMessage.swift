import Foundation
import NodeKit

/// Messages pushed to WebSocket clients. The ones in the ordered feed (block, block-disconnected,
/// tx, tx-removed, resync) carry `seq`, this edge's feed sequence, for resuming after a reconnect.
enum FeedMessage {
    struct Hello: Encodable {
        var type = "hello"; var network: String; var height: Int?; var tip: String?
        /// This edge process's feed: a resume cursor from another instance is answered with a resync.
        var instance: String; var seq: Int
    }
    struct BlockMsg: Encodable {
        var type = "block"; var block: EsploraBlock; var seq: Int
        /// Sent again to a resuming client (fetched from the chain store), not a new block.
        var replay: Bool?
    }
    struct Disconnected: Encodable {
        var type = "block-disconnected"; var hash: String; var height: Int
        /// The tip after it (a resume cursor's block).
        var previous: String
        var seq: Int
    }
    struct TxMsg: Encodable { var type = "tx"; var txid: String; var fee: UInt64?; var size: Int; var seq: Int }
    struct TxRemoved: Encodable { var type = "tx-removed"; var txid: String; var seq: Int }
    struct Resync: Encodable { var type = "resync"; var scope: String; var reason: String; var seq: Int }
    struct TraceMsg: Encodable { var type = "trace"; var event: TraceEvent }
    struct AddressTx: Encodable { var type = "address-tx"; var address: String; var txid: String; var confirmed: Bool }
    struct Tracking: Encodable { var type = "tracking"; var address: String; var tracking: Bool }
    struct ErrorMsg: Encodable { var type = "error"; var code: String; var message: String }

    static func text<T: Encodable>(_ m: T) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? e.encode(m)).map { String(decoding: $0, as: UTF8.self) } ?? #"{"type":"error","code":"internal","message":"encoding"}"#
    }
}
