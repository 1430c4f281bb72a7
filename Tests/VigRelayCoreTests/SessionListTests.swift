import Foundation
import Testing
import VigRelayCore

/// `GET /v1/sessions` in the core: the query, the page (owner, order, cursor), the in-memory state
/// of each session, and how memory and disk combine into an entry.
struct SessionListTests {
    let now = Fixture.t0.addingTimeInterval(10)
    let api = HTTPAPI(authority: Fixture.authority, limits: RelayLimits(), publicURL: "https://relay.example:8443")

    /// `count` sessions of `owner`, one a second from t0 (ids end in their number), plus one of another practitioner.
    func sessions(_ count: Int, owner: String = Fixture.owner) -> [SessionRecord] {
        (0..<count).map { i in
            SessionRecord(id: String(format: "%032x", i + 1), owner: owner, createdAt: Fixture.t0.addingTimeInterval(Double(i)),
                          inviteExpiresAt: Fixture.t0.addingTimeInterval(86400), caseRef: "fam-\(i)")
        } + [SessionRecord(id: Fixture.otherSessionID, owner: Fixture.otherOwner, createdAt: Fixture.t0.addingTimeInterval(1000),
                           inviteExpiresAt: Fixture.t0.addingTimeInterval(86400))]
    }

    func core(_ records: [SessionRecord]) -> RelayCore {
        RelayCore(limits: RelayLimits(), authority: Fixture.authority, sessions: records, now: { Fixture.t0 })
    }

    func list(_ core: RelayCore, token: String? = Fixture.practitionerToken(), query: [String] = [], method: String = "GET") -> HTTPOutcome {
        api.handle(HTTPRequest(method: method, path: "/v1/sessions", authorization: token.map { "Bearer \($0)" }, query: query),
                   core: core, now: now)
    }

    func page(_ outcome: HTTPOutcome, sourceLocation: SourceLocation = #_sourceLocation) -> SessionListPage? {
        guard case .sessionList(let page) = outcome else {
            Issue.record("expected a session list, got \(outcome)", sourceLocation: sourceLocation)
            return nil
        }
        return page
    }

    func error(_ outcome: HTTPOutcome) -> (Int, String?, String) {
        guard case .respond(let r) = outcome else { return (0, nil, "") }
        let body = jsonObject(r.body)
        return (r.status, body?["code"] as? String, body?["message"] as? String ?? "")
    }

    // MARK: the query

    @Test func queryDefaultsAndLimits() throws {
        #expect(try SessionListQuery.parse([]).get() == SessionListQuery(limit: 50))
        #expect(try SessionListQuery.parse(["limit=1"]).get().limit == 1)
        #expect(try SessionListQuery.parse(["limit=200", "other=x"]).get().limit == 200)
        #expect(try SessionListQuery.parse(["before=\(Fixture.sessionID)"]).get().before == Fixture.sessionID)
    }

    @Test(arguments: [["limit=0"], ["limit=201"], ["limit=-1"], ["limit="], ["limit=1e2"], ["limit=0050"], ["limit=5", "limit=6"],
                      ["before=xyz"], ["before="], ["before=\(Fixture.sessionID.uppercased())"],
                      ["before=\(Fixture.sessionID)", "before=\(Fixture.otherSessionID)"]])
    func badQueriesAre400(query: [String]) {
        let (status, code, message) = error(list(core(sessions(3)), query: query))
        #expect(status == 400 && code == "invalid_request")
        #expect(message.contains(query[0].hasPrefix("limit") ? "limit" : "before"))
    }

    // MARK: who sees what

    @Test(arguments: [nil, "", "not-a-token", Fixture.forger.sign(.practitioner(id: Fixture.owner, expiresAt: Fixture.t0.addingTimeInterval(3600)))])
    func withoutAValidTokenIs401(token: String?) {
        #expect(error(list(core(sessions(2)), token: token)).1 == "unauthorized")
        #expect(error(list(core(sessions(2)), token: token)).0 == 401)
    }

