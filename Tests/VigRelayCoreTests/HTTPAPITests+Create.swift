import Foundation
import Testing
import VigRelayCore

/// `POST /v1/sessions` when it succeeds.
extension HTTPAPITests {
    /// The record to persist and the 201 body, or nil (recorded as an issue) for any other outcome.
    func created(_ outcome: HTTPOutcome, sourceLocation: SourceLocation = #_sourceLocation) -> (SessionRecord, [String: Any])? {
        guard case .persistSession(let record, let r) = outcome else {
            Issue.record("expected a session to persist, got \(outcome)", sourceLocation: sourceLocation)
            return nil
        }
        #expect(r.status == 201, sourceLocation: sourceLocation)
        #expect(r.contentType == "application/json", sourceLocation: sourceLocation)
        guard let body = jsonObject(r.body) else {
            Issue.record("201 body is not a JSON object", sourceLocation: sourceLocation)
            return nil
        }
        return (record, body)
    }

    @Test func createsASessionWithEveryDocumentedField() throws {
        let core = emptyCore()
        let outcome = api().handle(createRequest(body: #"{"caseRef":"fam-042","cycle":3,"purpose":"review"}"#), core: core, now: now)
        let (record, body) = try #require(created(outcome))

        let id = try #require(body["sessionId"] as? String)
        #expect(Identifiers.isValidSessionID(id))
        #expect(record.id == id)
        #expect(record.owner == Fixture.owner)
        #expect(record.createdAt == Fixture.t0, "whole seconds")
        #expect(record.inviteExpiresAt == Fixture.t0.addingTimeInterval(7 * 86400))
        #expect(record.caseRef == "fam-042")
        #expect(record.cycle == 3)
        #expect(record.purpose == .review)
        #expect(core.sessions[id] == record, "the core knows the session before it is persisted")

        let invite = try #require(body["inviteToken"] as? String)
        #expect(try Fixture.authority.verify(invite, now: now, revocations: TokenRevocations()).claims == .invite(sessionID: id, expiresAt: record.inviteExpiresAt))
        #expect(body["joinUrl"] as? String == "https://relay.example:8443/join#session=\(id)&invite=\(invite)")
        #expect(body["expiresAt"] as? String == "2027-01-22T08:00:00Z")
        #expect(body["webSocketUrl"] as? String == "wss://relay.example:8443/v1/sessions/\(id)/ws")
        #expect(body["caseRef"] as? String == "fam-042")
        #expect(body["cycle"] as? Int == 3)
        #expect(body["purpose"] as? String == "review")
    }

    /// The request body of the example in docs/PROTOCOL.md.
    @Test func createsTheDocumentedExample() throws {
        let outcome = api().handle(createRequest(body: #"{"caseRef":"fam-042","cycle":1,"purpose":"filming"}"#), core: emptyCore(), now: now)
        let (record, body) = try #require(created(outcome))
        #expect(record.cycle == 1)
        #expect(record.purpose == .filming)
        #expect(body["cycle"] as? Int == 1)
    }

    @Test(arguments: ["", "{}", "  \n", #"{"caseRef":null}"#])
    func labelsAreOptional(body: String) throws {
        let (record, json) = try #require(created(api().handle(createRequest(body: body), core: emptyCore(), now: now)))
        #expect(record.caseRef == nil && record.cycle == nil && record.purpose == nil)
        #expect(json["caseRef"] == nil && json["cycle"] == nil && json["purpose"] == nil)
        #expect(json["sessionId"] as? String == record.id)
    }

    @Test func inviteLifetimeComesFromTheLimits() throws {
        var limits = RelayLimits()
        limits.inviteTTLSeconds = 3600
        let (record, body) = try #require(created(api(limits).handle(createRequest(), core: emptyCore(), now: now)))
        #expect(record.inviteExpiresAt == Fixture.t0.addingTimeInterval(3600))
        #expect(body["expiresAt"] as? String == "2027-01-15T09:00:00Z")
        let invite = try #require(body["inviteToken"] as? String)
        #expect(throws: TokenAuthority.VerifyError.expired) {
            try Fixture.authority.verify(invite, now: Fixture.t0.addingTimeInterval(3600), revocations: TokenRevocations())
        }
    }

    @Test func publicURLTrailingSlashIsDropped() throws {
        let api = api(publicURL: "https://127.0.0.1:8443/")
        #expect(api.publicURL == "https://127.0.0.1:8443")
        let (record, body) = try #require(created(api.handle(createRequest(), core: emptyCore(), now: now)))
        let joinURL = try #require(body["joinUrl"] as? String)
        #expect(joinURL.hasPrefix("https://127.0.0.1:8443/join#session=\(record.id)&invite="))
        #expect(body["webSocketUrl"] as? String == "wss://127.0.0.1:8443/v1/sessions/\(record.id)/ws")
    }

    @Test func joinUrlKeepsTheInviteInTheFragment() throws {
        let (_, body) = try #require(created(api().handle(createRequest(), core: emptyCore(), now: now)))
        let joinURL = try #require(body["joinUrl"] as? String)
        let url = try #require(URL(string: joinURL))
        #expect(url.path == "/join")
        #expect(url.query == nil)
        #expect(url.fragment?.hasPrefix("session=") == true)
        #expect(url.fragment?.contains("&invite=") == true)
    }

    @Test func everySessionGetsItsOwnId() throws {
        let core = emptyCore()
        var ids = Set<String>()
        for _ in 0..<20 {
            let (record, _) = try #require(created(api().handle(createRequest(), core: core, now: now)))
            ids.insert(record.id)
        }
        #expect(ids.count == 20)
        #expect(core.sessions.count == 20)
    }

    @Test func theFamilyAndTheCreatorCanJoinTheNewSession() throws {
        let core = emptyCore()
        let (record, body) = try #require(created(api().handle(createRequest(), core: core, now: now)))
        let invite = try #require(body["inviteToken"] as? String)
        let path = "/v1/sessions/\(record.id)/ws"

        #expect(core.opened(1, path: path).isEmpty)
        let family = core.receivedText(1, RelayHarness.hello(invite))
        #expect(family.controls(to: 1).first?["role"] as? String == "family")

        #expect(core.opened(2, path: path).isEmpty)
        let practitioner = core.receivedText(2, RelayHarness.hello(Fixture.practitionerToken()))
        #expect(practitioner.controls(to: 2).first?["role"] as? String == "practitioner")

        #expect(core.opened(3, path: path).isEmpty)
        let stranger = core.receivedText(3, RelayHarness.hello(Fixture.practitionerToken(Fixture.otherOwner)))
        #expect(stranger.controls(to: 3).first?["code"] as? String == "forbidden")
    }
}
