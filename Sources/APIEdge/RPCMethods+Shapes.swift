import ChainCore
import Foundation
import NodeKit

/// Bitcoin Core result shapes built from Cairn values (headers, transactions, entries, templates).
extension RPCMethods {

    /// A fee rate in base units per byte as bitcoind shows one: CRN per kilobyte, 8 decimals.
    static func perKB(_ unitsPerByte: Double) -> RPCValue {
        .amount(unitsPerByte.isFinite && unitsPerByte > 0 ? UInt64((unitsPerByte * 1000).rounded()) : 0)
    }

    /// Bitcoin Core's chain names.
    static func chainName(_ network: String) -> String { network == "testnet" ? "test" : network }

    /// 0.1.0 → 100, as bitcoind's 270000 for 27.0.0.
    static var versionNumber: Int {
        let parts = NodeRoutes.version.split(separator: ".").compactMap { Int($0) } + [0, 0, 0]
        return parts[0] * 10_000 + parts[1] * 100 + parts[2]
    }

    static func header(_ ctx: RPCContext, _ hash: String) async throws -> HeaderInfo {
        do {
            return try await ctx.backend.chain(.getheader, BlockRef(hash: hash), as: HeaderInfo.self)
        } catch let e as APIError where e.status == .notFound {
            throw RPCFault.invalidAddressOrKey("Block not found")
        }
    }

    static func headerBytes(_ h: HeaderInfo) throws -> [UInt8] {
        guard let prev = Hash256(hex: h.previousHash), let root = Hash256(hex: h.merkleRoot) else {
            throw RPCFault.internalError("the chain store returned an undecodable header")
        }
        return BlockHeader(version: h.version, previousHash: prev, merkleRoot: root, time: h.time, bits: h.bits, nonce: h.nonce).encoded
    }

    static func headerJSON(_ h: HeaderInfo, tipHeight: Int) -> RPCValue {
        var o: [String: RPCValue] = [
            "hash": .string(h.hash), "confirmations": RPCValue(h.inBestChain ? tipHeight - h.height + 1 : -1), "height": RPCValue(h.height),
            "version": .int(Int64(h.version)), "versionHex": .string(String(format: "%08x", UInt32(bitPattern: h.version))),
            "merkleroot": .string(h.merkleRoot), "time": RPCValue(Int(h.time)), "nonce": .int(Int64(h.nonce)),
            "bits": .string(String(format: "%08x", h.bits)), "difficulty": .double(h.difficulty), "chainwork": .string(h.chainwork),
            "nTx": RPCValue(h.txCount),
        ]
        if h.height > 0 { o["previousblockhash"] = .string(h.previousHash) }
        if let next = h.nextHash { o["nextblockhash"] = .string(next) }
        return .object(o)
    }

    /// An output's "script": Cairn pays a public key, so the hex is the 32-byte key.
    static func scriptPubKey(_ key: [UInt8], network: Network) -> RPCValue {
        var o: [String: RPCValue] = ["hex": .string(Hex.encode(key)), "type": "ed25519"]
        if key.count == Limits.publicKeySize { o["address"] = .string(Address(publicKey: key, network: network).string) }
        return .object(o)
    }

    static func txJSON(_ tx: Transaction, network: Network) -> RPCValue {
        let txid = tx.txid.hex
        let size = tx.encodedSize
        return [
            "txid": .string(txid), "hash": .string(txid), "version": .int(Int64(tx.version)), "size": RPCValue(size), "vsize": RPCValue(size),
            "weight": RPCValue(size * 4),
            "vin": .array(tx.inputs.map { i -> RPCValue in
                i.previousOutput.isNull
                    ? ["coinbase": .string(Hex.encode(i.payload))]
                    : ["txid": .string(i.previousOutput.txid.hex), "vout": .int(Int64(i.previousOutput.index)), "signature": .string(Hex.encode(i.payload))]
            }),
            "vout": .array(tx.outputs.enumerated().map { n, o -> RPCValue in
                ["value": .amount(o.value), "n": RPCValue(n), "scriptPubKey": scriptPubKey(o.publicKey, network: network)]
            }),
        ]
    }

    static func fee(_ tx: Transaction, prevouts: [OutPoint: TxOutput]) -> UInt64? {
        var inSum: UInt64 = 0
        for i in tx.inputs {
            guard let p = prevouts[i.previousOutput] else { return nil }
            inSum &+= p.value
        }
        let outSum = tx.outputs.reduce(UInt64(0)) { $0 &+ $1.value }
        return inSum >= outSum ? inSum - outSum : nil
    }

    static func entryJSON(_ e: MempoolEntry) -> RPCValue {
        ["vsize": RPCValue(e.size), "weight": RPCValue(e.size * 4), "time": RPCValue(Int(e.time)),
         "fees": ["base": .amount(e.fee), "modified": .amount(e.fee)], "depends": .array(e.depends.map { .string($0) })]
    }

    /// A transaction's parents in a template, 1-based, ascending, found by decoding it: its inputs'
    /// txids looked up in `index` (txid → place).
    static func decodedDepends(_ hex: String, index: [String: Int]) -> [Int] {
        var depends = Set<Int>()
        if let raw = Hex.decode(hex), let tx = try? Transaction(bytes: raw) {
            for input in tx.inputs { if let d = index[input.previousOutput.txid.hex] { depends.insert(d) } }
        }
        return depends.sorted()
    }

