import ChainCore
import Foundation
import NodeKit

/// The peer protocol's messages and their binary encoding (docs/PROTOCOL.md, "Peer protocol").
///
/// Every WebSocket message is one binary frame sequence holding
///
///     u8 type | u8 version | payload
///
/// Every type has one version (1) and a maximum payload size; a decoder
/// rejects an unknown type or version, a payload over its bound, input that
/// ends early, bytes left over, a non-minimal CompactSize and any count the
/// rest of the payload could not hold, before allocating.
enum Wire {
    /// Protocol version carried in `version`; peers below `minimumProtocolVersion` are refused.
    static let protocolVersion: UInt32 = 1
    static let minimumProtocolVersion: UInt32 = 1
    /// Version byte of every message type in this protocol version.
    static let messageVersion: UInt8 = 1
    /// Largest WebSocket message the transport accepts (anything larger closes the connection).
    static let maxMessageSize = 2 + Limits.maxBlockSize + 1024
    /// Largest single WebSocket frame read (a larger one closes the connection unscored, as the
    /// transport drops it before the protocol sees it); between the two, a message is decoded
    /// and scored as oversized. Messages we send are fragmented at this size.
    static let maxFrameSize = 4 << 20
    static let maxInventory = 1000
    static let maxLocator = 64
    static let maxHeaders = PeerLimits.maxHeaders
    static let maxAddresses = 100
    static let maxAddressLength = 200
    static let maxUserAgent = 256
    static let maxRejectText = 256

    enum Kind: UInt8, CaseIterable, Sendable {
        case version = 0x01, verack = 0x02, reject = 0x03, ping = 0x04, pong = 0x05, getaddr = 0x06, addr = 0x07
        case inv = 0x10, getdata = 0x11, notfound = 0x12, getheaders = 0x13, headers = 0x14, block = 0x15, tx = 0x16

        /// Largest payload of the type (the bytes after the two-byte prefix).
        var maxPayload: Int {
            switch self {
            case .version: return 4 + 4 + 32 + 4 + 32 + 8 + 2 + 3 + Wire.maxUserAgent
            case .verack, .getaddr: return 0
            case .reject: return 3 + 64 + 3 + Wire.maxRejectText
            case .ping, .pong: return 8
            case .addr: return 3 + Wire.maxAddresses * (1 + Wire.maxAddressLength)
            case .inv, .getdata, .notfound: return 3 + Wire.maxInventory * 33
            case .getheaders: return 1 + Wire.maxLocator * 32 + 32
            case .headers: return 3 + Wire.maxHeaders * BlockHeader.size
            case .block, .tx: return Limits.maxBlockSize
            }
        }

        var name: String { "\(self)" }
    }

    enum InvType: UInt8, Sendable { case tx = 1, block = 2 }

    struct InvItem: Hashable, Sendable {
        var type: InvType
        var hash: Hash256
        init(_ type: InvType, _ hash: Hash256) { self.type = type; self.hash = hash }
    }

    struct Hello: Equatable, Sendable {
        var protocolVersion: UInt32
        var magic: [UInt8]
        var genesis: Hash256
        var bestHeight: UInt32
        var bestHash: Hash256
        /// Random per process: a connection whose hello carries our own nonce is to ourselves.
        var nonce: UInt64
        /// The port this node accepts peers on (0: none), for address exchange.
        var listenPort: UInt16
        var userAgent: String
    }

    enum Message: Equatable, Sendable {
        case version(Hello)
        case verack
        case reject(code: String, reason: String)
        case ping(UInt64)
        case pong(UInt64)
        case getaddr
        case addr([String])
        case inv([InvItem])
        case getdata([InvItem])
        case notfound([InvItem])
        case getheaders(locator: [Hash256], stop: Hash256)
        case headers([BlockHeader])
        case block(Block)
        case tx(Transaction)

        var kind: Kind {
            switch self {
            case .version: return .version
            case .verack: return .verack
            case .reject: return .reject
            case .ping: return .ping
            case .pong: return .pong
            case .getaddr: return .getaddr
            case .addr: return .addr
            case .inv: return .inv
            case .getdata: return .getdata
            case .notfound: return .notfound
            case .getheaders: return .getheaders
            case .headers: return .headers
            case .block: return .block
            case .tx: return .tx
            }
        }
    }

    /// Why a message could not be decoded; each costs the sender misbehaviour points.
    enum Failure: Error, Equatable, CustomStringConvertible {
        case empty
        case unknownType(UInt8)
        case unknownVersion(Kind, UInt8)
        case oversized(Kind, Int)
        case malformed(Kind, String)

        var description: String {
            switch self {
            case .empty: return "message shorter than its two-byte prefix"
            case .unknownType(let t): return "unknown message type 0x\(String(t, radix: 16))"
            case .unknownVersion(let k, let v): return "\(k.name) version \(v) is not supported"
            case .oversized(let k, let n): return "\(k.name) payload of \(n) bytes exceeds its bound \(k.maxPayload)"
            case .malformed(let k, let why): return "malformed \(k.name): \(why)"
            }
        }

        /// The misbehaviour this failure is scored as.
        var offence: Offence {
            switch self {
            case .oversized: return .oversized
            case .unknownType, .unknownVersion: return .unknownMessage
            case .empty, .malformed: return .malformed
            }
        }
    }

    // MARK: encoding

