import ChainCore
import Foundation
@testable import PeerBridge
import Testing

@Suite("Handshake checks and offence scores")
struct HandshakeTests {
    let params = ChainParams.regtest

    @Test("a matching hello is accepted")
    func accepted() {
        #expect(Handshake.check(WireTests.hello(), params: params, ownNonce: 1) == nil)
    }

    @Test("each mismatch ends with its stated reason")
    func mismatches() {
        #expect(Handshake.check(WireTests.hello(magic: ChainParams.main.magic), params: params, ownNonce: 1)?.0 == .wrongNetwork)
        #expect(Handshake.check(WireTests.hello(genesis: ChainParams.testnet.genesisHash), params: params, ownNonce: 1)?.0 == .wrongGenesis)
        #expect(Handshake.check(WireTests.hello(version: 0), params: params, ownNonce: 1)?.0 == .obsoleteVersion)
        #expect(Handshake.check(WireTests.hello(nonce: 99), params: params, ownNonce: 99)?.0 == .selfConnection)
        // The reason names both sides.
        let reason = Handshake.check(WireTests.hello(magic: ChainParams.main.magic), params: params, ownNonce: 1)?.1 ?? ""
        #expect(reason.contains(Hex.encode(ChainParams.main.magic)) && reason.contains("regtest"))
        #expect(Handshake.offence(for: .wrongNetwork) == .wrongNetwork)
        #expect(Handshake.offence(for: .selfConnection) == nil)
    }

    @Test("a hello for the wrong network survives the codec intact (magic is checked, not trusted)")
    func wrongMagicDecodes() throws {
        let m = Wire.Message.version(WireTests.hello(magic: [1, 2, 3, 4]))
        #expect(try Wire.decode(Wire.encode(m)) == m)
    }

    @Test("scores: what bans at once, what accumulates")
    func scoring() {
        for o in [Offence.wrongNetwork, .wrongGenesis, .invalidBlock, .invalidHeader, .oversized] {
            #expect(o.score >= Offence.banThreshold, "\(o) bans at once")
        }
        #expect(Offence.malformed.score * 2 >= Offence.banThreshold)
        #expect(Offence.rateLimited.score * 5 >= Offence.banThreshold)
        #expect(Offence.malformed.score < Offence.banThreshold)
        // An obsolete version is refused with its reject code, unscored: no offence answers it.
        #expect(Handshake.offence(for: .obsoleteVersion) == nil)
    }
}