    @Test func aFamilyInviteIs403() {
        let (status, code, _) = error(list(core(sessions(2)), token: Fixture.inviteToken(String(format: "%032x", 1))))
        #expect(status == 403 && code == "forbidden")
    }

    @Test(arguments: ["GET", "HEAD"])
    func eachPractitionerSeesOnlyTheirOwnNewestFirst(method: String) throws {
        let c = core(sessions(3))
        let mine = try #require(page(list(c, method: method)))
        #expect(mine.items.map(\.session.id) == [3, 2, 1].map { String(format: "%032x", $0) })
        #expect(mine.total == 3 && mine.limit == 50 && mine.nextBefore == nil)
        let theirs = try #require(page(list(c, token: Fixture.practitionerToken(Fixture.otherOwner))))
        #expect(theirs.items.map(\.session.id) == [Fixture.otherSessionID])
        let nobody = try #require(page(list(c, token: Fixture.practitionerToken("pr-3"))))
        #expect(nobody.items.isEmpty && nobody.total == 0)
    }

    @Test func otherMethodsAre405NamingGetAndPost() {
        let (status, code, message) = error(list(core(sessions(1)), method: "DELETE"))
        #expect(status == 405 && code == "method_not_allowed")
        #expect(message.contains("GET") && message.contains("POST"))
    }

    // MARK: pages

    @Test func pagesFollowEachOtherWithoutGapsOrRepeats() throws {
        let c = core(sessions(7))
        var seen: [String] = []
        var before: String?
        var pages = 0
        repeat {
            let query = ["limit=3"] + (before.map { ["before=\($0)"] } ?? [])
            let p = try #require(page(list(c, query: query)))
            #expect(p.total == 7 && p.items.count <= 3)
            seen += p.items.map(\.session.id)
            before = p.nextBefore
            pages += 1
        } while before != nil && pages < 10
        #expect(pages == 3)
        #expect(seen == (1...7).reversed().map { String(format: "%032x", $0) })
    }

    @Test func aFullLastPageHasNoNext() throws {
        let p = try #require(page(list(core(sessions(4)), query: ["limit=4"])))
        #expect(p.items.count == 4 && p.nextBefore == nil)
    }

    @Test func sameSecondSessionsAreOrderedByIdDescending() {
        let t = Fixture.t0
        let records = ["a", "c", "b"].map { SessionRecord(id: String(repeating: $0, count: 32), owner: "x", createdAt: t, inviteExpiresAt: t) }
        let p = SessionListPage.make(of: records, limit: 10, before: nil) { _ in SessionLiveState() }
        #expect(p?.items.map { $0.session.id.first } == ["c", "b", "a"])
    }

    @Test func beforeMustBeOneOfYours() {
        let c = core(sessions(2))
        for before in [Fixture.otherSessionID, Fixture.unknownSessionID] {
            let (status, code, message) = error(list(c, query: ["before=\(before)"]))
            #expect(status == 400 && code == "invalid_request" && message.contains("before"))
        }
    }

    // MARK: what the core knows

