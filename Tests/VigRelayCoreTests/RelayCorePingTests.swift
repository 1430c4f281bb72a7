import Testing
import VigRelayCore

/// The heartbeat: `ping` after joining is answered `pong` to the sender alone, with its `id`.
struct RelayCorePingTests {
    /// A session with the practitioner on connection 1 and the family on 2.
    func paired() -> RelayHarness {
        let h = RelayHarness()
        h.join(1, as: .practitioner)
        h.join(2, as: .family)
        return h
    }

    func conn(_ role: Role) -> ConnectionID { role == .practitioner ? 1 : 2 }

    @Test(arguments: Role.allCases)
    func pingIsAnsweredToTheSenderOnly(role: Role) {
        let h = paired()
        let actions = h.core.receivedText(conn(role), utf8(#"{"type":"ping"}"#))
        #expect(actions == [.send(conn(role), .text(utf8(#"{"type":"pong"}"#)))], "nothing reaches the peer, nothing closes, no event")
    }

    @Test func pongEchoesAStringOrNumericId() {
        let h = paired()
        #expect(text(of: h.core.receivedText(2, utf8(#"{"type":"ping","id":"hb-7"}"#)).messages(to: 2).first) == #"{"id":"hb-7","type":"pong"}"#)
        #expect(text(of: h.core.receivedText(1, utf8(#"{"type":"ping","id":42}"#)).messages(to: 1).first) == #"{"id":42,"type":"pong"}"#)
    }

    @Test func pingWithoutAPeerIsStillAnswered() {
        let h = RelayHarness()
        h.join(1, as: .family)
        #expect(h.core.receivedText(1, utf8(#"{"type":"ping","extra":[1,2]}"#)) == [.send(1, .text(utf8(#"{"type":"pong"}"#)))])
    }

    @Test func pingChangesNothingElse() {
        let h = paired()
        for _ in 0..<3 { _ = h.core.receivedText(2, utf8(#"{"type":"ping"}"#)) }
        let frame = mediaBytes(stream: MediaStream.camera.rawValue, flags: .keyframe)
        #expect(h.core.receivedBinary(2, frame).media(to: 1) == [frame], "the family still streams to the practitioner")
        let signal = utf8(#"{"type":"signal"}"#)
        #expect(h.core.receivedText(1, signal) == [.send(2, .text(signal))], "both still joined")
    }

    @Test func pingBeforeHelloIsRefusedLikeAnyOtherFirstMessage() {
        let h = RelayHarness()
        let actions = h.connect(1, first: utf8(#"{"type":"ping","id":"early"}"#))
        #expect(actions.controls(to: 1).map { $0["code"] as? String } == ["hello_required"])
        #expect(actions.controls(to: 1).first?["id"] as? String == "early")
        #expect(actions.closeCodes(of: 1) == [RelayCloseCode.policyViolation])
    }

    @Test(arguments: [#"{"type":"Ping"}"#, #"{"type":"pong"}"#])
    func otherSpellingsAreStillUnknown(text: String) {
        let h = paired()
        #expect(h.core.receivedText(1, utf8(text)).controls(to: 1).map { $0["code"] as? String } == ["unknown_type"])
    }
}
