import Foundation
import Testing
import VigRelayCore

/// `PATCH /v1/sessions/{id}`: the practitioner puts a session's labels right. What the body may say,
/// what the API decides, and what the change does to a record.
struct SessionLabelChangeTests {
    let sid = Fixture.sessionID
    let api = HTTPAPI(authority: Fixture.authority, limits: RelayLimits(), publicURL: "https://relay.example:8443")

    func parse(_ text: String) -> Result<SessionLabelChange, SessionCreateRequest.InvalidField> {
        SessionLabelChange.parse(utf8(text))
    }

    func patch(_ body: String, token: String = Fixture.practitionerToken(), session: String = Fixture.sessionID) -> HTTPOutcome {
        let request = HTTPRequest(method: "PATCH", path: "/v1/sessions/\(session)", authorization: "Bearer \(token)", body: utf8(body))
        return api.handle(request, core: RelayHarness().core, now: Fixture.t0)
    }

    /// The response of a `.respond` outcome: status, code and message.
    func refusal(_ outcome: HTTPOutcome, sourceLocation: SourceLocation = #_sourceLocation) -> (Int, String, String)? {
        guard case .respond(let r) = outcome, let body = jsonObject(r.body) else {
            Issue.record("expected an error response, got \(outcome)", sourceLocation: sourceLocation)
            return nil
        }
        return (r.status, body["code"] as? String ?? "", body["message"] as? String ?? "")
    }

    @Test func aLabelGivenIsSetNullRemovesItAndOneLeftOutIsKept() throws {
        let change = try parse(#"{"caseRef":"fam-043","cycle":null}"#).get()
        #expect(change == SessionLabelChange(caseRef: .some("fam-043"), cycle: .some(nil)))
        var record = SessionRecord(id: sid, owner: "pr-1", createdAt: Fixture.t0, inviteExpiresAt: Fixture.t0,
                                   caseRef: "fam-42", cycle: 2, purpose: .review, invitesReplacedBeforeMs: 7)
        change.apply(to: &record)
        #expect(record == SessionRecord(id: sid, owner: "pr-1", createdAt: Fixture.t0, inviteExpiresAt: Fixture.t0,
                                        caseRef: "fam-043", cycle: nil, purpose: .review, invitesReplacedBeforeMs: 7))
        SessionRecordChange.labels(try parse(#"{"purpose":"filming","cycle":3}"#).get()).apply(to: &record)
        #expect(record.caseRef == "fam-043" && record.cycle == 3 && record.purpose == .filming)
        #expect(SessionRecordChange.labels(SessionLabelChange()).event == "labels_changed")
        SessionRecordChange.labels(try parse(#"{"purpose":null}"#).get()).apply(to: &record)
        let fields = SessionRecordChange.labels(SessionLabelChange()).eventFields(record)
        #expect(fields.count == 2 && fields["caseRef"] as? String == "fam-043" && fields["cycle"] as? Int == 3 && fields["purpose"] == nil,
                "the labels the session has now, one it has not left out")
    }

    /// A new link changes only the link's fields; the labels stay.
    @Test func aNewLinkKeepsTheLabels() {
        var record = SessionRecord(id: sid, owner: "pr-1", createdAt: Fixture.t0, inviteExpiresAt: Fixture.t0, caseRef: "fam-042", cycle: 1, purpose: .filming)
        let change = SessionRecordChange.newInvite(issuedAtMs: 1_800_000_000_500, expiresAt: Fixture.t0.addingTimeInterval(60))
        change.apply(to: &record)
        #expect(record.invitesReplacedBeforeMs == 1_800_000_000_500 && record.inviteExpiresAt == Fixture.t0.addingTimeInterval(60))
        #expect(record.caseRef == "fam-042" && record.cycle == 1 && record.purpose == .filming)
        #expect(change.event == "invite_replaced" && change.eventFields(record).isEmpty)
    }

    /// Each bad body, and what its message must say.
    static let badBodies: [(String, String)] = [
        ("", "JSON object"), ("[]", "JSON object"), ("null", "JSON object"), ("{", "JSON object"),
        ("{}", "at least one label"),
        (#"{"case":"fam-042"}"#, "case is not a label"),
        (#"{"caseRef":"fam-042","cylce":2}"#, "cylce is not a label"),
        (#"{"caseRef":"Jane Smith"}"#, "caseRef must be"),
        (#"{"cycle":0}"#, "cycle must be"), (#"{"cycle":true}"#, "cycle must be"), (#"{"cycle":"2"}"#, "cycle must be"),
        (#"{"purpose":"therapy"}"#, "purpose must be"),
    ]

    @Test(arguments: badBodies)
    func aBadBodyIs400AndSaysWhatToSend(body: String, says: String) {
        let r = refusal(patch(body))
        #expect(r?.0 == 400 && r?.1 == "invalid_request")
        #expect(r?.2.contains(says) == true, "\(r?.2 ?? "")")
    }

    @Test func theSessionsPractitionerGetsTheChangeToSave() {
        #expect(patch(#"{"caseRef":"fam-042","cycle":1,"purpose":"review"}"#)
                == .changeLabels(sessionID: sid, SessionLabelChange(caseRef: .some("fam-042"), cycle: .some(1), purpose: .some(.review))))
    }

    @Test func onlyTheSessionsPractitionerMayChangeItsLabels() {
        let other = refusal(patch(#"{"cycle":1}"#, token: Fixture.practitionerToken(Fixture.otherOwner)))
        #expect(other?.0 == 404 && other?.1 == "session_not_found")
        let family = refusal(patch(#"{"cycle":1}"#, token: Fixture.inviteToken()))
        #expect(family?.0 == 403 && family?.2.contains("labels") == true)
        #expect(refusal(patch(#"{"cycle":1}"#, token: Fixture.metricsToken()))?.0 == 403)
        #expect(refusal(patch(#"{"cycle":1}"#, token: "not-a-token"))?.0 == 401)
    }

    @Test func aBodyOverTheLimitIs413() {
        let big = #"{"caseRef":""# + String(repeating: "a", count: RelayLimits().maxRequestBodyBytes) + #""}"#
        #expect(refusal(patch(big))?.0 == 413)
    }

    /// The answer names the session and the labels it now has, leaving out those it has not.
    @Test func theAnswerListsTheLabelsSet() {
        let record = SessionRecord(id: sid, owner: "pr-1", createdAt: Fixture.t0, inviteExpiresAt: Fixture.t0, caseRef: "fam-042", cycle: 2)
        let body = api.labelsBody(record)
        #expect(body["sessionId"] as? String == sid && body["caseRef"] as? String == "fam-042" && body["cycle"] as? Int == 2)
        #expect(body["purpose"] == nil && body.count == 3)
    }
}
