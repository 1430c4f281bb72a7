import Foundation
import Testing
import VigRelayCore

/// The cycle log (`GET /v1/cycles`): when the core counts a session held (and logs `held`), how
/// sessions group into cases and cycles (`CycleLog`), its JSON, and who may read it.
struct CycleLogTests {
    func at(_ seconds: TimeInterval) -> Date { Fixture.t0.addingTimeInterval(seconds) }

    // MARK: cases and cycles

    func session(_ n: Int, _ caseRef: String?, _ cycle: Int?, _ purpose: SessionPurpose?, held: TimeInterval?) -> CycleLog.Session {
        CycleLog.Session(record: SessionRecord(id: String(format: "%032x", n), owner: Fixture.owner, createdAt: at(Double(n)),
                                               inviteExpiresAt: at(86400), caseRef: caseRef, cycle: cycle, purpose: purpose),
                         heldAt: held.map(at))
    }

    @Test func groupsHeldSessionsIntoCasesAndCycles() throws {
        let log = CycleLog([
            session(1, "fam-b", 1, .filming, held: 100),
            session(2, "fam-a", 2, .review, held: 900),
            session(3, "fam-a", 1, .filming, held: 200),
            session(4, "fam-a", 1, .review, held: 700),
            session(5, "fam-a", 2, .filming, held: nil),  // planned, not held
            session(6, "fam-a", 1, .filming, held: 150),  // a second filming: the earliest counts
            session(7, "fam-c", 3, .review, held: nil),   // a cycle created, nothing held
        ])
        #expect(log.cases.map(\.caseRef) == ["fam-a", "fam-b", "fam-c"])
        let a = log.cases[0].cycles
        #expect(a.map(\.number) == [1, 2])
        #expect(a[0].filmedAt == at(150) && a[0].reviewedAt == at(700) && a[0].isComplete)
        #expect(a[1].filmedAt == nil && a[1].reviewedAt == at(900) && !a[1].isComplete)
        #expect(log.cases[1].cycles == [CycleLog.Cycle(number: 1, filmedAt: at(100), reviewedAt: nil)])
        #expect(log.cases[2].cycles == [CycleLog.Cycle(number: 3, filmedAt: nil, reviewedAt: nil)])
        #expect(log.completedCycles == 1 && log.familiesWithCompletedCycles == 1 && log.heldWithoutLabels == 0)
    }

    @Test func countsCompleteCyclesAndTheFamiliesTheyWereWith() {
        let log = CycleLog([
            session(1, "fam-a", 1, .filming, held: 1), session(2, "fam-a", 1, .review, held: 2),
            session(3, "fam-a", 2, .filming, held: 3), session(4, "fam-a", 2, .review, held: 4),
            session(5, "fam-b", 1, .filming, held: 5), session(6, "fam-b", 1, .review, held: 6),
            session(7, "fam-c", 1, .filming, held: 7),
        ])
        #expect(log.completedCycles == 3)
        #expect(log.familiesWithCompletedCycles == 2)
    }

    @Test func heldSessionsMissingALabelAreCountedApart() {
        let log = CycleLog([
            session(1, nil, nil, nil, held: 1),
            session(2, "fam-a", nil, .filming, held: 2),
            session(3, "fam-a", 1, nil, held: 3),
            session(4, nil, 1, .review, held: 4),
            session(5, nil, nil, nil, held: nil),  // never held: not counted at all
        ])
        #expect(log.cases.isEmpty)
        #expect(log.heldWithoutLabels == 4)
        #expect(log.completedCycles == 0)
    }

