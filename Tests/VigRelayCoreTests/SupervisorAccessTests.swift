import Foundation
import Testing
import VigRelayCore

/// The supervisor the session's practitioner names may watch its recordings, and only while the
/// family's consent says so: the consent answer, what the API lets the supervisor do, and their list.
struct SupervisorAccessTests {
    let sid = Fixture.sessionID
    let rid = "00112233445566aa"
    let cid = "8899aabbccddeeff"
    let supervisor = "sup-1"
    let api = HTTPAPI(authority: Fixture.authority, limits: RelayLimits(), publicURL: "https://relay.example:8443")

    /// Both sides joined to `Fixture.sessionID`, whose owner named `supervisor`.
    func supervised() throws -> RelayHarness {
        let h = RelayHarness()
        var record = try #require(h.core.sessions[sid])
        record.supervisor = supervisor
        #expect(h.core.sessionRecordSaved(record).isEmpty, "nothing to tell before anyone joined")
        h.join(1, as: .practitioner)
        h.join(2, as: .family)
        return h
    }

    func consent(_ h: RelayHarness, _ json: String) -> [RelayAction] {
        h.core.receivedText(2, utf8(json))
    }

    func handle(_ h: RelayHarness, _ method: String, _ path: String, as practitioner: String, body: String = "") -> HTTPOutcome {
        let token = Fixture.authority.sign(.practitioner(id: practitioner, expiresAt: Fixture.t0.addingTimeInterval(3600)), issuedAt: Fixture.t0)
        return api.handle(HTTPRequest(method: method, path: path, authorization: "Bearer \(token)", body: utf8(body)), core: h.core, now: Fixture.t0)
    }

    func code(_ outcome: HTTPOutcome) -> (Int, String)? {
        guard case .respond(let r) = outcome, let body = jsonObject(r.body) else { return nil }
        return (r.status, body["code"] as? String ?? "")
    }

    // MARK: the family's answer

