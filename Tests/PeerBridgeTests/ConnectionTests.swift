import NIOWebSocket
@testable import PeerBridge
import Testing

/// The transport's errors as offences (Transport/Connection.swift), by the error's type, never its text.
@Suite("Connection: transport errors as offences")
struct ConnectionTests {
    /// The shape of the WebSocket stream's own close error (`WebSocketHandler.InternalError`, not public):
    /// an enum case carrying the close code.
    enum StreamClose: Error { case close(WebSocketErrorCode) }
    /// An error wrapping another, as a channel error may.
    struct Wrapped: Error { let underlying: any Error }
    /// An error whose text says "too large" but whose type does not: not oversized.
    struct Misleading: Error, CustomStringConvertible { var description: String { "messageTooLarge invalidFrameLength" } }

    @Test("a frame or message over the bound is oversized (scored to a ban); every other transport error is malformed")
    func offenceByType() {
        #expect(Offence(transportError: NIOWebSocketError.invalidFrameLength) == .oversized)
        #expect(Offence(transportError: StreamClose.close(.messageTooLarge)) == .oversized)
        #expect(Offence(transportError: Wrapped(underlying: StreamClose.close(.messageTooLarge))) == .oversized)
        #expect(Offence(transportError: Wrapped(underlying: NIOWebSocketError.invalidFrameLength)) == .oversized)

        #expect(Offence(transportError: NIOWebSocketError.fragmentedControlFrame) == .malformed)
        #expect(Offence(transportError: NIOWebSocketError.multiByteControlFrameLength) == .malformed)
        #expect(Offence(transportError: StreamClose.close(.protocolError)) == .malformed)
        #expect(Offence(transportError: StreamClose.close(.dataInconsistentWithMessage)) == .malformed)
        #expect(Offence(transportError: Misleading()) == .malformed, "the text is not looked at")
        #expect(Offence.oversized.score >= Offence.banThreshold && Offence.malformed.score < Offence.banThreshold)
    }
}
