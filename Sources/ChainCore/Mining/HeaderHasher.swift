import COpenSSL

/// The miner's inner loop: SHA-256d of an 80-byte header over many nonces.
///
/// The first 64 header bytes do not change with the nonce, so their SHA-256
/// state (the midstate) is computed once; each nonce then costs two
/// compression-function calls through OpenSSL's `SHA256_Transform`: one for
/// the last 16 header bytes plus padding, one for the second SHA-256 of the
/// 32-byte first hash. Not thread-safe: one hasher per mining thread.
public struct HeaderHasher {
    private var midstate = SHA256_CTX()
    private var initial = SHA256_CTX()
    /// Second block of the first hash: header bytes 64..<80, padding, bit length 640.
    private var tail = [UInt8](repeating: 0, count: 64)
    /// The one block of the second hash: first hash, padding, bit length 256.
    private var second = [UInt8](repeating: 0, count: 64)

    public init(header: BlockHeader) {
        SHA256_Init(&initial)
        reset(header: header)
    }

    /// New work: a header with a new merkle root, time or bits.
    public mutating func reset(header: BlockHeader) {
        let bytes = header.encoded
        midstate = initial
        bytes.withUnsafeBufferPointer { _ = SHA256_Update(&midstate, $0.baseAddress, 64) }
        for i in 0..<16 { tail[i] = bytes[64 + i] }
        tail[16] = 0x80
        for i in 17..<62 { tail[i] = 0 }
        tail[62] = 0x02; tail[63] = 0x80  // 640 bits
        for i in 32..<64 { second[i] = 0 }
        second[32] = 0x80
        second[62] = 0x01; second[63] = 0x00  // 256 bits
    }

    /// The header hash for one nonce.
    public mutating func hash(nonce: UInt32) -> Hash256 {
        let s = compress(nonce: nonce)
        return Self.hash(fromState: s)
    }

    /// Tries `count` nonces from `start`; returns the first whose hash is at
    /// most `target`, or nil.
    public mutating func scan(from start: UInt32, count: UInt32, target: Hash256) -> UInt32? {
        // The hash as a 256-bit little-endian number has its top 64 bits in state
        // words 7 and 6, byte-swapped; most nonces are decided by those alone.
        let top = target.w3
        var nonce = start
        for _ in 0..<count {
            let s = compress(nonce: nonce)
            let w3 = UInt64(s.7.byteSwapped) << 32 | UInt64(s.6.byteSwapped)
            if w3 < top || (w3 == top && Self.hash(fromState: s) <= target) { return nonce }
            nonce &+= 1
        }
        return nil
    }

    private typealias State = (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)

    @inline(__always)
    private mutating func compress(nonce: UInt32) -> State {
        tail[12] = UInt8(truncatingIfNeeded: nonce)
        tail[13] = UInt8(truncatingIfNeeded: nonce >> 8)
        tail[14] = UInt8(truncatingIfNeeded: nonce >> 16)
        tail[15] = UInt8(truncatingIfNeeded: nonce >> 24)
        var ctx = midstate
        tail.withUnsafeBufferPointer { SHA256_Transform(&ctx, $0.baseAddress) }
        let h = ctx.h
        second.withUnsafeMutableBufferPointer { p in
            let raw = UnsafeMutableRawPointer(p.baseAddress!)
            raw.storeBytes(of: h.0.bigEndian, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: h.1.bigEndian, toByteOffset: 4, as: UInt32.self)
            raw.storeBytes(of: h.2.bigEndian, toByteOffset: 8, as: UInt32.self)
            raw.storeBytes(of: h.3.bigEndian, toByteOffset: 12, as: UInt32.self)
            raw.storeBytes(of: h.4.bigEndian, toByteOffset: 16, as: UInt32.self)
            raw.storeBytes(of: h.5.bigEndian, toByteOffset: 20, as: UInt32.self)
            raw.storeBytes(of: h.6.bigEndian, toByteOffset: 24, as: UInt32.self)
            raw.storeBytes(of: h.7.bigEndian, toByteOffset: 28, as: UInt32.self)
        }
        var ctx2 = initial
        second.withUnsafeBufferPointer { SHA256_Transform(&ctx2, $0.baseAddress) }
        return ctx2.h
    }

    private static func hash(fromState s: State) -> Hash256 {
        // Digest bytes are the state words big-endian; Hash256 words are little-endian loads.
        func pair(_ a: UInt32, _ b: UInt32) -> UInt64 { UInt64(b.byteSwapped) << 32 | UInt64(a.byteSwapped) }
        return Hash256(w0: pair(s.0, s.1), w1: pair(s.2, s.3), w2: pair(s.4, s.5), w3: pair(s.6, s.7))
    }
}