    @Test func theFamilysAnswerCarriesTheSupervisorAndIsLoggedWhenItChanges() throws {
        let h = try supervised()
        let given = consent(h, #"{"type":"consent","recording":true,"supervisorMayView":true}"#)
        for conn: ConnectionID in [1, 2] {
            let notice = try #require(given.controls(to: conn).first)
            #expect(notice["type"] as? String == "consent" && notice["supervisorMayView"] as? Bool == true)
        }
        #expect(given.contains(.recording(.consent(sessionID: sid, recording: true, childAgreed: false, supervisorMayView: true))))
        #expect(h.core.supervisorMayView(sessionID: sid))

        let same = consent(h, #"{"type":"consent","recording":true,"supervisorMayView":true}"#)
        #expect(!same.contains { if case .recording = $0 { true } else { false } }, "the same answer again is not logged")

        let takenBack = consent(h, #"{"type":"consent","recording":true}"#)
        #expect(takenBack.contains(.recording(.consent(sessionID: sid, recording: true, childAgreed: false, supervisorMayView: false))))
        #expect(takenBack.controls(to: 1).first?["supervisorMayView"] == nil)
        #expect(!h.core.supervisorMayView(sessionID: sid), "taking it back alone ends the supervisor's access, recordings kept")

        _ = consent(h, #"{"type":"consent","recording":true,"supervisorMayView":"yes"}"#)
        #expect(!h.core.supervisorMayView(sessionID: sid), "only a JSON true agrees")
        _ = consent(h, #"{"type":"consent","recording":false,"supervisorMayView":true}"#)
        #expect(!h.core.supervisorMayView(sessionID: sid), "no recording, nothing to watch")
    }

    @Test func aWithdrawalEndsItAndARejoiningFamilyHearsItStands() throws {
        let h = try supervised()
        _ = consent(h, #"{"type":"consent","recording":true,"childAgreed":true,"supervisorMayView":true}"#)
        _ = h.core.opened(3, path: RelayHarness.path())
        let rejoined = h.core.receivedText(3, RelayHarness.hello(Fixture.inviteToken())).controls(to: 3)
        #expect(rejoined.last?["type"] as? String == "consent" && rejoined.last?["supervisorMayView"] as? Bool == true)
        let withdrawn = h.core.receivedText(3, utf8(#"{"type":"consent","recording":false}"#))
        #expect(withdrawn.contains(.recording(.consent(sessionID: sid, recording: false, childAgreed: false, supervisorMayView: false))))
        #expect(!h.core.supervisorMayView(sessionID: sid))
    }

    @Test func restoredConsentKeepsTheSupervisorsAccess() {
        let h = RelayHarness()
        h.core.restoreRecording(sessionID: sid, consent: true, childAgreed: false, supervisorMayView: true, recordingIDs: [rid])
        #expect(h.core.supervisorMayView(sessionID: sid))
        h.core.restoreRecording(sessionID: Fixture.otherSessionID, consent: false, childAgreed: false, supervisorMayView: true, recordingIDs: [])
        #expect(!h.core.supervisorMayView(sessionID: Fixture.otherSessionID))
    }

    // MARK: what the supervisor may do

    @Test func theSupervisorWatchesOnlyWhileTheFamilyAgrees() throws {
        let h = try supervised()
        let base = "/v1/sessions/\(sid)"
        let reads = [("GET", base), ("HEAD", base), ("GET", "\(base)/recordings/\(rid)"), ("GET", "\(base)/clips/\(cid)")]
        for (method, path) in reads {
            #expect(code(handle(h, method, path, as: supervisor)).map { $0 == (403, "supervision_not_agreed") } == true, "\(method) \(path)")
        }
        _ = consent(h, #"{"type":"consent","recording":true,"supervisorMayView":true}"#)
        let session = try #require(h.core.sessions[sid])
        #expect(handle(h, "GET", base, as: supervisor) == .sessionSummary(session))
        let grant = DownloadGrant(practitionerID: supervisor, tokenIssuedAtMs: TokenAuthority.milliseconds(Fixture.t0), asSupervisor: true)
        #expect(handle(h, "GET", "\(base)/recordings/\(rid)", as: supervisor)
                == .media(MediaRequest(sessionID: sid, resource: .recording(id: rid, part: 1)), grant: grant))
        #expect(handle(h, "GET", "\(base)/clips/\(cid)", as: supervisor) == .media(MediaRequest(sessionID: sid, resource: .clip(id: cid)), grant: grant))
        // Nothing that changes the session, or hands out the family's link.
        let changes = [("PATCH", base, #"{"cycle":2}"#), ("DELETE", "\(base)/recordings", ""), ("POST", "\(base)/invite", ""),
                       ("POST", "\(base)/clips", "{\"recordingId\":\"\(rid)\",\"fromMs\":0,\"toMs\":5000}")]
        for (method, path, body) in changes {
            #expect(code(handle(h, method, path, as: supervisor, body: body)).map { $0 == (403, "forbidden") } == true, "\(method) \(path)")
        }
        // Nor the call: a supervisor's token does not join it.
        let hello = h.connect(9, first: RelayHarness.hello(Fixture.practitionerToken(supervisor)))
        #expect(hello.controls(to: 9).first?["code"] as? String == "forbidden")
        // Anyone else still learns nothing of the session.
        #expect(code(handle(h, "GET", "\(base)/recordings/\(rid)", as: "pr-9")).map { $0 == (404, "session_not_found") } == true)

        _ = consent(h, #"{"type":"consent","recording":true}"#)
        #expect(code(handle(h, "GET", "\(base)/recordings/\(rid)", as: supervisor)).map { $0 == (403, "supervision_not_agreed") } == true)
    }

    @Test func theOwnersDownloadsAreNotTheSupervisors() throws {
        let h = try supervised()
        guard case .media(_, let grant) = handle(h, "GET", "/v1/sessions/\(sid)/recordings/\(rid)", as: Fixture.owner) else {
            Issue.record("the owner should download")
            return
        }
        #expect(grant.practitionerID == Fixture.owner && !grant.asSupervisor)
    }

    @Test func theSupervisionListHoldsOnlySessionsTheFamilyAgreedFor() throws {
        let h = try supervised()
        func listed() -> [String]? {
            guard case .sessionList(let page) = handle(h, "GET", "/v1/supervision", as: supervisor) else { return nil }
            return page.items.map(\.session.id)
        }
        #expect(listed() == [])
        _ = consent(h, #"{"type":"consent","recording":true,"supervisorMayView":true}"#)
        #expect(listed() == [sid])
        guard case .sessionList(let page) = handle(h, "GET", "/v1/supervision", as: supervisor) else { return }
        let entry = SessionListEntry(page.items[0], facts: SessionDiskFacts()).json
        #expect(entry["supervisor"] as? String == supervisor && entry["practitioner"] as? String == Fixture.owner)
        #expect(entry["supervisorMayView"] as? Bool == true)
        #expect(code(handle(h, "POST", "/v1/supervision", as: supervisor)).map { $0 == (405, "method_not_allowed") } == true)
        // The owner's own list is unchanged by it; their supervision list is empty.
        guard case .sessionList(let own) = handle(h, "GET", "/v1/sessions", as: Fixture.owner),
              case .sessionList(let none) = handle(h, "GET", "/v1/supervision", as: Fixture.owner) else {
            Issue.record("both lists should answer")
            return
        }
        #expect(own.items.map(\.session.id) == [sid] && none.items.isEmpty)
        _ = consent(h, #"{"type":"consent","recording":false}"#)
        #expect(listed() == [])
    }

    // MARK: naming the supervisor

    @Test func theOwnerNamesAnotherPractitionerNotThemselves() throws {
        let h = RelayHarness()
        let created = api.handle(HTTPRequest(method: "POST", path: "/v1/sessions", authorization: "Bearer \(Fixture.practitionerToken())",
                                             body: utf8(#"{"supervisor":"sup-1"}"#)), core: h.core, now: Fixture.t0)
        guard case .persistSession(let record, _) = created else {
            Issue.record("expected a new session, got \(created)")
            return
        }
        #expect(record.supervisor == "sup-1")
        let selfNamed = api.handle(HTTPRequest(method: "POST", path: "/v1/sessions", authorization: "Bearer \(Fixture.practitionerToken())",
                                               body: utf8(#"{"supervisor":"pr-1"}"#)), core: h.core, now: Fixture.t0)
        #expect(code(selfNamed).map { $0 == (400, "invalid_request") } == true)
        #expect(code(handle(h, "PATCH", "/v1/sessions/\(sid)", as: Fixture.owner, body: #"{"supervisor":"pr-1"}"#))
                .map { $0 == (400, "invalid_request") } == true)
        #expect(handle(h, "PATCH", "/v1/sessions/\(sid)", as: Fixture.owner, body: #"{"supervisor":null}"#)
                == .changeLabels(sessionID: sid, SessionLabelChange(supervisor: .some(nil))))
        #expect(code(handle(h, "PATCH", "/v1/sessions/\(sid)", as: Fixture.owner, body: #"{"supervisor":"Jane Smith"}"#))
                .map { $0 == (400, "invalid_request") } == true, "an id, not a name")
    }

    /// The family agreed for the supervisor named then: naming another (or none) ends the agreement,
    /// told to both sides and logged with the reason; other label changes leave it.
    @Test func anotherSupervisorNeedsTheFamilysAgreementAgain() throws {
        let h = try supervised()
        _ = consent(h, #"{"type":"consent","recording":true,"childAgreed":true,"supervisorMayView":true}"#)
        var record = try #require(h.core.sessions[sid])
        record.cycle = 2
        #expect(h.core.sessionRecordSaved(record).isEmpty, "the same supervisor: nothing changes")
        #expect(h.core.supervisorMayView(sessionID: sid))

        record.supervisor = "sup-2"
        let changed = h.core.sessionRecordSaved(record)
        #expect(h.core.sessions[sid]?.supervisor == "sup-2")
        #expect(!h.core.supervisorMayView(sessionID: sid))
        for conn: ConnectionID in [1, 2] {
            let notice = try #require(changed.controls(to: conn).first)
            #expect(notice["type"] as? String == "consent" && notice["recording"] as? Bool == true
                    && notice["childAgreed"] as? Bool == true && notice["supervisorMayView"] == nil, "\(notice)")
        }
        #expect(changed.contains(.recording(.consent(sessionID: sid, recording: true, childAgreed: true, supervisorMayView: false,
                                                     reason: RelayCore.supervisorChangedReason))))
        #expect(code(handle(h, "GET", "/v1/sessions/\(sid)/recordings/\(rid)", as: "sup-2")).map { $0 == (403, "supervision_not_agreed") } == true)

        _ = consent(h, #"{"type":"consent","recording":true,"supervisorMayView":true}"#)
        #expect(h.core.supervisorMayView(sessionID: sid), "the family agrees again, for the new supervisor")
        record.supervisor = nil
        #expect(!h.core.sessionRecordSaved(record).isEmpty)
        #expect(!h.core.supervisorMayView(sessionID: sid))
    }

    /// The family's page asks about the supervisor only where one is named: the link check and the
    /// family's welcome say so (never who), and a family in the call hears when that changes; the
    /// practitioner's welcome does not.
    @Test func theFamilyIsToldWhetherASupervisorIsNamed() throws {
        let h = RelayHarness()
        func linkCheck() -> Bool? {
            let outcome = api.handle(HTTPRequest(method: "GET", path: "/v1/sessions/\(sid)/invite", authorization: "Bearer \(Fixture.inviteToken())",
                                                 body: []), core: h.core, now: Fixture.t0)
            guard case .respond(let r) = outcome, r.status == 200 else { return nil }
            return jsonObject(r.body)?["supervised"] as? Bool
        }
        #expect(linkCheck() == false)
        #expect(h.join(2, as: .family).controls(to: 2).first?["supervised"] == nil)
        var record = try #require(h.core.sessions[sid])
        record.supervisor = supervisor
        let named = h.core.sessionRecordSaved(record)
        #expect(named.controls(to: 2).map { $0["type"] as? String } == ["supervision"])
        #expect(named.controls(to: 2).first?["supervised"] as? Bool == true)
        #expect(linkCheck() == true)
        let family = h.join(3, as: .family).controls(to: 3).first
        #expect(family?["supervised"] as? Bool == true && !String(describing: family ?? [:]).contains(supervisor))
        #expect(h.join(4, as: .practitioner).controls(to: 4).first?["supervised"] == nil)

        record.supervisor = "sup-2"
        #expect(h.core.sessionRecordSaved(record).isEmpty, "still supervised, and nothing agreed to end")
        record.supervisor = nil
        let removed = h.core.sessionRecordSaved(record)
        #expect(removed.controls(to: 3).count == 1 && removed.controls(to: 3).first?["supervised"] as? Bool == false)
        #expect(removed.controls(to: 4).isEmpty, "the practitioner's page knows: it made the change")
    }

    /// A supervisor reads a trainee's cycle log from the trainee's sessions that name them; anyone
    /// else asking gets an empty one; a bad id is 400.
    @Test func aSupervisorReadsATraineesCycleLogOfTheSessionsNamingThem() throws {
        let h = try supervised()
        func sessions(_ query: [String], as practitioner: String) -> [String]? {
            let token = Fixture.authority.sign(.practitioner(id: practitioner, expiresAt: Fixture.t0.addingTimeInterval(3600)), issuedAt: Fixture.t0)
            let outcome = api.handle(HTTPRequest(method: "GET", path: "/v1/cycles", authorization: "Bearer \(token)", body: [], query: query),
                                     core: h.core, now: Fixture.t0)
            guard case .cycleLog(let listed) = outcome else { return nil }
            return listed.map(\.record.id)
        }
        #expect(sessions(["practitioner=\(Fixture.owner)"], as: supervisor) == [sid])
        #expect(sessions(["practitioner=\(Fixture.owner)"], as: "sup-2") == [], "not their supervisor: nothing")
        #expect(sessions(["practitioner=\(Fixture.otherOwner)"], as: supervisor) == [], "another trainee's sessions do not name them")
        #expect(sessions([], as: supervisor) == [], "their own log: their own sessions")
        #expect(sessions(["practitioner=\(Fixture.owner)"], as: Fixture.owner) == [sid], "asking for yourself is your own log")
        for bad in [["practitioner=Jane Smith"], ["practitioner=pr-1", "practitioner=pr-2"], ["practitioner="]] {
            let token = Fixture.authority.sign(.practitioner(id: supervisor, expiresAt: Fixture.t0.addingTimeInterval(3600)), issuedAt: Fixture.t0)
            let outcome = api.handle(HTTPRequest(method: "GET", path: "/v1/cycles", authorization: "Bearer \(token)", body: [], query: bad),
                                     core: h.core, now: Fixture.t0)
            #expect(code(outcome).map { $0 == (400, "invalid_request") } == true, "\(bad)")
        }
    }

    @Test func aLabelChangeLogsTheSupervisor() {
        var record = SessionRecord(id: sid, owner: Fixture.owner, createdAt: Fixture.t0, inviteExpiresAt: Fixture.t0)
        let change = SessionRecordChange.labels(SessionLabelChange(supervisor: .some("sup-2")))
        change.apply(to: &record)
        #expect(record.supervisor == "sup-2")
        #expect(change.eventFields(record)["supervisor"] as? String == "sup-2")
    }
}
