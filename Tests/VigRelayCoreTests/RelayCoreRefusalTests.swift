import Foundation
import Testing
import VigRelayCore

/// Every way the first message can be refused: each sends one error, closes, and leaves the session alone.
enum HelloRefusal: String, CaseIterable, Sendable {
    case noToken, tokenNotAString, emptyToken, malformedToken, forgedToken, expiredPractitioner, expiredInvite
    case otherPractitionersSession, inviteForAnotherSession, inviteForAnUnknownSession, metricsToken
    case practitionerUnknownSession, inviteUnknownSession
    case notAHello, byeFirst, noType, typeNotAString, notJSON, emptyText, truncatedJSON, jsonArray, jsonString

    /// The session in the connection's path.
    var pathSession: String {
        switch self {
        case .practitionerUnknownSession, .inviteUnknownSession: Fixture.unknownSessionID
        default: Fixture.sessionID
        }
    }

    /// The first text message.
    var firstMessage: String {
        let t0 = Fixture.t0
        func hello(_ token: String) -> String { #"{"type":"hello","token":"\#(token)","id":"r1"}"# }
        switch self {
        case .noToken: return #"{"type":"hello","id":"r1"}"#
        case .tokenNotAString: return #"{"type":"hello","token":42,"id":"r1"}"#
        case .emptyToken: return hello("")
        case .malformedToken: return hello("not-a-token")
        case .forgedToken: return hello(Fixture.forger.sign(.practitioner(id: Fixture.owner, expiresAt: t0.addingTimeInterval(60))))
        case .expiredPractitioner: return hello(Fixture.practitionerToken(expiresAt: t0))
        case .expiredInvite: return hello(Fixture.inviteToken(expiresAt: t0.addingTimeInterval(-1)))
        case .otherPractitionersSession: return hello(Fixture.practitionerToken(Fixture.otherOwner))
        case .inviteForAnotherSession: return hello(Fixture.inviteToken(Fixture.otherSessionID))
        case .inviteForAnUnknownSession: return hello(Fixture.inviteToken(Fixture.unknownSessionID))
        case .metricsToken: return hello(Fixture.metricsToken())
        case .practitionerUnknownSession: return hello(Fixture.practitionerToken())
        case .inviteUnknownSession: return hello(Fixture.inviteToken(Fixture.unknownSessionID))
        case .notAHello: return #"{"type":"signal","sdp":"x","id":"r1"}"#
        case .byeFirst: return #"{"type":"bye","id":"r1"}"#
        case .noType: return #"{"token":"\#(Fixture.practitionerToken())","id":"r1"}"#
        case .typeNotAString: return #"{"type":["hello"],"id":"r1"}"#
        case .notJSON: return "hello"
        case .emptyText: return ""
        case .truncatedJSON: return #"{"type":"hello","token":"#
        case .jsonArray: return #"[{"type":"hello","token":"x"}]"#
        case .jsonString: return #""hello""#
        }
    }

    /// Whether the message carries `"id":"r1"` to echo.
    var carriesID: Bool {
        switch self {
        case .notJSON, .emptyText, .truncatedJSON, .jsonArray, .jsonString: false
        default: true
        }
    }

    var code: String {
        switch self {
        case .noToken, .tokenNotAString, .emptyToken, .malformedToken, .forgedToken, .expiredPractitioner, .expiredInvite:
            "unauthorized"
        case .otherPractitionersSession, .inviteForAnotherSession, .inviteForAnUnknownSession, .metricsToken: "forbidden"
        case .practitionerUnknownSession, .inviteUnknownSession: "session_not_found"
        // docs/PROTOCOL.md: hello_required when "the first message is JSON but not a hello".
        case .notAHello, .byeFirst, .noType, .typeNotAString, .jsonArray, .jsonString: "hello_required"
        case .notJSON, .emptyText, .truncatedJSON: "invalid_json"
        }
    }

    var closeCode: UInt16 { code == "session_not_found" ? 4404 : 1008 }
}

struct RelayCoreRefusalTests {
    @Test(arguments: HelloRefusal.allCases)
    func firstMessageIsRefusedAndTheConnectionClosed(refusal: HelloRefusal) throws {
        let h = RelayHarness()
        h.join(9, as: .family)
        let actions = h.connect(1, session: refusal.pathSession, first: utf8(refusal.firstMessage))

        let sent = actions.messages(to: 1)
        #expect(sent.count == 1)
        let error = try #require(sent.first.flatMap { jsonObject($0.bytes) })
        #expect(error["type"] as? String == "error")
        #expect(error["code"] as? String == refusal.code)
        #expect(((error["message"] as? String) ?? "").count > 10, "the message says what to do")
        #expect((error["id"] as? String) == (refusal.carriesID ? "r1" : nil))
        #expect(actions.closeCodes(of: 1) == [refusal.closeCode])
        #expect(actions.sendsNothingAfterClose, "the error goes out before the close")
        #expect(actions.recipients == [1], "the session's family is not disturbed")
        let refusedCode = actions.events.first?.code?.rawValue
        #expect(refusedCode == refusal.code)
        #expect(actions.events.map(\.kind) == [.refused])

        #expect(h.core.receivedText(1, RelayHarness.hello(Fixture.practitionerToken())).isEmpty, "no second chance")
        #expect(h.core.receivedBinary(1, mediaBytes(stream: 2, flags: .keyframe)).isEmpty)
        #expect(h.core.closed(1).isEmpty)
        #expect(h.core.connectionCount == 1)
    }

