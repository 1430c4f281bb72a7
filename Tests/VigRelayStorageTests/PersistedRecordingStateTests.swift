import Foundation
import Testing
import VigRelayCore
import VigRelayStorage

/// Consent and recording ids read back at start: the newest consent event of session.jsonl, read
/// from the end, failing closed on damage that may hide a newer one; ids from the manifests.
struct PersistedRecordingStateTests {
    let sid = Fixture.sessionID

    func logPath(_ tmp: TempDirectory) -> String { "\(tmp.path)/sessions/\(sid)/session.jsonl" }

    func appendRaw(_ tmp: TempDirectory, _ text: String) throws {
        let handle = try #require(FileHandle(forWritingAtPath: logPath(tmp)))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }

    func load(_ tmp: TempDirectory) -> PersistedRecordingState? {
        PersistedRecordingState.load(dataDir: tmp.path, sessionIDs: [sid]).first
    }

    @Test func consentFromTheLastConsentEventAndIdsOfRecordingsThatKeepTheirMedia() throws {
        let tmp = try TempDirectory()
        let log = SessionEventLog(dataDir: tmp.path)
        try log.append(sessionID: sid, event: "consent", fields: ["recording": true, "childAgreed": false], at: Fixture.t0)
        let deleted = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: "0000000000000001", startedAt: Fixture.t0)
        _ = try deleted.finish(at: Fixture.t0)
        _ = try RecordingStore(dataDir: tmp.path).deleteAll(sessionID: sid, at: Fixture.t0)
        try log.append(sessionID: sid, event: "consent", fields: ["recording": false, "childAgreed": false], at: Fixture.t0)
        try log.append(sessionID: sid, event: "consent", fields: ["recording": true, "childAgreed": true], at: Fixture.t0)
        let kept = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: Fixture.recordingID, startedAt: Fixture.t0.addingTimeInterval(1))
        _ = try kept.finish(at: Fixture.t0.addingTimeInterval(2))
        let failed = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: Fixture.otherRecordingID, startedAt: Fixture.t0.addingTimeInterval(3))
        failed.fail(reason: "disk full", at: Fixture.t0.addingTimeInterval(4))
        for i in 0..<50 {
            try log.append(sessionID: sid, event: "mark", fields: ["recordingId": Fixture.recordingID, "atMs": i, "note": "n\(i)"], at: Fixture.t0)
        }
        #expect(load(tmp) == PersistedRecordingState(sessionID: sid, consent: true, childAgreed: true,
                                                     recordingIDs: [Fixture.recordingID, Fixture.otherRecordingID]))
    }

    @Test func withdrawalIsTheLastWord() throws {
        let tmp = try TempDirectory()
        let log = SessionEventLog(dataDir: tmp.path)
        try log.append(sessionID: sid, event: "consent", fields: ["recording": true, "childAgreed": true], at: Fixture.t0)
        try log.append(sessionID: sid, event: "consent", fields: ["recording": false, "childAgreed": false], at: Fixture.t0)
        #expect(load(tmp) == nil, "no consent and no recordings: nothing to restore")
    }

    @Test func damagedLinesOfOtherEventsAreSkipped() throws {
        let tmp = try TempDirectory()
        let log = SessionEventLog(dataDir: tmp.path)
        try log.append(sessionID: sid, event: "consent", fields: ["recording": true, "childAgreed": false], at: Fixture.t0)
        try appendRaw(tmp, "{\"time\":\"2027-01-15T08:00:05.000Z\",\"event\":\"mark\",\"atMs\":1,\"no\n\u{0}\u{0}{\"event\":\"mark\"}}\n")
        try log.append(sessionID: sid, event: "mark", fields: ["atMs": 2], at: Fixture.t0)
        try appendRaw(tmp, "{\"time\":\"2027-01-15T08:00:06.000Z\",\"event\":\"recording_paused\",\"reco")  // torn last line
        let lookup = SessionEventLog(dataDir: tmp.path).lastEvent(named: "consent", sessionID: sid)
        #expect(lookup.unreadableLines == 3)
        #expect(lookup.mayHaveMissedNewer == false, "the damaged lines name other events")
        #expect(load(tmp)?.consent == true)
    }

    @Test(arguments: [
        "{\"time\":\"2027-01-15T08:00:05.000Z\",\"ev",                       // torn before its event name
        "{\"time\":\"2027-01-15T08:00:05.000Z\",\"event\":\"consent\",\"recor", // a torn consent event
        "{\"time\":\"2027-01-15T08:00:05.000Z\",\"event\":\"cons",               // its name cut short
        "\u{0}\u{0}garbage that is no JSON\n{\"time\":\"2027-01-15T08:00:06.000Z\",\"event\":\"mark\"}\n", // no event name at all
    ])
    func damageThatMayHideANewerConsentFailsClosed(torn: String) throws {
        let tmp = try TempDirectory()
        let log = SessionEventLog(dataDir: tmp.path)
        try log.append(sessionID: sid, event: "consent", fields: ["recording": true, "childAgreed": true], at: Fixture.t0)
        try appendRaw(tmp, torn)
        #expect(load(tmp) == nil, "consent is not assumed when the newest consent event may be unreadable")
        // The family consents again: a new line after the damage, which is trusted.
        try log.append(sessionID: sid, event: "consent", fields: ["recording": true, "childAgreed": false], at: Fixture.t0)
        #expect(load(tmp)?.consent == true)
        #expect(load(tmp)?.childAgreed == false)
    }

    /// The family's agreement that the supervisor may watch comes back with the consent it is part
    /// of: from the newest consent event, a JSON true only, never without recording.
    @Test func theSupervisorsAccessComesBackWithTheConsent() throws {
        let tmp = try TempDirectory()
        let log = SessionEventLog(dataDir: tmp.path)
        try log.append(sessionID: sid, event: "consent", fields: ["recording": true, "childAgreed": false, "supervisorMayView": true], at: Fixture.t0)
        #expect(load(tmp)?.supervisorMayView == true)
        try log.append(sessionID: sid, event: "consent", fields: ["recording": true, "childAgreed": false, "supervisorMayView": false], at: Fixture.t0)
        #expect(load(tmp)?.supervisorMayView == false, "taken back, recordings kept")
        try log.append(sessionID: sid, event: "consent", fields: ["recording": true, "supervisorMayView": 1], at: Fixture.t0)
        #expect(load(tmp)?.supervisorMayView == false, "only a JSON true agrees")
        try log.append(sessionID: sid, event: "consent", fields: ["recording": true, "childAgreed": false], at: Fixture.t0)
        #expect(load(tmp)?.supervisorMayView == false, "a log line from before supervisors: not agreed")
        try log.append(sessionID: sid, event: "consent", fields: ["recording": true, "supervisorMayView": true], at: Fixture.t0)
        try appendRaw(tmp, "{\"time\":\"2027-01-15T08:00:05.000Z\",\"event\":\"consent\",\"recor")
        #expect(load(tmp) == nil, "damage that may hide a newer consent takes the supervisor's access too")
    }

    @Test func aConsentEventWithoutABooleanIsNoConsent() throws {
        let tmp = try TempDirectory()
        try SessionEventLog(dataDir: tmp.path).append(sessionID: sid, event: "consent", fields: ["recording": 1], at: Fixture.t0)
        #expect(load(tmp) == nil)
    }

    @Test(arguments: [1, 7, 64, 333, 1 << 16])
    func readingBackwardsFindsTheSameEventWhateverTheBlockSize(blockBytes: Int) throws {
        let tmp = try TempDirectory()
        let log = SessionEventLog(dataDir: tmp.path)
        try log.append(sessionID: sid, event: "consent", fields: ["recording": false, "childAgreed": false], at: Fixture.t0)
        try log.append(sessionID: sid, event: "consent", fields: ["recording": true, "childAgreed": true, "n": 2], at: Fixture.t0)
        for i in 0..<40 { try log.append(sessionID: sid, event: "mark", fields: ["atMs": i, "note": "é \(i)"], at: Fixture.t0) }
        let found = log.lastEvent(named: "consent", sessionID: sid, blockBytes: blockBytes)
        #expect(found.event?["n"] as? Int == 2)
        #expect(found.unreadableLines == 0)
        #expect(log.lastEvent(named: "recording_stopped", sessionID: sid, blockBytes: blockBytes).event == nil)
        let first = log.lastEvent(named: "consent", sessionID: Fixture.otherSessionID, blockBytes: blockBytes)
        #expect(first.event == nil && first.unreadableLines == 0, "no log: nothing found")
    }

    /// A withdrawal whose `consent` line never reached the disk (it was full) still holds: the
    /// deletion's `recordings_deleted` event after it says so. A deletion for another reason does not.
    @Test func aWithdrawalsDeletionCountsAsTheWithdrawal() throws {
        let tmp = try TempDirectory()
        let log = SessionEventLog(dataDir: tmp.path)
        try log.append(sessionID: sid, event: "consent", fields: ["recording": true, "childAgreed": true], at: Fixture.t0)
        _ = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: Fixture.recordingID, startedAt: Fixture.t0).finish(at: Fixture.t0)
        try log.append(sessionID: sid, event: "recordings_deleted", fields: ["recordingIds": [String](), "reason": "request"], at: Fixture.t0)
        #expect(load(tmp)?.consent == true && load(tmp)?.withdrawalUnfinished == false)
        try log.append(sessionID: sid, event: "recordings_deleted", fields: ["recordingIds": [String](), "reason": "consent withdrawn"], at: Fixture.t0)
        let state = try #require(load(tmp))
        #expect(!state.consent && !state.childAgreed)
        #expect(state.withdrawalUnfinished, "the recording's files are still there: its deletion did not finish")
        _ = try RecordingStore(dataDir: tmp.path).deleteAll(sessionID: sid, at: Fixture.t0)
        #expect(load(tmp) == nil, "once deleted, nothing is left to restore")
    }

    /// A torn last line longer than the block read backwards (no newline in the last block) is
    /// skipped as torn, and the event before it found.
    @Test(arguments: [1, 7, 64])
    func aTornLastLineLongerThanABlockIsSkipped(blockBytes: Int) throws {
        let tmp = try TempDirectory()
        let log = SessionEventLog(dataDir: tmp.path)
        try log.append(sessionID: sid, event: "consent", fields: ["recording": true, "childAgreed": false], at: Fixture.t0)
        try appendRaw(tmp, "{\"time\":\"2027-01-15T08:00:05.000Z\",\"event\":\"mark\",\"note\":\"" + String(repeating: "x", count: 300))
        let found = log.lastEvent(named: "consent", sessionID: sid, blockBytes: blockBytes)
        #expect(found.event?["recording"] as? Bool == true)
        #expect(found.unreadableLines == 1 && !found.mayHaveMissedNewer)
    }

    @Test func invalidOrUnknownSessionsRestoreNothing() throws {
        let tmp = try TempDirectory()
        #expect(PersistedRecordingState.load(dataDir: tmp.path, sessionIDs: ["..", Fixture.otherSessionID, ""]).isEmpty)
    }
}
