import ChainCore

/// Undo data: the coins a block spent, in the order it spent them.
///     compact count ‖ count × (txid ‖ u32 index ‖ u64 value ‖ 32-byte key ‖ u32 height ‖ u8 coinbase)
enum UndoCoding {
    static func encode(_ spent: [SpentCoin]) -> [UInt8] {
        var w = ByteWriter(capacity: 8 + spent.count * 85)
        w.writeCompactSize(UInt64(spent.count))
        for s in spent {
            w.write(s.outpoint.txid)
            w.write(s.outpoint.index)
            w.write(s.coin.output.value)
            w.write(raw: s.coin.output.publicKey)
            w.write(UInt32(s.coin.height))
            w.write(UInt8(s.coin.isCoinbase ? 1 : 0))
        }
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(DecodingError) -> [SpentCoin] {
        var r = ByteReader(bytes)
        let n = try r.readCount("undo", limit: Limits.maxInputs, minItemSize: 81)  // 32 + 4 + 8 + 32 + 4 + 1 bytes an item
        var out = [SpentCoin]()
        out.reserveCapacity(n)
        for _ in 0..<n {
            let txid = try r.readHash("undo.txid")
            let index = try r.readUInt32("undo.index")
            let value = try r.readUInt64("undo.value")
            let key = try r.readBytes(32, "undo.key")
            let height = try r.readUInt32("undo.height")
            let cb = try r.readUInt8("undo.coinbase")
            out.append(SpentCoin(outpoint: OutPoint(txid: txid, index: index),
                                 coin: Coin(output: TxOutput(value: value, publicKey: key), height: Int(height), isCoinbase: cb != 0)))
        }
        try r.expectEnd()
        return out
    }
}
