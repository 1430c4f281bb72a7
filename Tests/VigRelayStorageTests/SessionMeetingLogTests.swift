import Foundation
import Testing
import VigRelayCore
import VigRelayStorage

/// When a session was held, read from its event log (SessionEventLog+Meeting.swift), and the cycle
/// log's body built from the files (RecordingReader+CycleLog.swift).
struct SessionMeetingLogTests {
    let sid = Fixture.sessionID

    func log(_ tmp: TempDirectory, _ event: String, _ role: String? = nil, connection: Int? = nil, at seconds: TimeInterval,
             session: String = Fixture.sessionID) throws {
        var fields: [String: any Sendable] = [:]
        if let role { fields["role"] = role }
        if let connection { fields["connection"] = connection }
        try SessionEventLog(dataDir: tmp.path).append(sessionID: session, event: event, fields: fields, at: Fixture.t0.addingTimeInterval(seconds))
    }

    @Test func heldWhenTheLogShowsBothSidesInAtOnce() throws {
        let tmp = try TempDirectory()
        let events = SessionEventLog(dataDir: tmp.path)
        try log(tmp, "created", at: 0)
        try log(tmp, "joined", "practitioner", connection: 4, at: 1)
        #expect(events.heldAt(sessionID: sid) == nil)
        try log(tmp, "consent", "family", at: 2)
        try log(tmp, "joined", "family", connection: 5, at: 3)
        try log(tmp, "left", "family", connection: 5, at: 9)
        #expect(events.heldAt(sessionID: sid) == Fixture.t0.addingTimeInterval(3))
    }

    @Test func noLogOrABadIdIsNotHeld() throws {
        let tmp = try TempDirectory()
        #expect(SessionEventLog(dataDir: tmp.path).heldAt(sessionID: sid) == nil)
        #expect(SessionEventLog(dataDir: tmp.path).heldAt(sessionID: "../etc") == nil)
    }

    /// A damaged line is skipped (its side stays out), and a line torn by a crash is not read.
    @Test func damagedAndTornLinesAreSkipped() throws {
        let tmp = try TempDirectory()
        try log(tmp, "joined", "practitioner", connection: 1, at: 1)
        let path = try #require(RecordingPaths(dataDir: tmp.path).eventLog(sid))
        let damaged = #"{"time":"2027-01-15T08:00:02.000Z","event":"joined","connection":2,"role":"fam"#
        try Data((damaged + "\n" + damaged).utf8).append(to: path)
        #expect(SessionEventLog(dataDir: tmp.path).heldAt(sessionID: sid) == nil)
        try log(tmp, "joined", "family", connection: 3, at: 5)
        #expect(SessionEventLog(dataDir: tmp.path).heldAt(sessionID: sid) == Fixture.t0.addingTimeInterval(5))
    }

    @Test func theCycleLogFromTheFiles() throws {
        let tmp = try TempDirectory()
        let filming = SessionRecord(id: sid, owner: "pr-1", createdAt: Fixture.t0, inviteExpiresAt: Fixture.t0.addingTimeInterval(86400),
                                    caseRef: "fam-a", cycle: 1, purpose: .filming)
        var review = filming
        review.id = Fixture.otherSessionID
        review.purpose = .review
        try log(tmp, "joined", "family", connection: 1, at: 10)
        try log(tmp, "joined", "practitioner", connection: 2, at: 11)
        try log(tmp, "joined", "practitioner", connection: 3, at: 20, session: review.id)
        let reader = RecordingReader(dataDir: tmp.path)
        let notYet = reader.cycleLog([CycleLog.Session(record: filming, heldAt: nil), CycleLog.Session(record: review, heldAt: nil)])
        #expect(notYet["completedCycles"] as? Int == 0)
        // The core saw the review held; its log has not caught up yet.
        let byTheCore = reader.cycleLog([CycleLog.Session(record: filming, heldAt: nil),
                                         CycleLog.Session(record: review, heldAt: Fixture.t0.addingTimeInterval(22))])
        #expect(byTheCore["completedCycles"] as? Int == 1)
        // Once logged, the log's time counts: it is the first ever (the core's is since start).
        try log(tmp, "joined", "family", connection: 4, at: 21, session: review.id)
        let body = reader.cycleLog([CycleLog.Session(record: filming, heldAt: Fixture.t0.addingTimeInterval(99)),
                                    CycleLog.Session(record: review, heldAt: Fixture.t0.addingTimeInterval(22))])
        #expect(body["completedCycles"] as? Int == 1 && body["familiesWithCompletedCycles"] as? Int == 1)
        let cycle = try #require(((body["cases"] as? [[String: Any]])?.first?["cycles"] as? [[String: Any]])?.first)
        #expect(cycle["filmedAt"] as? String == "2027-01-15T08:00:11.000Z")
        #expect(cycle["reviewedAt"] as? String == "2027-01-15T08:00:21.000Z")
    }
}

private extension Data {
    func append(to path: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: self)
    }
}
