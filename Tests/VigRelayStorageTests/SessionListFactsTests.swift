import Foundation
import Testing
import VigRelayCore
import VigRelayStorage

/// What `GET /v1/sessions` reads from the files of a session (RecordingReader+SessionList.swift).
struct SessionListFactsTests {
    let sid = Fixture.sessionID

    func log(_ tmp: TempDirectory, _ event: String, _ fields: [String: any Sendable] = [:], at seconds: TimeInterval) throws {
        try SessionEventLog(dataDir: tmp.path).append(sessionID: sid, event: event, fields: fields, at: Fixture.t0.addingTimeInterval(seconds))
    }

    @Test func aSessionWithoutFilesHasNothing() throws {
        let tmp = try TempDirectory()
        #expect(RecordingReader(dataDir: tmp.path).diskFacts(sessionID: sid) == SessionDiskFacts())
        #expect(RecordingReader(dataDir: tmp.path).diskFacts(sessionID: "../etc") == SessionDiskFacts())
    }

    @Test func aCreatedSessionNobodyJoined() throws {
        let tmp = try TempDirectory()
        try log(tmp, "created", at: 0)
        let facts = RecordingReader(dataDir: tmp.path).diskFacts(sessionID: sid)
        #expect(!facts.joined && facts.consent == nil && facts.lastEventAt == Fixture.t0)
    }

    @Test func recordingsClipsConsentAndActivity() throws {
        let tmp = try TempDirectory()
        try log(tmp, "created", at: 0)
        try log(tmp, "joined", ["role": "family"], at: 1)
        try log(tmp, "consent", ["recording": true, "childAgreed": true], at: 2)
        let webm = try Fixture.webmFixture()
        let done = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: Fixture.recordingID, startedAt: Fixture.t0)
        try done.appendWebM(webm[...], chunk: 1000)
        _ = try done.finish(at: Fixture.t0.addingTimeInterval(5))
        let reader = RecordingReader(dataDir: tmp.path)
        let clip = try reader.planClip(ClipRequest(sessionID: sid, recordingID: Fixture.recordingID, fromMs: 1200, toMs: 2600, note: ""),
                                       clipID: "bbbbbbbbbbbbbbbb", now: Fixture.t0).get()
        #expect(try reader.store.saveClip(clip, keyring: nil))
        // A second recording still being written: counted by its file's size as of its last sync (its
        // manifest says 0 so far).
        let running = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: Fixture.otherRecordingID, startedAt: Fixture.t0)
        try running.appendWebM(webm[..<3000], chunk: 1000)
        try running.sync()
        for i in 0..<5 { try log(tmp, "mark", ["recordingId": Fixture.recordingID, "markId": "aaaaaaaaaaaaaaa\(i)", "atMs": i], at: 10 + Double(i)) }

        let facts = reader.diskFacts(sessionID: sid)
        #expect(Set(facts.recordingIDs) == [Fixture.recordingID, Fixture.otherRecordingID])
        #expect(facts.recordingBytes == Int64(webm.count) + 3000)
        #expect(facts.deletedRecordings == 0 && facts.clips == 1)
        #expect(facts.consent == ConsentAnswer(recording: true, childAgreed: true))
        #expect(facts.joined)
        #expect(facts.lastEventAt == Fixture.t0.addingTimeInterval(14))
        _ = running.fail(reason: "test", at: Fixture.t0)
    }

    @Test func withdrawalLeavesDeletedRecordingsAndAWithdrawnConsent() throws {
        let tmp = try TempDirectory()
        try log(tmp, "joined", ["role": "family"], at: 1)
        try log(tmp, "consent", ["recording": true, "childAgreed": false], at: 2)
        let file = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: Fixture.recordingID, startedAt: Fixture.t0)
        try file.appendWebM(try Fixture.webmFixture()[...], chunk: 4000)
        _ = try file.finish(at: Fixture.t0)
        try log(tmp, "consent", ["recording": false, "childAgreed": false], at: 3)
        _ = try RecordingStore(dataDir: tmp.path).deleteAll(sessionID: sid, at: Fixture.t0)
        let facts = RecordingReader(dataDir: tmp.path).diskFacts(sessionID: sid)
        #expect(facts.recordingIDs.isEmpty && facts.recordingBytes == 0 && facts.deletedRecordings == 1)
        #expect(facts.consent == ConsentAnswer(recording: false))
    }

    @Test func aDamagedLineNewerThanTheConsentLeavesConsentInDoubt() throws {
        let tmp = try TempDirectory()
        try log(tmp, "joined", at: 1)
        try log(tmp, "consent", ["recording": true, "childAgreed": false], at: 2)
        let path = "\(tmp.path)/sessions/\(sid)/session.jsonl"
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("{\"time\":\"2027-01-15T08:00:03.000Z\",\"ev\n".utf8))
        try handle.close()
        try log(tmp, "left", at: 4)
        let facts = RecordingReader(dataDir: tmp.path).diskFacts(sessionID: sid)
        #expect(facts.consent == nil, "the damaged line may have been a withdrawal")
        #expect(facts.joined && facts.lastEventAt == Fixture.t0.addingTimeInterval(4))
    }

    @Test func aPageBodyCombinesMemoryAndDisk() throws {
        let tmp = try TempDirectory()
        try log(tmp, "joined", at: 1)
        let session = SessionRecord(id: sid, owner: "pr-1", createdAt: Fixture.t0, inviteExpiresAt: Fixture.t0, caseRef: "fam-7")
        let page = SessionListPage(items: [.init(session: session, live: SessionLiveState())], total: 1, limit: 50, nextBefore: nil)
        let body = RecordingReader(dataDir: tmp.path).sessionList(page)
        let entries = try #require(body["sessions"] as? [[String: Any]])
        #expect(entries.count == 1)
        #expect(entries[0]["state"] as? String == "ended" && entries[0]["consent"] as? String == "none")
        #expect(entries[0]["caseRef"] as? String == "fam-7" && entries[0]["recordingState"] as? String == "idle")
        #expect(JSONSerialization.isValidJSONObject(body))
    }
}