    @Test func json() throws {
        let log = CycleLog([session(1, "fam-a", 1, .filming, held: 0.5), session(2, "fam-a", 1, .review, held: 60),
                            session(3, "fam-a", 2, .filming, held: nil), session(4, nil, nil, nil, held: 5)])
        let data = try JSONSerialization.data(withJSONObject: log.json, options: [.sortedKeys])
        #expect(String(decoding: data, as: UTF8.self) == """
        {"cases":[{"caseRef":"fam-a","cycles":[{"complete":true,"cycle":1,"filmedAt":"2027-01-15T08:00:00.500Z","reviewedAt":"2027-01-15T08:01:00.000Z"},\
        {"complete":false,"cycle":2}]}],"completedCycles":1,"familiesWithCompletedCycles":1,"heldWithoutLabels":1}
        """)
        #expect(CycleLog([]).json as NSDictionary == ["cases": [Any](), "completedCycles": 0, "familiesWithCompletedCycles": 0, "heldWithoutLabels": 0] as NSDictionary)
    }

    // MARK: held, in the core

    /// The core notes when both sides are first in at once and logs it as `held` with that time, so
    /// a session held a moment ago counts before the writer has logged it. Later meetings in the same
    /// run neither move the time nor log it again.
    @Test(arguments: Role.allCases)
    func theFirstMeetingIsNotedAndLoggedOnce(first: Role) {
        let h = RelayHarness()
        func heldAt() -> Date? { h.core.cycleLogSessions(owner: Fixture.owner).first { $0.record.id == Fixture.sessionID }?.heldAt }
        #expect(!h.join(1, as: first).events.contains { $0.kind == .held })
        #expect(heldAt() == nil)
        h.clock.now += 5
        let both = h.join(2, as: first.peer)
        #expect(both.events == [SessionEvent(.joined, sessionID: Fixture.sessionID, role: first.peer, connection: 2),
                                SessionEvent(.held, sessionID: Fixture.sessionID, role: nil, connection: 2, at: at(5))])
        #expect(heldAt() == at(5))
        _ = h.core.closed(2)
        h.clock.now += 5
        #expect(!h.join(3, as: first.peer).events.contains { $0.kind == .held })
        #expect(!h.join(4, as: first).events.contains { $0.kind == .held }, "a replacement while both are in")
        #expect(heldAt() == at(5), "the first meeting counts")
        #expect(h.core.cycleLogSessions(owner: Fixture.otherOwner).map(\.heldAt) == [nil])
    }

    /// Both sides coming, but never at the same time, is not a meeting.
    @Test func eachSideAloneIsNotHeld() {
        let h = RelayHarness()
        h.join(1, as: .practitioner)
        _ = h.core.closed(1)
        #expect(!h.join(2, as: .family).events.contains { $0.kind == .held })
        #expect(h.core.cycleLogSessions(owner: Fixture.owner).allSatisfy { $0.heldAt == nil })
    }

    // MARK: the request

    let api = HTTPAPI(authority: Fixture.authority, limits: RelayLimits(), publicURL: "https://relay.example:8443")

    func request(_ token: String?, method: String = "GET") -> HTTPOutcome {
        let mine = (1...3).map { i in
            SessionRecord(id: String(format: "%032x", 4 - i), owner: Fixture.owner, createdAt: at(Double(i)), inviteExpiresAt: at(86400))
        }
        let theirs = SessionRecord(id: Fixture.otherSessionID, owner: Fixture.otherOwner, createdAt: at(0), inviteExpiresAt: at(86400))
        let core = RelayCore(limits: RelayLimits(), authority: Fixture.authority, sessions: mine + [theirs], now: { Fixture.t0 })
        return api.handle(HTTPRequest(method: method, path: "/v1/cycles", authorization: token.map { "Bearer \($0)" }), core: core, now: Fixture.t0)
    }

    @Test(arguments: ["GET", "HEAD"])
    func aPractitionerGetsAllTheirOwnSessions(method: String) {
        guard case .cycleLog(let sessions) = request(Fixture.practitionerToken(), method: method) else {
            Issue.record("expected the cycle log")
            return
        }
        #expect(Set(sessions.map(\.record.id)) == Set([3, 2, 1].map { String(format: "%032x", $0) }))
        #expect(sessions.allSatisfy { $0.heldAt == nil })
        guard case .cycleLog(let theirs) = request(Fixture.practitionerToken(Fixture.otherOwner)) else {
            Issue.record("expected the cycle log")
            return
        }
        #expect(theirs.map(\.record.id) == [Fixture.otherSessionID])
    }

    @Test func othersAreRefused() {
        func status(_ outcome: HTTPOutcome) -> (Int, String?) {
            guard case .respond(let r) = outcome else { return (0, nil) }
            return (r.status, jsonObject(r.body)?["code"] as? String)
        }
        #expect(status(request(nil)) == (401, "unauthorized"))
        #expect(status(request(Fixture.inviteToken())) == (403, "forbidden"))
        #expect(status(request(Fixture.metricsToken())) == (403, "forbidden"))
        #expect(status(request(Fixture.practitionerToken(), method: "POST")) == (405, "method_not_allowed"))
    }
}