    static func encode(_ message: Message) -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.write(message.kind.rawValue)
        w.write(messageVersion)
        switch message {
        case .version(let h):
            w.write(h.protocolVersion)
            w.write(raw: h.magic.prefix(4) + Array(repeating: 0, count: max(0, 4 - h.magic.count)))
            w.write(h.genesis)
            w.write(h.bestHeight)
            w.write(h.bestHash)
            w.write(h.nonce)
            w.write(h.listenPort)
            w.writeVarBytes(Array(h.userAgent.utf8.prefix(maxUserAgent)))
        case .verack, .getaddr:
            break
        case .reject(let code, let reason):
            w.writeVarBytes(Array(code.utf8.prefix(64)))
            w.writeVarBytes(Array(reason.utf8.prefix(maxRejectText)))
        case .ping(let n), .pong(let n):
            w.write(n)
        case .addr(let list):
            w.writeCompactSize(UInt64(list.count))
            for a in list { w.writeVarBytes(Array(a.utf8)) }
        case .inv(let items), .getdata(let items), .notfound(let items):
            w.writeCompactSize(UInt64(items.count))
            for i in items {
                w.write(i.type.rawValue)
                w.write(i.hash)
            }
        case .getheaders(let locator, let stop):
            w.writeCompactSize(UInt64(locator.count))
            for h in locator { w.write(h) }
            w.write(stop)
        case .headers(let headers):
            w.writeCompactSize(UInt64(headers.count))
            for h in headers { h.encode(into: &w) }
        case .block(let b):
            b.encode(into: &w)
        case .tx(let t):
            t.encode(into: &w)
        }
        return w.bytes
    }

    // MARK: decoding

    static func decode(_ bytes: [UInt8]) throws(Failure) -> Message {
        guard bytes.count >= 2 else { throw .empty }
        guard let kind = Kind(rawValue: bytes[0]) else { throw .unknownType(bytes[0]) }
        guard bytes[1] == messageVersion else { throw .unknownVersion(kind, bytes[1]) }
        let payloadSize = bytes.count - 2
        guard payloadSize <= kind.maxPayload else { throw .oversized(kind, payloadSize) }
        var r = ByteReader(Array(bytes[2...]))
        do {
            let m = try decodePayload(kind, &r)
            try r.expectEnd()
            return m
        } catch let e as DecodingError {
            throw .malformed(kind, e.description)
        } catch let e as Failure {
            throw e
        } catch {
            throw .malformed(kind, "\(error)")
        }
    }

    private static func decodePayload(_ kind: Kind, _ r: inout ByteReader) throws -> Message {
        switch kind {
        case .version:
            let v = try r.readUInt32("protocol version")
            let magic = try r.readBytes(4, "magic")
            let genesis = try r.readHash("genesis")
            let height = try r.readUInt32("best height")
            let best = try r.readHash("best hash")
            let nonce = try r.readUInt64("nonce")
            let port = try r.readUInt16("listen port")
            let agent = try r.readVarBytes("user agent", limit: maxUserAgent)
            guard let text = String(validating: agent, as: UTF8.self) else { throw Failure.malformed(kind, "user agent is not UTF-8") }
            return .version(Hello(protocolVersion: v, magic: magic, genesis: genesis, bestHeight: height, bestHash: best,
                                  nonce: nonce, listenPort: port, userAgent: text))
        case .verack: return .verack
        case .getaddr: return .getaddr
        case .reject:
            let code = try r.readVarBytes("code", limit: 64)
            let reason = try r.readVarBytes("reason", limit: maxRejectText)
            return .reject(code: String(decoding: code, as: UTF8.self), reason: String(decoding: reason, as: UTF8.self))
        case .ping: return .ping(try r.readUInt64("nonce"))
        case .pong: return .pong(try r.readUInt64("nonce"))
        case .addr:
            let n = try r.readCount("address count", limit: maxAddresses, minItemSize: 1)
            var out = [String]()
            for _ in 0..<n {
                let raw = try r.readVarBytes("address", limit: maxAddressLength)
                guard let s = String(validating: raw, as: UTF8.self), s.hasPrefix("ws://") || s.hasPrefix("wss://") else {
                    throw Failure.malformed(kind, "an address is not a ws:// URL")
                }
                out.append(s)
            }
            return .addr(out)
        case .inv, .getdata, .notfound:
            let n = try r.readCount("inventory count", limit: maxInventory, minItemSize: 33)
            var items = [InvItem]()
            items.reserveCapacity(n)
            for _ in 0..<n {
                let t = try r.readUInt8("inventory type")
                guard let type = InvType(rawValue: t) else { throw Failure.malformed(kind, "inventory type \(t)") }
                items.append(InvItem(type, try r.readHash("inventory hash")))
            }
            switch kind {
            case .inv: return .inv(items)
            case .getdata: return .getdata(items)
            default: return .notfound(items)
            }
        case .getheaders:
            let n = try r.readCount("locator count", limit: maxLocator, minItemSize: 32)
            var locator = [Hash256]()
            for _ in 0..<n { locator.append(try r.readHash("locator hash")) }
            return .getheaders(locator: locator, stop: try r.readHash("stop hash"))
        case .headers:
            let n = try r.readCount("header count", limit: maxHeaders, minItemSize: BlockHeader.size)
            var headers = [BlockHeader]()
            headers.reserveCapacity(n)
            for _ in 0..<n { headers.append(try BlockHeader(from: &r)) }
            return .headers(headers)
        case .block:
            return .block(try Block(bytes: r.readBytes(r.remaining, "block")))
        case .tx:
            return .tx(try Transaction(bytes: r.readBytes(r.remaining, "transaction")))
        }
    }
}
