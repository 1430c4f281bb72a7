import Foundation
import Testing
import VigRelayCore

/// Copies of clips for the family (HTTPAPI+FamilyCopies.swift, RelayCore+FamilyCopies.swift): who
/// may give, list and fetch them, on a relay that allows them and on one that does not, and what the
/// pages are told.
struct FamilyCopiesTests {
    let sid = Fixture.sessionID
    let cid = "8899aabbccddeeff"
    var allowing: RelayLimits {
        var limits = RelayLimits()
        limits.familyCopies = true
        return limits
    }

    func handle(_ method: String, _ path: String, token: String?, body: String = "", limits: RelayLimits? = nil,
                harness: RelayHarness? = nil) -> HTTPOutcome {
        let limits = limits ?? allowing
        let api = HTTPAPI(authority: Fixture.authority, limits: limits, publicURL: "https://relay.example:8443")
        let request = HTTPRequest(method: method, path: path, authorization: token.map { "Bearer \($0)" }, body: utf8(body), query: [], range: nil)
        return api.handle(request, core: (harness ?? RelayHarness(limits: limits)).core, now: Fixture.t0)
    }

    /// "status code" of a `.respond` outcome, e.g. "404 clip_not_found"; nil for any other.
    func refusal(_ outcome: HTTPOutcome) -> String? {
        guard case .respond(let r) = outcome, let body = jsonObject(r.body) else { return nil }
        return "\(r.status) \(body["code"] as? String ?? "")"
    }

    var list: String { "/v1/sessions/\(sid)/family-copies" }
    var one: String { "/v1/sessions/\(sid)/family-copies/\(cid)" }

    @Test func thePractitionerGivesAndTakesBack() {
        let owner = Fixture.practitionerToken()
        #expect(handle("PUT", one, token: owner) == .giveFamilyCopy(sessionID: sid, clipSessionID: sid, clipID: cid, given: true))
        #expect(handle("PUT", one, token: owner, body: "{\"sessionId\":\"\(sid)\"}") == .giveFamilyCopy(sessionID: sid, clipSessionID: sid, clipID: cid, given: true))
        #expect(handle("DELETE", one, token: owner) == .giveFamilyCopy(sessionID: sid, clipSessionID: sid, clipID: cid, given: false))
        // The family's side is the family's: the practitioner has the clip at /clips/{clipId}.
        #expect(refusal(handle("GET", one, token: owner)) == "403 forbidden")
        #expect(refusal(handle("GET", list, token: owner)) == "403 forbidden")
        #expect(refusal(handle("PUT", one, token: Fixture.practitionerToken(Fixture.otherOwner))) == "404 session_not_found")
        #expect(refusal(handle("PUT", "/v1/sessions/\(sid)/family-copies/8899AABBCCDDEEFF", token: owner)) == "404 clip_not_found")
        #expect(refusal(handle("PUT", list, token: owner)) == "405 method_not_allowed")
        #expect(refusal(handle("PUT", one + "/x", token: owner)) == "404 not_found")
        #expect(refusal(handle("PUT", one, token: nil)) == "401 unauthorized")
        #expect(refusal(handle("PUT", one, token: Fixture.metricsToken()))?.hasPrefix("403") == true)
    }

    /// A shared review gives the filming's clip: another session of the same practitioner and case
    /// reference, named in the body. Any other session is answered as a clip that is not there.
    @Test func aClipOfAnotherSessionOfTheCaseIsGivenToThisSessionsFamily() throws {
        let h = RelayHarness(limits: allowing)
        let filming = "1111111111111111aaaaaaaaaaaaaaaa", stranger = "2222222222222222bbbbbbbbbbbbbbbb"
        var review = try #require(h.core.sessions[sid])
        review.caseRef = "fam-042"
        h.core.addSession(review)
        h.core.addSession(SessionRecord(id: filming, owner: Fixture.owner, createdAt: Fixture.t0, inviteExpiresAt: Fixture.t0, caseRef: "fam-042"))
        h.core.addSession(SessionRecord(id: stranger, owner: Fixture.owner, createdAt: Fixture.t0, inviteExpiresAt: Fixture.t0, caseRef: "fam-043"))
        let owner = Fixture.practitionerToken()
        func give(_ body: String) -> HTTPOutcome { handle("PUT", one, token: owner, body: body, harness: h) }
        #expect(give("{\"sessionId\":\"\(filming)\"}") == .giveFamilyCopy(sessionID: sid, clipSessionID: filming, clipID: cid, given: true))
        #expect(refusal(give("{\"sessionId\":\"\(stranger)\"}")) == "404 clip_not_found", "another case")
        #expect(refusal(give("{\"sessionId\":\"\(Fixture.otherSessionID)\"}")) == "404 clip_not_found", "another practitioner's")
        #expect(refusal(give("{\"sessionId\":\"\(Fixture.unknownSessionID)\"}")) == "404 clip_not_found")
        for bad in ["[]", "{\"sessionId\":1}", "{\"sessionId\":\"../x\"}", "{\"session\":\"\(filming)\"}", "nope"] {
            #expect(refusal(give(bad))?.hasPrefix("400") == true, "\(bad)")
        }
        // Without a case reference on this session, no other session is of its case.
        review.caseRef = nil
        h.core.addSession(review)
        #expect(refusal(give("{\"sessionId\":\"\(filming)\"}")) == "404 clip_not_found")
    }