    @Test func errorMessagesDoNotEchoTheToken() {
        let h = RelayHarness()
        let token = Fixture.forger.sign(.practitioner(id: Fixture.owner, expiresAt: Fixture.t0.addingTimeInterval(60)))
        let actions = h.connect(1, first: RelayHarness.hello(token))
        let text = text(of: actions.messages(to: 1).first)
        #expect(text.contains("unauthorized"))
        #expect(!text.contains(token.prefix(20)))
    }

    @Test func expiryIsJudgedByTheInjectedClock() {
        let h = RelayHarness()
        let token = Fixture.practitionerToken(expiresAt: Fixture.t0.addingTimeInterval(60))
        h.clock.now = Fixture.t0.addingTimeInterval(61)
        let late = h.connect(1, first: RelayHarness.hello(token))
        #expect(late.controls(to: 1).first?["code"] as? String == "unauthorized")
        h.clock.now = Fixture.t0.addingTimeInterval(59)
        let inTime = h.connect(2, first: RelayHarness.hello(token))
        #expect(inTime.controls(to: 2).first?["type"] as? String == "welcome")
    }

    @Test(arguments: [[UInt8](), [1], mediaBytes(stream: 1, flags: .keyframe, payload: [1, 2, 3])])
    func binaryBeforeHelloClosesWith1008WithoutAMessage(bytes: [UInt8]) {
        let h = RelayHarness()
        h.join(9, as: .practitioner)
        _ = h.core.opened(1, path: RelayHarness.path())
        let actions = h.core.receivedBinary(1, bytes)
        #expect(actions.closeCodes(of: 1) == [1008])
        #expect(actions.recipients.isEmpty)
        #expect(h.core.receivedText(1, RelayHarness.hello(Fixture.inviteToken())).isEmpty)
    }

    /// `--max-connections-per-address`: the WebSocket is told why and closed; a hello after that is ignored.
    @Test func aWebSocketPastTheConnectionLimitIsToldWhyAndClosed() {
        let h = RelayHarness()
        let actions = h.core.openedPastConnectionLimit(1, quota: ConnectionQuota(limit: 4))
        #expect(actions.controls(to: 1).map { $0["code"] as? String } == ["too_many_connections"])
        #expect(actions.closeCodes(of: 1) == [1013])
        #expect(h.core.receivedText(1, RelayHarness.hello(Fixture.practitionerToken())).isEmpty)
        #expect(h.core.closed(1).isEmpty)
    }

    @Test func eventsNeverCarryTheToken() {
        let h = RelayHarness()
        let actions = h.connect(1, first: RelayHarness.hello(Fixture.practitionerToken(Fixture.otherOwner)))
        #expect(actions.events == [SessionEvent(.refused, sessionID: Fixture.sessionID, role: nil, connection: 1, code: .forbidden)])
    }
}
