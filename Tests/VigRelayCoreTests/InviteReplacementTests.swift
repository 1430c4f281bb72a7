import Foundation
import Testing
import VigRelayCore

/// A new family link (`POST /v1/sessions/{id}/invite`): what the API decides, and what the core does
/// once the link is saved (`RelayCore.inviteReplaced`): older invites no longer join, and a family
/// connected with one is closed.
struct InviteReplacementTests {
    let sid = Fixture.sessionID
    let api = HTTPAPI(authority: Fixture.authority, limits: RelayLimits(), publicURL: "https://relay.example:8443")
    var t0Ms: Int64 { TokenAuthority.milliseconds(Fixture.t0) }

    /// Asks for a new link as the session's practitioner at `now`; returns the record to save and the answer.
    func newLink(_ h: RelayHarness, now: Date = Fixture.t0, sourceLocation: SourceLocation = #_sourceLocation) throws -> (SessionRecord, [String: Any]) {
        let request = HTTPRequest(method: "POST", path: "/v1/sessions/\(sid)/invite", authorization: "Bearer \(Fixture.practitionerToken())")
        guard case .replaceInvite(let sessionID, let issuedAtMs, let expiresAt, let response) = api.handle(request, core: h.core, now: now) else {
            Issue.record("expected a new invite to save", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        // What the writer saves: the change applied to the record as stored (here the core's, as nothing else is pending).
        var record = try #require(h.core.sessions[sessionID], sourceLocation: sourceLocation)
        SessionRecordChange.newInvite(issuedAtMs: issuedAtMs, expiresAt: expiresAt).apply(to: &record)
        #expect(response.status == 200, sourceLocation: sourceLocation)
        return (record, try #require(jsonObject(response.body), sourceLocation: sourceLocation))
    }

    @Test func theNewLinkIsSignedForTheSessionFromNowAndNothingChangesUntilItIsSaved() throws {
        let h = RelayHarness()
        let before = try #require(h.core.sessions[sid])
        let (record, body) = try newLink(h, now: Fixture.t0.addingTimeInterval(0.25))
        #expect(record.invitesReplacedBeforeMs == t0Ms + 250)
        #expect(record.inviteExpiresAt == Fixture.t0.addingTimeInterval(TimeInterval(RelayLimits().inviteTTLSeconds)))
        #expect(record.owner == before.owner && record.createdAt == before.createdAt)
        let invite = try #require(body["inviteToken"] as? String)
        let verified = try Fixture.authority.verify(invite, now: Fixture.t0, revocations: TokenRevocations())
        #expect(verified.claims == .invite(sessionID: sid, expiresAt: record.inviteExpiresAt))
        #expect(verified.issuedAtMs == t0Ms + 250, "the link's issue time is the record's cut-off, to the ms")
        #expect(body["sessionId"] as? String == sid)
        #expect(body["joinUrl"] as? String == "https://relay.example:8443/join#session=\(sid)&invite=\(invite)")
        #expect(body["expiresAt"] as? String == ISO8601DateFormatter().string(from: record.inviteExpiresAt))
        #expect(h.core.sessions[sid] == before, "the core changes only once the record is saved")
    }

    @Test func aSecondLinkInTheSameMillisecondIsStillLater() throws {
        let h = RelayHarness()
        let (first, _) = try newLink(h)
        _ = h.core.inviteReplaced(first)
        let (second, body) = try newLink(h)
        #expect(second.invitesReplacedBeforeMs == t0Ms + 1)
        _ = h.core.inviteReplaced(second)
        let invite = try #require(body["inviteToken"] as? String)
        #expect(h.connect(1, first: RelayHarness.hello(invite)).controls(to: 1).first?["type"] as? String == "welcome")
    }

    @Test func twoLinksAskedForInTheSameMillisecondBeforeEitherIsSavedAreToldApart() throws {
        let h = RelayHarness()
        let (first, firstBody) = try newLink(h)
        let (second, secondBody) = try newLink(h)
        #expect(first.invitesReplacedBeforeMs == t0Ms && second.invitesReplacedBeforeMs == t0Ms + 1)
        _ = h.core.inviteReplaced(first)
        _ = h.core.inviteReplaced(second)
        let older = try #require(firstBody["inviteToken"] as? String), newer = try #require(secondBody["inviteToken"] as? String)
        #expect(h.connect(1, first: RelayHarness.hello(older)).controls(to: 1).first?["code"] as? String == "invite_replaced",
                "only the newer of the two joins")
        #expect(h.connect(2, first: RelayHarness.hello(newer)).controls(to: 2).first?["type"] as? String == "welcome")
    }

    @Test func aLinkWhoseSaveFailedStillKeepsItsMillisecondTaken() throws {
        let h = RelayHarness()
        _ = try newLink(h)  // never saved: the core is not told
        let (next, _) = try newLink(h)
        #expect(next.invitesReplacedBeforeMs == t0Ms + 1)
        #expect(try newLink(h, now: Fixture.t0.addingTimeInterval(1)).0.invitesReplacedBeforeMs == t0Ms + 1000, "a later ms is used as it is")
    }

    @Test func theFamilyOnTheOldLinkIsClosedAndThePractitionerTold() throws {
        let h = RelayHarness()
        h.join(1, as: .practitioner)
        h.join(2, as: .family)
        _ = h.connect(3, session: Fixture.otherSessionID, first: RelayHarness.hello(Fixture.inviteToken(Fixture.otherSessionID)))
        let (record, _) = try newLink(h)
        let actions = h.core.inviteReplaced(record)
        let refusal = try #require(actions.controls(to: 2).first)
        #expect(refusal["type"] as? String == "error" && refusal["code"] as? String == "invite_replaced")
        #expect((refusal["message"] as? String ?? "").contains("newest link"))
        #expect(actions.closedConnections == [2])
        #expect(actions.contains { if case .close(2, RelayCloseCode.policyViolation, "invite_replaced") = $0 { true } else { false } })
        #expect(actions.messages(to: 1) == [.text(utf8(#"{"event":"left","role":"family","type":"peer"}"#))])
        #expect(actions.messages(to: 3).isEmpty, "another session's family stays")
        #expect(actions.events == [SessionEvent(.left, sessionID: sid, role: .family, connection: 2)])
        #expect(actions.sendsNothingAfterClose)
        #expect(h.core.sessions[sid] == record)
    }

    @Test func afterwardsOnlyTheNewLinkJoins() throws {
        let h = RelayHarness()
        let (record, body) = try newLink(h)
        _ = h.core.inviteReplaced(record)
        let old = h.connect(1, first: RelayHarness.hello(Fixture.inviteToken(), id: "h1"))
        let refusal = try #require(old.controls(to: 1).first)
        #expect(refusal["code"] as? String == "invite_replaced" && refusal["id"] as? String == "h1")
        #expect(old.closeCodes(of: 1) == [RelayCloseCode.policyViolation])
        let withoutIssueTime = signedWithTheRelaysSecret(#"{"v":1,"exp":1800003600,"kind":"invite","sid":"\#(sid)"}"#)
        #expect(h.connect(2, first: RelayHarness.hello(withoutIssueTime)).controls(to: 2).first?["code"] as? String == "invite_replaced",
                "an invite from before issue times is older than any new link")
        let new = try #require(body["inviteToken"] as? String)
        #expect(h.connect(3, first: RelayHarness.hello(new)).controls(to: 3).first?["type"] as? String == "welcome")
        #expect(h.core.inviteReplaced(record).isEmpty, "the family on the newest link stays")
    }

    @Test func beforeAnyNewLinkEveryInviteOfTheSessionJoins() {
        let withoutIssueTime = signedWithTheRelaysSecret(#"{"v":1,"exp":1800003600,"kind":"invite","sid":"\#(sid)"}"#)
        let h = RelayHarness()
        #expect(h.connect(1, first: RelayHarness.hello(withoutIssueTime)).controls(to: 1).first?["type"] as? String == "welcome")
    }

    // MARK: the family's page checks its link (GET .../invite) before it asks for the camera

    /// The answer to `GET /v1/sessions/{id}/invite` with `token`, as status, code (nil on 200) and body.
    func check(_ h: RelayHarness, token: String?, session: String? = nil, method: String = "GET", now: Date = Fixture.t0) -> (status: Int, code: String?, body: [String: Any]) {
        let request = HTTPRequest(method: method, path: "/v1/sessions/\(session ?? sid)/invite", authorization: token.map { "Bearer \($0)" })
        guard case .respond(let response) = api.handle(request, core: h.core, now: now), let body = jsonObject(response.body) else {
            Issue.record("expected an answer at once")
            return (0, nil, [:])
        }
        return (response.status, body["code"] as? String, body)
    }

    @Test func aLinkThatWouldJoinIsAnsweredWithItsExpiry() {
        let h = RelayHarness()
        let expiresAt = Fixture.t0.addingTimeInterval(3600)
        let answer = check(h, token: Fixture.inviteToken(expiresAt: expiresAt))
        #expect(answer.status == 200)
        #expect(answer.body["sessionId"] as? String == sid)
        #expect(answer.body["expiresAt"] as? String == ISO8601DateFormatter().string(from: expiresAt))
        #expect(check(h, token: Fixture.inviteToken(expiresAt: expiresAt), method: "HEAD").status == 200, "HEAD as GET (the body is left out when sent)")
    }

    @Test func aReplacedLinkIsToldSoAndTheNewOneIsGood() throws {
        let h = RelayHarness()
        let (record, body) = try newLink(h)
        #expect(check(h, token: Fixture.inviteToken()).status == 200, "nothing changes until the new link is saved")
        _ = h.core.inviteReplaced(record)
        let old = check(h, token: Fixture.inviteToken())
        #expect(old.status == 401 && old.code == "invite_replaced")
        #expect((old.body["message"] as? String ?? "").contains("newest link"))
        #expect(check(h, token: try #require(body["inviteToken"] as? String)).status == 200)
    }

    @Test func whatHelloRefusesIsRefusedHereToo() {
        let h = RelayHarness()
        let expired = check(h, token: Fixture.inviteToken(expiresAt: Fixture.t0.addingTimeInterval(-1)))
        #expect(expired.status == 401 && expired.code == "unauthorized")
        #expect((expired.body["message"] as? String ?? "").contains("expired"))
        #expect(check(h, token: Fixture.inviteToken() + "x").code == "unauthorized")
        let missing = check(h, token: nil)
        #expect(missing.status == 401 && (missing.body["message"] as? String ?? "").contains("invite"))
        let otherSession = check(h, token: Fixture.inviteToken(Fixture.otherSessionID))
        #expect(otherSession.status == 404 && otherSession.code == "session_not_found")
        let unknown = check(h, token: Fixture.inviteToken(Fixture.unknownSessionID), session: Fixture.unknownSessionID)
        #expect(unknown.status == 404 && unknown.code == "session_not_found")
        for token in [Fixture.practitionerToken(), Fixture.metricsToken()] {
            let refused = check(h, token: token)
            #expect(refused.status == 403 && refused.code == "forbidden")
        }
    }

    /// Withdrawing only deletes, and a family may have kept only the first message: any invite of
    /// the session withdraws, like an expired one.
    @Test func aReplacedInviteCanStillWithdrawConsent() throws {
        let h = RelayHarness()
        let (record, _) = try newLink(h)
        _ = h.core.inviteReplaced(record)
        let withdrawal = HTTPRequest(method: "POST", path: "/v1/sessions/\(sid)/withdrawal", authorization: "Bearer \(Fixture.inviteToken())")
        #expect(api.handle(withdrawal, core: h.core, now: Fixture.t0) == .withdraw(sessionID: sid))
    }
}
