import ChainCore

// How the bus writes ChainCore's values: a hash's display bytes, an outpoint's "txid:index".

extension Hash256 {
    /// 32 bytes in display order: Bitcoin Core's hashblock/hashtx body.
    public var displayBytes: [UInt8] { bytes.reversed() }
}

extension OutPoint {
    /// Parses "txid:index".
    public init?(text: String) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let txid = Hash256(hex: String(parts[0])), let index = UInt32(parts[1]) else { return nil }
        self.init(txid: txid, index: index)
    }
}