    @Test func liveStateFollowsJoinsConsentRecordingAndLeaving() throws {
        let h = RelayHarness()
        #expect(h.core.liveState(of: Fixture.sessionID) == SessionLiveState())
        h.join(1, as: .practitioner)
        #expect(h.core.liveState(of: Fixture.sessionID) == SessionLiveState(connected: [.practitioner], joinedSinceStart: true))
        h.join(2, as: .family)
        _ = h.core.receivedText(2, utf8(#"{"type":"consent","recording":true,"childAgreed":true}"#))
        let start = h.core.receivedText(1, utf8(#"{"type":"record","action":"start"}"#))
        let rid = try #require(start.controls(to: 1).first?["recordingId"] as? String)
        #expect(h.core.liveState(of: Fixture.sessionID) == SessionLiveState(
            connected: [.family, .practitioner], joinedSinceStart: true, consent: ConsentAnswer(recording: true, childAgreed: true),
            recordingID: rid))
        _ = h.core.closed(2)
        #expect(h.core.liveState(of: Fixture.sessionID).awaiting == [.family])
        #expect(h.core.liveState(of: Fixture.sessionID).connected == [.practitioner])
        _ = h.core.receivedText(1, utf8(#"{"type":"record","action":"stop"}"#))
        _ = h.core.closed(1)
        #expect(h.core.liveState(of: Fixture.sessionID) == SessionLiveState(
            joinedSinceStart: true, consent: ConsentAnswer(recording: true, childAgreed: true)))
    }

    @Test func withdrawalIsKnownAsAnAnswer() {
        let h = RelayHarness()
        h.join(2, as: .family)
        _ = h.core.receivedText(2, utf8(#"{"type":"consent","recording":false}"#))
        #expect(h.core.liveState(of: Fixture.sessionID).consent == ConsentAnswer(recording: false))
    }

    @Test func restoredConsentIsKnownOnlyWhenGiven() {
        let h = RelayHarness()
        h.core.restoreRecording(sessionID: Fixture.sessionID, consent: true, childAgreed: false, recordingIDs: [])
        h.core.restoreRecording(sessionID: Fixture.otherSessionID, consent: false, childAgreed: false, recordingIDs: ["0123456789abcdef"])
        #expect(h.core.liveState(of: Fixture.sessionID).consent == ConsentAnswer(recording: true))
        #expect(h.core.liveState(of: Fixture.otherSessionID).consent == nil, "not given may be a withdrawal or no answer: the disk says which")
    }

    // MARK: entries

    func entry(_ live: SessionLiveState, _ facts: SessionDiskFacts = SessionDiskFacts(),
               session: SessionRecord = SessionRecord(id: Fixture.sessionID, owner: Fixture.owner, createdAt: Fixture.t0,
                                                      inviteExpiresAt: Fixture.t0)) -> SessionListEntry {
        SessionListEntry(SessionListPage.Item(session: session, live: live), facts: facts)
    }

    @Test func stateIsNewLiveOrEnded() {
        #expect(entry(SessionLiveState()).state == .new)
        #expect(entry(SessionLiveState(connected: [.practitioner], joinedSinceStart: true)).state == .live)
        #expect(entry(SessionLiveState(joinedSinceStart: true)).state == .ended)
        #expect(entry(SessionLiveState(), SessionDiskFacts(joined: true)).state == .ended, "joined before a restart")
    }

    @Test func consentFromMemoryWinsOverTheDisk() {
        #expect(entry(SessionLiveState()).consent == .none)
        #expect(entry(SessionLiveState(), SessionDiskFacts(consent: ConsentAnswer(recording: false))).consent == .withdrawn)
        let given = entry(SessionLiveState(), SessionDiskFacts(consent: ConsentAnswer(recording: true, childAgreed: true)))
        #expect(given.consent == .given && given.childAgreed)
        let withdrawnSinceStart = entry(SessionLiveState(consent: ConsentAnswer(recording: false)),
                                        SessionDiskFacts(consent: ConsentAnswer(recording: true, childAgreed: true)))
        #expect(withdrawnSinceStart.consent == .withdrawn && !withdrawnSinceStart.childAgreed)
    }

    @Test func recordingStateAndCounts() {
        let rid = "0123456789abcdef", other = "fedcba9876543210"
        #expect(entry(SessionLiveState()).recording == .idle)
        #expect(entry(SessionLiveState(), SessionDiskFacts(deletedRecordings: 2)).recording == .idle, "everything deleted")
        let stopped = entry(SessionLiveState(), SessionDiskFacts(recordingIDs: [rid], recordingBytes: 1000, deletedRecordings: 1, clips: 2))
        #expect(stopped.recording == .stopped && stopped.recordingCount == 1 && stopped.recordingBytes == 1000)
        #expect(stopped.deletedRecordingCount == 1 && stopped.clipCount == 2)
        let starting = entry(SessionLiveState(recordingID: other, awaiting: [.family]), SessionDiskFacts(recordingIDs: [rid]))
        #expect(starting.recording == .recording && starting.recordingCount == 2, "the running one counts before its manifest is on disk")
        #expect(starting.awaiting == [.family] && starting.recordingID == other)
        #expect(entry(SessionLiveState(awaiting: [.family])).awaiting.isEmpty, "nothing is awaited without a recording")
    }

    @Test func entryJSON() throws {
        let session = SessionRecord(id: Fixture.sessionID, owner: Fixture.owner, createdAt: Fixture.t0,
                                    inviteExpiresAt: Fixture.t0.addingTimeInterval(7 * 86_400), caseRef: "fam-042", cycle: 2, purpose: .filming)
        let json = entry(SessionLiveState(connected: [.family], joinedSinceStart: true, consent: ConsentAnswer(recording: true),
                                          recordingID: "0123456789abcdef", awaiting: [.practitioner]),
                         SessionDiskFacts(recordingBytes: 5, clips: 1, lastEventAt: Fixture.t0.addingTimeInterval(61.5)),
                         session: session).json
        let text = String(decoding: ControlEncoder.encode(json), as: UTF8.self)
        #expect(text == #"{"awaiting":["practitioner"],"caseRef":"fam-042","childAgreed":false,"clipCount":1,"connected":["family"],"#
            + #""consent":"given","createdAt":"2027-01-15T08:00:00.000Z","cycle":2,"deletedRecordingCount":0,"#
            + #""inviteExpiresAt":"2027-01-22T08:00:00.000Z","lastActivityAt":"2027-01-15T08:01:01.500Z","practitioner":"pr-1","purpose":"filming","recordingBytes":5,"recordingCount":1,"#
            + #""recordingId":"0123456789abcdef","recordingState":"recording","sessionId":"\#(Fixture.sessionID)","state":"live","supervisorMayView":false}"#)
        let bare = entry(SessionLiveState()).json
        #expect(bare["caseRef"] == nil && bare["recordingId"] == nil && bare["awaiting"] == nil && bare["lastActivityAt"] == nil)
        #expect(bare["familyLinkRefused"] == nil && bare["familyLinkRefusedAt"] == nil)
        let refused = entry(SessionLiveState(familyLinkRefusal: RefusedFamilyLink(reason: .replaced, at: Fixture.t0.addingTimeInterval(90)))).json
        #expect(refused["familyLinkRefused"] as? String == "replaced" && refused["familyLinkRefusedAt"] as? String == "2027-01-15T08:01:30.000Z")
    }

    @Test func pageBodyHasTheEntriesInOrderAndTheCursor() throws {
        let p = try #require(SessionListPage.make(of: Array(sessions(3).prefix(3)), limit: 2, before: nil) { _ in SessionLiveState() })
        let body = p.body(facts: [SessionDiskFacts(clips: 4)])
        let entries = try #require(body["sessions"] as? [[String: Any]])
        #expect(entries.map { $0["sessionId"] as? String } == [3, 2].map { String(format: "%032x", $0) })
        #expect(entries[0]["clipCount"] as? Int == 4 && entries[1]["clipCount"] as? Int == 0)
        #expect(body["total"] as? Int == 3 && body["limit"] as? Int == 2 && body["nextBefore"] as? String == String(format: "%032x", 2))
        #expect(body["retentionSeconds"] == nil, "recordings kept until deleted")
        let kept = try #require(SessionListPage.make(of: sessions(1), limit: 2, before: nil, retentionSeconds: 86_400) { _ in SessionLiveState() })
        #expect(kept.body(facts: [])["retentionSeconds"] as? Int == 86_400)
    }
}
