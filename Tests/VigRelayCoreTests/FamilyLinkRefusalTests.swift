import Foundation
import Testing
import VigRelayCore

/// A family turned away on a link that expired or was replaced: its own page says so, and the
/// practitioner waiting in the session is told (`family_link_refused`), at `hello` or when the
/// family's page checks its link (`GET .../invite?from=family`).
struct FamilyLinkRefusalTests {
    let sid = Fixture.sessionID
    let api = HTTPAPI(authority: Fixture.authority, limits: RelayLimits(), publicURL: "https://relay.example:8443")
    let notice: (String) -> [UInt8] = { utf8(#"{"reason":"\#($0)","type":"family_link_refused"}"#) }

    /// A harness whose session has had a new link made (so `Fixture.inviteToken()` is replaced),
    /// with the practitioner joined on connection 1.
    func replacedLinkWithPractitioner() -> RelayHarness {
        let h = RelayHarness()
        var record = h.core.sessions[sid]!
        record.invitesReplacedBeforeMs = h.core.newInviteIssueTime(sessionID: sid, now: Fixture.t0.addingTimeInterval(1))
        _ = h.core.inviteReplaced(record)
        h.join(1, as: .practitioner)
        return h
    }

    var expiredInvite: String { Fixture.inviteToken(expiresAt: Fixture.t0.addingTimeInterval(-1)) }

    @Test func aFamilyRefusedAtHelloOnAReplacedLinkIsToldAndSoIsThePractitioner() throws {
        let h = replacedLinkWithPractitioner()
        let actions = h.connect(2, first: RelayHarness.hello(Fixture.inviteToken()))
        #expect(actions.controls(to: 2).first?["code"] as? String == "invite_replaced")
        #expect(actions.closedConnections == [2])
        #expect(actions.messages(to: 1) == [.text(notice("replaced"))])
    }

    @Test func aFamilyOnAnExpiredLinkIsRefusedAsBeforeAndThePractitionerTold() throws {
        let h = RelayHarness()
        h.join(1, as: .practitioner)
        let actions = h.connect(2, first: RelayHarness.hello(expiredInvite, id: "h"))
        let refusal = try #require(actions.controls(to: 2).first)
        #expect(refusal["code"] as? String == "unauthorized" && refusal["id"] as? String == "h")
        #expect((refusal["message"] as? String ?? "").contains("expired"))
        #expect(actions.closedConnections == [2])
        #expect(actions.messages(to: 1) == [.text(notice("expired"))])
    }

    @Test func anotherSessionsLinkOrAnotherSessionsPractitionerIsNeverTold() {
        let h = RelayHarness()
        h.join(1, as: .practitioner)
        _ = h.connect(3, session: Fixture.otherSessionID, first: RelayHarness.hello(Fixture.practitionerToken(Fixture.otherOwner)))
        let expiredElsewhere = Fixture.inviteToken(Fixture.otherSessionID, expiresAt: Fixture.t0.addingTimeInterval(-1))
        let actions = h.connect(2, first: RelayHarness.hello(expiredElsewhere))
        #expect(actions.controls(to: 2).first?["code"] as? String == "unauthorized", "expired is said first, as before")
        #expect(actions.messages(to: 1).isEmpty && actions.messages(to: 3).isEmpty,
                "an invite for another session, tried on this one's address, is nobody's family at the door")
    }

    @Test func nobodyIsToldWithoutAPractitionerAndNothingIsKeptForLater() {
        let h = RelayHarness()
        #expect(h.connect(2, first: RelayHarness.hello(expiredInvite)).messages(to: 1).isEmpty)
        h.join(1, as: .practitioner)
        #expect(h.connect(3, first: RelayHarness.hello(expiredInvite)).messages(to: 1) == [.text(notice("expired"))],
                "the first refusal the practitioner is there for is told at once")
    }