    static func templateJSON(_ t: BlockTemplate) -> RPCValue {
        // `depends` comes with the template (block assembly's links); only a mempool without it
        // (an older one) has each transaction decoded here to find its parents.
        let given = t.depends.flatMap { $0.count == t.transactions.count ? $0 : nil }
        var index = [String: Int]()
        if given == nil { for (i, txid) in t.txids.enumerated() { index[txid] = i + 1 } }
        let txs: [RPCValue] = zip(t.transactions, t.txids).enumerated().map { i, pair in
            let (hex, txid) = pair
            let depends = given?[i] ?? decodedDepends(hex, index: index)
            return ["data": .string(hex), "txid": .string(txid), "hash": .string(txid), "depends": .array(depends.map { RPCValue($0) }),
                    "weight": RPCValue(hex.utf8.count / 2 * 4)]
        }
        let target = CompactTarget.hashValue(CompactTarget.decode(t.bits).target).hex
        return [
            "version": .int(Int64(Transaction.currentVersion)), "rules": [], "vbavailable": [:], "vbrequired": 0,
            "previousblockhash": .string(t.previousHash), "transactions": .array(txs), "coinbaseaux": [:],
            "coinbasevalue": .int(Int64(clamping: t.coinbaseValue)), "longpollid": .string("\(t.previousHash)\(t.mempoolSequence)"),
            "target": .string(target), "mintime": RPCValue(Int(t.minTime)), "mutable": ["time", "transactions", "prevblock"],
            "noncerange": "00000000ffffffff", "sizelimit": RPCValue(Limits.maxBlockSize), "weightlimit": RPCValue(Limits.maxBlockSize * 4),
            "curtime": RPCValue(Int(t.time)), "bits": .string(String(format: "%08x", t.bits)), "height": RPCValue(t.height),
        ]
    }

    /// Bitcoin Core's GetNetworkHashPS over the last 120 blocks: work done over the time it took.
    static func networkHashRate(_ headers: [HeaderInfo]) -> Double {
        guard let newest = headers.first, let oldest = headers.last, newest.height > oldest.height else { return 0 }
        let times = headers.map(\.time)
        let span = Double((times.max() ?? 0) - (times.min() ?? 0))
        guard span > 0 else { return 0 }
        return (hexToDouble(newest.chainwork) - hexToDouble(oldest.chainwork)) / span
    }

    static func hexToDouble(_ hex: String) -> Double {
        hex.utf8.reduce(0.0) { acc, c in
            let v: UInt8 = c >= 97 ? c - 87 : c >= 65 ? c - 55 : c - 48
            return acc * 16 + Double(v & 0x0f)
        }
    }

    /// `maxfeerate` (CRN/kB; absent: 0.10, Core's default; 0: no limit) in base units a kB, refused
    /// as Core refuses it: below 0 -3 "Amount out of range", more than 8 decimals -3 "Invalid
    /// amount", 1 CRN/kB or more -8.
    static func maxFeeRate(_ rate: Double?) throws(RPCFault) -> UInt64 {
        let rate = rate ?? 0.10
        guard rate.isFinite, rate >= 0 else { throw RPCFault.typeError("Amount out of range") }
        let units = rate * 100_000_000
        guard abs(units - units.rounded()) < 1e-6 else { throw RPCFault.typeError("Invalid amount") }
        guard rate < 1 else { throw RPCFault.invalidParameter("Fee rates larger than or equal to 1 CRN/kB are not accepted") }
        return UInt64(units.rounded())
    }

    /// The highest fee a transaction of `size` bytes may pay at `perKB` (nil: no limit), for the
    /// mempool's admission to check, since it knows the fee. Rounded up, as Core's
    /// `CFeeRate::GetFee`: a transaction paying exactly the rate passes.
    static func maxFee(perKB: UInt64, size: Int) -> UInt64? {
        guard perKB > 0 else { return nil }
        // (perKB < 10^8 and a request body far below 2^32 bytes: no overflow)
        return (perKB * UInt64(max(size, 0)) + 999) / 1000
    }

    /// A mempool refusal as bitcoind reports it: missing inputs -25, already in the chain -27, a
    /// transaction that does not decode -22, every other rule -26.
    static func txFault(_ e: APIError) -> RPCFault {
        switch e.code {
        case MempoolRefusal.malformed.rawValue: return .deserialization("TX decode failed: \(e.message)")
        case RejectReason.inputsMissingOrSpent.rawValue: return RPCFault(RPCFault.verifyErrorCode, "bad-txns-inputs-missingorspent (\(e.message))")
        case MempoolRefusal.alreadyKnown.rawValue: return RPCFault(RPCFault.verifyAlreadyInChainCode, "Transaction already in block chain")
        case MempoolRefusal.maxFeeExceeded.rawValue:
            return RPCFault(RPCFault.verifyErrorCode, "max-fee-exceeded: \(e.message) (Fee exceeds maximum configured by user (e.g. -maxtxfee, maxfeerate))")
        default: return RPCFault(RPCFault.verifyRejectedCode, "\(e.code) (\(e.message))")
        }
    }
}
