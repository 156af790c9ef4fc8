/// The message every input's Ed25519 signature signs.
///
///     sighash = SHA-256d( "CAIRN/sighash/v1"            16 ASCII bytes
///                       || magic                         4 bytes of the network
///                       || genesis hash                  32 bytes, internal order
///                       || tx encoded with every payload emptied
///                       || for each input in order: value (u64 LE) || public key (32) of the output it spends )
///
/// It commits to the whole transaction (all inputs and outputs), to every
/// amount and key being spent, and to the network, so a signature cannot be
/// moved to another transaction, another amount or another network.
public enum Sighash {
    public static let tag = Array("CAIRN/sighash/v1".utf8)

    public static func compute(_ tx: Transaction, spent: [TxOutput], params: ChainParams) -> Hash256 {
        precondition(spent.count == tx.inputs.count, "one spent output per input")
        var w = ByteWriter(capacity: tx.encodedSize + 52 + spent.count * 40)
        w.write(raw: tag)
        w.write(raw: params.magic)
        w.write(params.genesisHash)
        tx.encode(into: &w, blankingPayloads: true)
        for output in spent {
            w.write(output.value)
            w.write(raw: output.publicKey)
        }
        return Hash256.sha256d(w.bytes)
    }
}
