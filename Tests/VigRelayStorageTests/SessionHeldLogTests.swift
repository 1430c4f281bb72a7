import Foundation
import Testing
import VigRelayCore
import VigRelayStorage

/// When a session was held, read from its event log (SessionEventLog+Held.swift), and the cycle
/// log's body built from the files (RecordingReader+CycleLog.swift).
struct SessionHeldLogTests {
    let sid = Fixture.sessionID

    func log(_ tmp: TempDirectory, _ event: String, _ fields: [String: any Sendable] = [:], at seconds: TimeInterval,
             session: String = Fixture.sessionID) throws {
        try SessionEventLog(dataDir: tmp.path).append(sessionID: session, event: event, fields: fields, at: Fixture.t0.addingTimeInterval(seconds))
    }

    @Test func theFirstHeldEventCounts() throws {
        let tmp = try TempDirectory()
        let events = SessionEventLog(dataDir: tmp.path)
        try log(tmp, "created", at: 0)
        try log(tmp, "joined", ["role": "practitioner", "connection": 4], at: 1)
        try log(tmp, "joined", ["role": "family", "connection": 5], at: 3)
        #expect(try events.heldAt(sessionID: sid) == nil, "joins alone are not read as a meeting")
        try log(tmp, "held", at: 3)
        try log(tmp, "left", ["role": "family", "connection": 5], at: 9)
        try log(tmp, "held", at: 20)  // a later run of the server
        #expect(try events.heldAt(sessionID: sid) == Fixture.t0.addingTimeInterval(3))
    }

    @Test func noLogOrABadIdIsNotHeld() throws {
        let tmp = try TempDirectory()
        #expect(try SessionEventLog(dataDir: tmp.path).heldAt(sessionID: sid) == nil)
        #expect(try SessionEventLog(dataDir: tmp.path).heldAt(sessionID: "../etc") == nil)
    }

    /// A damaged `held` line is skipped for the next readable one, and a line torn by a crash is not read.
    @Test func damagedAndTornLinesAreSkipped() throws {
        let tmp = try TempDirectory()
        try log(tmp, "created", at: 0)
        let path = try #require(RecordingPaths(dataDir: tmp.path).eventLog(sid))
        let damaged = #"{"time":"2027-01-15T08:00:02.000Z","event":"held""#
        try Data((damaged + "\n" + #"{"time":"2027-01-15T08:00:03.000Z","event":"held"}"#).utf8).append(to: path)
        #expect(try SessionEventLog(dataDir: tmp.path).heldAt(sessionID: sid) == nil)
        try log(tmp, "held", at: 5)  // starts on a line of its own: the torn one is now whole, and counts
        #expect(try SessionEventLog(dataDir: tmp.path).heldAt(sessionID: sid) == Fixture.t0.addingTimeInterval(3))
    }

    /// A log that exists but cannot be read is an error, not "never held": a count must not quietly drop.
    @Test func aLogThatCannotBeReadIsAnError() throws {
        let tmp = try TempDirectory()
        try log(tmp, "held", at: 1)
        let path = try #require(RecordingPaths(dataDir: tmp.path).eventLog(sid))
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)  // read() fails: EISDIR
        #expect(throws: StorageError.self) { try SessionEventLog(dataDir: tmp.path).heldAt(sessionID: sid) }
        let record = SessionRecord(id: sid, owner: "pr-1", createdAt: Fixture.t0, inviteExpiresAt: Fixture.t0.addingTimeInterval(86400))
        #expect(throws: StorageError.self) { try RecordingReader(dataDir: tmp.path).cycleLog([CycleLog.Session(record: record, heldAt: nil)]) }
    }

    @Test func theCycleLogFromTheFiles() throws {
        let tmp = try TempDirectory()
        let filming = SessionRecord(id: sid, owner: "pr-1", createdAt: Fixture.t0, inviteExpiresAt: Fixture.t0.addingTimeInterval(86400),
                                    caseRef: "fam-a", cycle: 1, purpose: .filming)
        var review = filming
        review.id = Fixture.otherSessionID
        review.purpose = .review
        try log(tmp, "held", at: 11)
        let reader = RecordingReader(dataDir: tmp.path)
        let notYet = try reader.cycleLog([CycleLog.Session(record: filming, heldAt: nil), CycleLog.Session(record: review, heldAt: nil)])
        #expect(notYet["completedCycles"] as? Int == 0)
        // The core saw the review held; its log has not caught up yet.
        let byTheCore = try reader.cycleLog([CycleLog.Session(record: filming, heldAt: nil),
                                             CycleLog.Session(record: review, heldAt: Fixture.t0.addingTimeInterval(22))])
        #expect(byTheCore["completedCycles"] as? Int == 1)
        // Once logged, the log's time counts: it is the first ever (the core's is since start).
        try log(tmp, "held", at: 21, session: review.id)
        let body = try reader.cycleLog([CycleLog.Session(record: filming, heldAt: Fixture.t0.addingTimeInterval(99)),
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
