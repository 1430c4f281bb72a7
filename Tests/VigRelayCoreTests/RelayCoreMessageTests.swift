import Foundation
import Testing
import VigRelayCore

/// Text messages after joining: signal, bye, errors that keep the connection open, and shutdown.
struct RelayCoreMessageTests {
    /// A session with the practitioner on connection 1 and the family on 2.
    func paired() -> RelayHarness {
        let h = RelayHarness()
        h.join(1, as: .practitioner)
        h.join(2, as: .family)
        return h
    }

    func conn(_ role: Role) -> ConnectionID { role == .practitioner ? 1 : 2 }

    @Test(arguments: Role.allCases)
    func signalIsForwardedByteForByte(role: Role) {
        let h = paired()
        let bytes = utf8("{ \"type\" : \"signal\", \"sdp\":\"v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\n\", \"candidate\":null, \"n\":1.50, \"id\":\"s9\", \"ü\":\"\\u00fc/\" }")
        let actions = h.core.receivedText(conn(role), bytes)
        #expect(actions == [.send(conn(role.peer), .text(bytes))])
    }

    @Test(arguments: Role.allCases)
    func signalWithoutAPeerIsPeerAbsentAndStaysOpen(role: Role) throws {
        let h = RelayHarness()
        h.join(1, as: role)
        let actions = h.core.receivedText(1, utf8(#"{"type":"signal","id":"s1"}"#))
        #expect(actions.recipients == [1])
        let error = try #require(actions.controls(to: 1).first)
        #expect(error["code"] as? String == "peer_absent")
        #expect(error["id"] as? String == "s1")
        #expect((error["message"] as? String)?.contains(role.peer.rawValue) == true)
        #expect(actions.closedConnections.isEmpty)
        h.join(2, as: role.peer)
        let signal = utf8(#"{"type":"signal"}"#)
        #expect(h.core.receivedText(1, signal) == [.send(2, .text(signal))], "still joined")
    }

    @Test func signalAfterThePeerLeftIsPeerAbsent() {
        let h = paired()
        _ = h.core.closed(2)
        let actions = h.core.receivedText(1, utf8(#"{"type":"signal"}"#))
        #expect(actions.controls(to: 1).map { $0["code"] as? String } == ["peer_absent"])
    }

    /// A message after joining, the code it should get, and the id it carries.
    static let replyIDs: [(String, String, String)] = [
        (#"{"type":"signal","id":"abc"}"#, "peer_absent", "abc"),
        (#"{"type":"dance","id":"d-1"}"#, "unknown_type", "d-1"),
        (#"{"id":"no-type"}"#, "unknown_type", "no-type"),
        (#"{"type":"hello","token":"x","id":"h2"}"#, "unexpected_hello", "h2"),
    ]

    @Test(arguments: replyIDs)
    func errorsEchoTheStringId(message: String, code: String, id: String) throws {
        let h = RelayHarness()
        h.join(1, as: .family)
        let error = try #require(h.core.receivedText(1, utf8(message)).controls(to: 1).first)
        #expect(error["code"] as? String == code)
        #expect(error["id"] as? String == id)
    }

    @Test func errorsEchoNumericIds() throws {
        let h = RelayHarness()
        h.join(1, as: .family)
        let actions = h.core.receivedText(1, utf8(#"{"type":"signal","id":17}"#))
        #expect(text(of: actions.messages(to: 1).first).contains(#""id":17"#))
    }

    @Test func welcomeEchoesTheHelloId() throws {
        let h = RelayHarness()
        let byString = h.connect(1, first: RelayHarness.hello(Fixture.practitionerToken(), id: "join-1"))
        #expect(byString.controls(to: 1).first?["id"] as? String == "join-1")
        let byNumber = h.connect(2, first: utf8(#"{"type":"hello","token":"\#(Fixture.inviteToken())","id":5}"#))
        #expect(text(of: byNumber.messages(to: 2).first).contains(#""id":5"#))
        #expect(byNumber.controls(to: 1).first?["id"] == nil, "the peer notice has no id")
    }

    @Test(arguments: ["not json", "", "{", "[1,2]", "\"signal\"", "42", "{\"type\":\"signal\"}x"])
    func textThatIsNotAJSONObjectIsInvalidJSONAndStaysOpen(text: String) throws {
        let h = paired()
        let actions = h.core.receivedText(1, utf8(text))
        #expect(actions.recipients == [1], "nothing reaches the peer")
        let error = try #require(actions.controls(to: 1).first)
        #expect(error["code"] as? String == "invalid_json")
        #expect(error["id"] == nil)
        #expect(actions.closedConnections.isEmpty)
        let signal = utf8(#"{"type":"signal"}"#)
        #expect(h.core.receivedText(1, signal) == [.send(2, .text(signal))])
    }

    @Test(arguments: [#"{"type":"dance","id":"d"}"#, #"{"id":"d"}"#, #"{"type":7,"id":"d"}"#, #"{"type":"","id":"d"}"#,
                      #"{"type":"Signal","id":"d"}"#, #"{"type":"welcome","id":"d"}"#])
    func unknownTypesStayOpenAndAreNotForwarded(text: String) throws {
        let h = paired()
        let actions = h.core.receivedText(2, utf8(text))
        #expect(actions.recipients == [2])
        let error = try #require(actions.controls(to: 2).first)
        #expect(error["code"] as? String == "unknown_type")
        #expect(error["id"] as? String == "d")
        #expect(actions.closedConnections.isEmpty)
        #expect(actions.events.isEmpty)
    }

    @Test(arguments: Role.allCases)
    func aSecondHelloIsUnexpectedAndChangesNothing(role: Role) throws {
        let h = paired()
        let other = RelayHarness.token(for: role.peer)
        let actions = h.core.receivedText(conn(role), RelayHarness.hello(other))
        #expect(actions.controls(to: conn(role)).map { $0["code"] as? String } == ["unexpected_hello"])
        #expect((actions.controls(to: conn(role)).first?["message"] as? String)?.contains(role.rawValue) == true)
        #expect(actions.recipients == [conn(role)])
        #expect(actions.closedConnections.isEmpty)
        let frame = mediaBytes(stream: role.sendableStream.rawValue, flags: .keyframe)
        #expect(h.core.receivedBinary(conn(role), frame).media(to: conn(role.peer)) == [frame], "still the same role")
    }

    @Test(arguments: Role.allCases)
    func byeClosesWith1000AndThePeerIsToldLeft(role: Role) {
        let h = paired()
        let me = conn(role), peer = conn(role.peer)
        let actions = h.core.receivedText(me, utf8(#"{"type":"bye"}"#))
        #expect(actions.closeCodes(of: me) == [1000])
        #expect(actions.closedConnections == [me])
        #expect(actions.messages(to: peer) == [.text(utf8(#"{"event":"left","role":"\#(role.rawValue)","type":"peer"}"#))])
        #expect(actions.events == [SessionEvent(.left, sessionID: Fixture.sessionID, role: role, connection: me)])
        #expect(actions.sendsNothingAfterClose)
        #expect(h.core.receivedText(me, utf8(#"{"type":"signal"}"#)).isEmpty, "nothing after bye")
        #expect(h.core.closed(me).isEmpty, "the peer is told once")
        #expect(h.core.receivedText(peer, utf8(#"{"type":"signal"}"#)).controls(to: peer).first?["code"] as? String == "peer_absent")
    }

    @Test func shutdownClosesEveryConnectionWith1001() {
        let h = paired()
        _ = h.core.opened(3, path: RelayHarness.path(Fixture.otherSessionID))
        _ = h.core.opened(4, path: RelayHarness.path())
        #expect(h.core.connectionCount == 4)
        let actions = h.core.shutdown()
        #expect(actions.closedConnections.sorted() == [1, 2, 3, 4])
        for conn: ConnectionID in 1...4 {
            #expect(actions.closeCodes(of: conn) == [RelayCloseCode.goingAway])
            #expect(actions.closeCodes(of: conn) == [1001])
        }
        #expect(actions.sendsNothingAfterClose)
        let signal = utf8(#"{"type":"signal"}"#)
        #expect(h.core.receivedText(1, signal).isEmpty)
        #expect(h.core.receivedText(2, signal).isEmpty)
        #expect(h.core.receivedBinary(2, mediaBytes(stream: 1)).isEmpty)
        #expect(h.core.receivedText(3, RelayHarness.hello(Fixture.practitionerToken(Fixture.otherOwner))).isEmpty)
        #expect(h.core.helloTimedOut(4).isEmpty)
    }

    @Test func shutdownWithNoConnectionsDoesNothing() {
        #expect(RelayHarness().core.shutdown().isEmpty)
    }
}

/// The heartbeat: `ping` after joining is answered `pong` to the sender alone, with its `id`.
extension RelayCoreMessageTests {
    @Test(arguments: Role.allCases)
    func pingIsAnsweredToTheSenderOnly(role: Role) {
        let h = paired()
        let actions = h.core.receivedText(conn(role), utf8(#"{"type":"ping"}"#))
        #expect(actions == [.send(conn(role), .aheadOfMedia(utf8(#"{"type":"pong"}"#)))], "nothing reaches the peer, nothing closes, no event")
    }

    @Test func pongEchoesAStringOrNumericId() {
        let h = paired()
        #expect(text(of: h.core.receivedText(2, utf8(#"{"type":"ping","id":"hb-7"}"#)).messages(to: 2).first) == #"{"id":"hb-7","type":"pong"}"#)
        #expect(text(of: h.core.receivedText(1, utf8(#"{"type":"ping","id":42}"#)).messages(to: 1).first) == #"{"id":42,"type":"pong"}"#)
    }

    /// Asked with `"clock":true` (the pages' pacing, docs/PROTOCOL.md "Slow links"), the pong says
    /// when the ping arrived, in ms of the relay's clock; only a JSON `true` asks.
    @Test func aPingThatAsksTheClockIsToldWhenItArrived() {
        let h = paired()
        h.clock.now = Date(timeIntervalSince1970: 1_800_000_000.1234)
        #expect(text(of: h.core.receivedText(2, utf8(#"{"type":"ping","id":"pace-1","clock":true}"#)).messages(to: 2).first)
            == #"{"id":"pace-1","relayMs":1800000000123,"type":"pong"}"#)
        for other in [#"{"type":"ping","clock":1}"#, #"{"type":"ping","clock":"true"}"#, #"{"type":"ping","clock":false}"#] {
            #expect(text(of: h.core.receivedText(2, utf8(other)).messages(to: 2).first) == #"{"type":"pong"}"#, "\(other)")
        }
    }

    /// A viewer asks to be skipped to the present of the stream it views: the practitioner the
    /// camera, the family the screen; nothing is sent and nothing else changes.
    @Test func catchUpAsksForTheStreamTheViewerViews() {
        let h = paired()
        #expect(h.core.receivedText(1, utf8(#"{"type":"catch_up"}"#)) == [.catchUp(1, stream: .camera, starts: nil)])
        #expect(h.core.receivedText(2, utf8(#"{"type":"catch_up","starts":2,"stream":1}"#)) == [.catchUp(2, stream: .screen, starts: 2)])
        for bad in [#"{"type":"catch_up","starts":-1}"#, #"{"type":"catch_up","starts":"1"}"#, #"{"type":"catch_up","starts":true}"#,
                    #"{"type":"catch_up","starts":1.5}"#] {
            let out = h.core.receivedText(1, utf8(bad)).messages(to: 1)
            #expect(out.count == 1 && out.first?.errorCode == .invalidMessage, "\(bad)")
        }
        let frame = mediaBytes(stream: MediaStream.camera.rawValue, flags: .keyframe)
        #expect(h.core.receivedBinary(2, frame).media(to: 1) == [frame], "the family still streams to the practitioner")
    }

    @Test func pingWithoutAPeerIsStillAnswered() {
        let h = RelayHarness()
        h.join(1, as: .family)
        #expect(h.core.receivedText(1, utf8(#"{"type":"ping","extra":[1,2]}"#)) == [.send(1, .aheadOfMedia(utf8(#"{"type":"pong"}"#)))])
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