    @Test func theSupervisorGivesNothing() throws {
        let h = RelayHarness(limits: allowing)
        var record = try #require(h.core.sessions[sid])
        record.supervisor = "sup-1"
        _ = h.core.sessionRecordSaved(record)
        let supervisor = Fixture.practitionerToken("sup-1")
        #expect(refusal(handle("PUT", one, token: supervisor, harness: h)) == "403 forbidden")
        #expect(refusal(handle("GET", list, token: supervisor, harness: h)) == "403 forbidden")
    }

    @Test func theFamilyListsAndFetchesWithItsNewestLinkOnly() throws {
        let invite = Fixture.inviteToken()
        #expect(handle("GET", list, token: invite) == .familyCopyList(sessionID: sid))
        #expect(handle("HEAD", list, token: invite) == .familyCopyList(sessionID: sid))
        let issued = Fixture.t0.addingTimeInterval(-60)
        let dated = Fixture.authority.sign(.invite(sessionID: sid, expiresAt: Fixture.t0.addingTimeInterval(3600)), issuedAt: issued)
        let grant = DownloadGrant.family(inviteIssuedAtMs: TokenAuthority.milliseconds(issued))
        #expect(grant.toFamily && !grant.asSupervisor && grant.practitionerID == nil)
        #expect(handle("GET", one, token: dated) == .media(MediaRequest(sessionID: sid, resource: .familyCopy(clipID: cid)), grant: grant))
        #expect(refusal(handle("PUT", one, token: invite)) == "403 forbidden")
        #expect(refusal(handle("DELETE", one, token: invite)) == "403 forbidden")
        #expect(refusal(handle("GET", one, token: Fixture.inviteToken(Fixture.otherSessionID))) == "404 session_not_found")
        let expired = Fixture.inviteToken(expiresAt: Fixture.t0.addingTimeInterval(-1))
        #expect(refusal(handle("GET", list, token: expired)) == "401 unauthorized")

        // A newer link replaces this one: it fetches nothing more.
        let h = RelayHarness(limits: allowing)
        var record = try #require(h.core.sessions[sid])
        SessionRecordChange.newInvite(issuedAtMs: TokenAuthority.milliseconds(Fixture.t0), expiresAt: Fixture.t0.addingTimeInterval(3600)).apply(to: &record)
        _ = h.core.inviteReplaced(record)
        #expect(refusal(handle("GET", one, token: dated, harness: h)) == "401 invite_replaced")
        #expect(refusal(handle("GET", list, token: dated, harness: h)) == "401 invite_replaced")
    }

    @Test func aRelayThatDoesNotAllowCopiesRefusesThemButLetsThemBeTakenBack() {
        let off = RelayLimits()
        #expect(!off.familyCopies, "off unless the operator turns it on")
        #expect(refusal(handle("PUT", one, token: Fixture.practitionerToken(), limits: off)) == "403 family_copies_off")
        #expect(refusal(handle("GET", list, token: Fixture.inviteToken(), limits: off)) == "403 family_copies_off")
        #expect(refusal(handle("GET", one, token: Fixture.inviteToken(), limits: off)) == "403 family_copies_off")
        #expect(handle("DELETE", one, token: Fixture.practitionerToken(), limits: off) == .giveFamilyCopy(sessionID: sid, clipSessionID: sid, clipID: cid, given: false))
    }

    @Test func theFamilysLinkCheckSaysWhetherTheRelayGivesCopies() {
        for on in [true, false] {
            var limits = RelayLimits()
            limits.familyCopies = on
            guard case .respond(let r) = handle("GET", "/v1/sessions/\(sid)/invite", token: Fixture.inviteToken(), limits: limits) else {
                Issue.record("the link check answers at once")
                continue
            }
            #expect(r.status == 200 && jsonObject(r.body)?["familyCopies"] as? Bool == on)
        }
    }

    @Test func bothPagesLearnFromTheWelcomeAndTheFamilyHearsOfChanges() {
        let h = RelayHarness(limits: allowing)
        #expect(h.join(1, as: .practitioner).controls(to: 1).first?["familyCopies"] as? Bool == true)
        #expect(h.core.familyCopiesChanged(sessionID: sid).isEmpty, "no family in the call: nothing to tell")
        #expect(h.join(2, as: .family).controls(to: 2).first?["familyCopies"] as? Bool == true)
        let told = h.core.familyCopiesChanged(sessionID: sid)
        #expect(told.controls(to: 2).map { $0["type"] as? String } == ["family_copies"])
        #expect(told.controls(to: 1).isEmpty)
        #expect(h.core.familyCopyFetched(sessionID: sid, clipID: cid).controls(to: 1).map { $0["clipId"] as? String } == [cid],
                "the practitioner hears the family fetched a copy")
        #expect(h.core.familyCopyFetched(sessionID: sid, clipID: cid).controls(to: 2).isEmpty)
        let plain = RelayHarness()
        #expect(plain.join(1, as: .practitioner).controls(to: 1).first?["familyCopies"] == nil)
    }
}
