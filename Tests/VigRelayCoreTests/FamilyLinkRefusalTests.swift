import Foundation
import Testing
import VigRelayCore

/// A family turned away on a link that expired or was replaced: its own page says so, and the
/// practitioner waiting in the session is told (`family_link_refused`) when the family's page checks
/// its link (`GET .../invite?from=family`), if its hello asked for these notices. A refused `hello`,
/// or a practitioner that did not ask, adds nothing to the practitioner's stream.
struct FamilyLinkRefusalTests {
    let sid = Fixture.sessionID
    let api = HTTPAPI(authority: Fixture.authority, limits: RelayLimits(), publicURL: "https://relay.example:8443")
    /// The notice for `reason`, `secondsAgo` after the refusal.
    func notice(_ reason: String, secondsAgo: Int = 0) -> [UInt8] {
        utf8(#"{"reason":"\#(reason)","secondsAgo":\#(secondsAgo),"type":"family_link_refused"}"#)
    }
    var expiredInvite: String { Fixture.inviteToken(expiresAt: Fixture.t0.addingTimeInterval(-1)) }

    /// The practitioner joins on `conn`, asking for `notices` in its hello.
    @discardableResult
    func joinAsPractitioner(_ h: RelayHarness, _ conn: ConnectionID, notices: Any = ["family_link_refused"],
                            sourceLocation: SourceLocation = #_sourceLocation) -> [RelayAction] {
        let token = Fixture.practitionerToken(expiresAt: Fixture.t0.addingTimeInterval(7200))
        let hello = ControlEncoder.encode(["type": "hello", "token": token, "notices": notices])
        let actions = h.connect(conn, first: hello)
        #expect(actions.controls(to: conn).first?["type"] as? String == "welcome", sourceLocation: sourceLocation)
        return actions
    }

    /// The `family_link_refused` notices among `actions` sent to `conn`.
    func notices(_ actions: [RelayAction], to conn: ConnectionID) -> [OutboundMessage] {
        actions.messages(to: conn).filter { jsonObject($0.bytes)?["type"] as? String == "family_link_refused" }
    }

    /// A harness whose session has had a new link made (so `Fixture.inviteToken()` is replaced),
    /// with the practitioner joined on connection 1, asking for the notices.
    func replacedLinkWithPractitioner() -> RelayHarness {
        let h = RelayHarness()
        var record = h.core.sessions[sid]!
        record.invitesReplacedBeforeMs = h.core.newInviteIssueTime(sessionID: sid, now: Fixture.t0.addingTimeInterval(1))
        _ = h.core.inviteReplaced(record)
        joinAsPractitioner(h, 1)
        return h
    }

    /// `GET /v1/sessions/{session}/invite` with `token` and `query`, at the harness's time.
    func check(_ h: RelayHarness, token: String, query: [String] = ["from=family"], session: String? = nil) -> HTTPOutcome {
        api.handle(HTTPRequest(method: "GET", path: "/v1/sessions/\(session ?? sid)/invite", authorization: "Bearer \(token)", query: query),
                   core: h.core, now: h.clock.now)
    }

    /// The response and the actions of an outcome that tells someone; nil (and an issue) otherwise.
    func told(_ outcome: HTTPOutcome, sourceLocation: SourceLocation = #_sourceLocation) -> (HTTPResponse, [RelayAction])? {
        guard case .respondAndPerform(let response, let actions) = outcome else {
            Issue.record("expected the practitioner to be told: \(outcome)", sourceLocation: sourceLocation)
            return nil
        }
        return (response, actions)
    }

    /// The response of an outcome that tells nobody; nil (and an issue) otherwise.
    func answered(_ outcome: HTTPOutcome, sourceLocation: SourceLocation = #_sourceLocation) -> HTTPResponse? {
        guard case .respond(let response) = outcome else {
            Issue.record("expected only an answer: \(outcome)", sourceLocation: sourceLocation)
            return nil
        }
        return response
    }

    @Test func theFamilysPageOnAReplacedLinkTellsThePractitionerWithTheSameAnswer() throws {
        let h = replacedLinkWithPractitioner()
        let (response, actions) = try #require(told(check(h, token: Fixture.inviteToken())))
        #expect(response.status == 401 && jsonObject(response.body)?["code"] as? String == "invite_replaced")
        #expect(actions == [.send(1, .text(notice("replaced")))])
    }

    @Test func theFamilysPageOnAnExpiredLinkTellsThePractitionerWithTheSameAnswer() throws {
        let h = RelayHarness()
        joinAsPractitioner(h, 1)
        let (response, actions) = try #require(told(check(h, token: expiredInvite)))
        #expect(response.status == 401 && jsonObject(response.body)?["code"] as? String == "unauthorized")
        let message = jsonObject(response.body)?["message"] as? String ?? ""
        #expect(message.contains("expired"))
        #expect(actions == [.send(1, .text(notice("expired")))])
    }

    @Test func thePractitionersOwnCheckAGoodLinkAndAnotherSessionsLinkTellNobody() throws {
        let h = replacedLinkWithPractitioner()
        #expect(try #require(answered(check(h, token: Fixture.inviteToken(), query: []))).status == 401,
                "the practitioner's page checking the link it kept")
        let newest = Fixture.authority.sign(.invite(sessionID: sid, expiresAt: Fixture.t0.addingTimeInterval(3600)),
                                            issuedAtMs: TokenAuthority.milliseconds(Fixture.t0.addingTimeInterval(2)))
        #expect(try #require(answered(check(h, token: newest))).status == 200)
        let expiredElsewhere = Fixture.inviteToken(Fixture.otherSessionID, expiresAt: Fixture.t0.addingTimeInterval(-1))
        #expect(try #require(answered(check(h, token: expiredElsewhere))).status == 401,
                "an invite for another session, checked at this one's address, is nobody's family at the door")
        _ = h.connect(3, session: Fixture.otherSessionID, first: RelayHarness.hello(Fixture.practitionerToken(Fixture.otherOwner)))
        #expect(try #require(answered(check(h, token: expiredElsewhere, query: [], session: Fixture.otherSessionID))).status == 401)
    }

    @Test func aRefusalIsKeptAnHourForAPractitionerWhoJoinsLater() throws {
        let h = RelayHarness()
        #expect(try #require(answered(check(h, token: expiredInvite))).status == 401, "nobody there to tell")
        h.clock.now = Fixture.t0.addingTimeInterval(300)
        h.join(1, as: .practitioner)
        #expect(h.core.connection(of: sid, role: .practitioner) == 1, "a practitioner that did not ask is not told, also on joining")
        let joined = joinAsPractitioner(h, 2)
        #expect(notices(joined, to: 2) == [.text(notice("expired", secondsAgo: 300))], "told right after its welcome, with when")
        #expect(joined.controls(to: 2).map { $0["type"] as? String } == ["welcome", "family_link_refused"])
        h.clock.now = Fixture.t0.addingTimeInterval(3599)
        #expect(notices(joinAsPractitioner(h, 3), to: 3).count == 1)
        h.clock.now = Fixture.t0.addingTimeInterval(3600)
        #expect(notices(joinAsPractitioner(h, 4), to: 4).isEmpty, "an hour on, the attempt is long past")
    }

    @Test func theFamilyJoiningOrANewLinkEndsWhatWasKept() throws {
        let h = RelayHarness()
        _ = check(h, token: expiredInvite)
        h.join(1, as: .family)
        #expect(notices(joinAsPractitioner(h, 2), to: 2).isEmpty, "the family found a good link")
        _ = h.core.closed(2)
        _ = check(h, token: expiredInvite)
        var record = h.core.sessions[sid]!
        record.invitesReplacedBeforeMs = h.core.newInviteIssueTime(sessionID: sid, now: Fixture.t0)
        _ = h.core.inviteReplaced(record)
        #expect(notices(joinAsPractitioner(h, 3), to: 3).isEmpty, "the practitioner made the new link to send")
    }

    @Test func theSessionListShowsTheRefusalUntilTheFamilyJoinsOrForAnHour() {
        let h = RelayHarness()
        #expect(h.core.liveState(of: sid).familyLinkRefusal == nil)
        _ = check(h, token: expiredInvite)
        h.clock.now = Fixture.t0.addingTimeInterval(10)
        let live = h.core.liveState(of: sid)
        #expect(live.familyLinkRefusal == RefusedFamilyLink(reason: .expired, at: Fixture.t0), "with when, not how long ago")
        #expect(h.core.liveState(of: Fixture.otherSessionID).familyLinkRefusal == nil)
        h.join(1, as: .family)
        #expect(h.core.liveState(of: sid).familyLinkRefusal == nil, "the family found a good link")
        _ = h.core.closed(1)
        h.clock.now = Fixture.t0.addingTimeInterval(20)
        _ = check(h, token: expiredInvite)
        h.clock.now = Fixture.t0.addingTimeInterval(20 + 3599)
        #expect(h.core.liveState(of: sid).familyLinkRefusal?.reason == .expired)
        h.clock.now = Fixture.t0.addingTimeInterval(20 + 3600)
        #expect(h.core.liveState(of: sid).familyLinkRefusal == nil, "an hour on, the attempt is long past")
    }

    @Test func repeatedChecksAreToldOnceEveryFewSecondsAndToANewConnectionAtOnce() throws {
        let h = replacedLinkWithPractitioner()
        _ = try #require(told(check(h, token: Fixture.inviteToken())))
        h.clock.now = Fixture.t0.addingTimeInterval(4.9)
        #expect(try #require(answered(check(h, token: Fixture.inviteToken()))).status == 401, "a page reloaded at once")
        h.clock.now = Fixture.t0.addingTimeInterval(5)
        _ = try #require(told(check(h, token: Fixture.inviteToken())))
        h.clock.now = Fixture.t0.addingTimeInterval(6)
        // The practitioner's page reconnected: the new connection is told on joining, then not again at once.
        #expect(notices(joinAsPractitioner(h, 5), to: 5) == [.text(notice("replaced", secondsAgo: 1))])
        #expect(try #require(answered(check(h, token: Fixture.inviteToken()))).status == 401)
    }

    @Test func aRefusedHelloAddsNothingToThePractitionersStream() {
        let h = replacedLinkWithPractitioner()
        let replaced = h.connect(2, first: RelayHarness.hello(Fixture.inviteToken()))
        #expect(replaced.controls(to: 2).first?["code"] as? String == "invite_replaced")
        let expired = h.connect(3, first: RelayHarness.hello(expiredInvite))
        #expect(expired.controls(to: 3).first?["code"] as? String == "unauthorized")
        #expect(replaced.messages(to: 1).isEmpty && expired.messages(to: 1).isEmpty)
    }

    @Test func aPractitionerThatDidNotAskIsNeverTold() throws {
        let h = RelayHarness()
        h.join(1, as: .practitioner)
        #expect(try #require(answered(check(h, token: expiredInvite))).status == 401)
        #expect(notices(joinAsPractitioner(h, 2, notices: ["recording_progress", "something_newer"]), to: 2).isEmpty,
                "names this relay does not know are ignored, and ask for nothing")
        #expect(try #require(answered(check(h, token: expiredInvite))).status == 401)
        let family = h.connect(3, first: ControlEncoder.encode(["type": "hello", "token": expiredInvite, "notices": ["family_link_refused"]]))
        #expect(notices(family, to: 3).isEmpty && notices(family, to: 2).isEmpty)
        #expect(notices(joinAsPractitioner(h, 4), to: 4) == [.text(notice("expired"))], "asked: told")
    }

    @Test func noticesThatAreNotAListOfNamesAreRefusedAtHello() throws {
        for notices: Any in ["family_link_refused", [1, 2], ["type": "x"]] {
            let h = RelayHarness()
            let actions = h.connect(1, first: ControlEncoder.encode(["type": "hello", "token": Fixture.practitionerToken(), "notices": notices, "id": "h"]))
            let refusal = try #require(actions.controls(to: 1).first)
            #expect(refusal["code"] as? String == "invalid_message" && refusal["id"] as? String == "h", "\(notices)")
            #expect((refusal["message"] as? String)?.contains("array of notice names") == true)
            #expect(actions.closedConnections == [1])
        }
    }

    @Test func fromTakesOnlyFamily() throws {
        let h = RelayHarness()
        for query in [["from=practitioner"], ["from="], ["from=family", "from=family"]] {
            let response = try #require(answered(check(h, token: Fixture.inviteToken(), query: query)))
            #expect(response.status == 400 && jsonObject(response.body)?["code"] as? String == "invalid_request", "\(query)")
            #expect(String(decoding: response.body, as: UTF8.self).contains("from may only be family"))
        }
    }
}