    @Test func repeatedRefusalsAreToldOnceEveryFewSecondsAndToANewConnectionAtOnce() {
        let h = replacedLinkWithPractitioner()
        #expect(h.connect(2, first: RelayHarness.hello(Fixture.inviteToken())).messages(to: 1).count == 1)
        h.clock.now = Fixture.t0.addingTimeInterval(4.9)
        #expect(h.connect(3, first: RelayHarness.hello(Fixture.inviteToken())).messages(to: 1).isEmpty, "a page reloaded at once")
        h.clock.now = Fixture.t0.addingTimeInterval(5)
        #expect(h.connect(4, first: RelayHarness.hello(Fixture.inviteToken())).messages(to: 1).count == 1)
        h.join(5, as: .practitioner)  // the practitioner's page reconnected: a new connection
        #expect(h.connect(6, first: RelayHarness.hello(Fixture.inviteToken())).messages(to: 5) == [.text(notice("replaced"))])
    }

    @Test func aGoodLinkJoinsAndTellsNothingBeyondThePeerEvent() {
        let h = RelayHarness()
        h.join(1, as: .practitioner)
        let actions = h.connect(2, first: RelayHarness.hello(Fixture.inviteToken()))
        #expect(actions.controls(to: 1).map { $0["type"] as? String } == ["peer"])
    }

    // MARK: GET /v1/sessions/{id}/invite?from=family

    func check(_ h: RelayHarness, token: String, query: [String]) -> HTTPOutcome {
        api.handle(HTTPRequest(method: "GET", path: "/v1/sessions/\(sid)/invite", authorization: "Bearer \(token)", query: query),
                   core: h.core, now: h.clock.now)
    }

    @Test func theFamilysPageCheckingARefusedLinkTellsThePractitionerWithTheSameAnswer() throws {
        let h = replacedLinkWithPractitioner()
        guard case .respondAndPerform(let response, let actions) = check(h, token: Fixture.inviteToken(), query: ["from=family"]) else {
            Issue.record("expected the practitioner to be told")
            return
        }
        #expect(response.status == 401 && jsonObject(response.body)?["code"] as? String == "invite_replaced")
        #expect(actions == [.send(1, .text(notice("replaced")))])
        h.clock.now = Fixture.t0.addingTimeInterval(10)
        guard case .respondAndPerform(let expired, let told) = check(h, token: expiredInvite, query: ["from=family"]) else {
            Issue.record("expected the practitioner to be told of the expired link")
            return
        }
        #expect(expired.status == 401 && jsonObject(expired.body)?["code"] as? String == "unauthorized")
        #expect(told == [.send(1, .text(notice("expired")))])
    }

    @Test func thePractitionersOwnCheckAndAGoodLinkTellNobody() throws {
        let h = replacedLinkWithPractitioner()
        guard case .respond(let response) = check(h, token: Fixture.inviteToken(), query: []) else {
            Issue.record("the practitioner's page checking its kept link must not notify")
            return
        }
        #expect(response.status == 401)
        let newest = Fixture.authority.sign(.invite(sessionID: sid, expiresAt: Fixture.t0.addingTimeInterval(3600)),
                                            issuedAtMs: TokenAuthority.milliseconds(Fixture.t0.addingTimeInterval(2)))
        guard case .respond(let good) = check(h, token: newest, query: ["from=family"]) else {
            Issue.record("a link that joins tells nobody")
            return
        }
        #expect(good.status == 200)
    }

    @Test func fromTakesOnlyFamily() {
        let h = RelayHarness()
        for query in [["from=practitioner"], ["from="], ["from=family", "from=family"]] {
            guard case .respond(let response) = check(h, token: Fixture.inviteToken(), query: query) else {
                Issue.record("expected an answer at once for \(query)")
                continue
            }
            #expect(response.status == 400 && jsonObject(response.body)?["code"] as? String == "invalid_request", "\(query)")
            #expect(String(decoding: response.body, as: UTF8.self).contains("from may only be family"))
        }
    }
}
