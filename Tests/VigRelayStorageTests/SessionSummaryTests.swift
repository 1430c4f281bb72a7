import Foundation
import Testing
import VigRelayCore
import VigRelayStorage

/// The session summary of `GET /v1/sessions/{id}` read from the files (RecordingReader+Summary.swift).
struct SessionSummaryTests {
    let sid = Fixture.sessionID
    let rid = Fixture.recordingID
    let rid2 = Fixture.otherRecordingID
    let session = SessionRecord(id: Fixture.sessionID, owner: "pr-1", createdAt: Fixture.t0,
                                inviteExpiresAt: Fixture.t0.addingTimeInterval(86400), caseRef: "fam-042", cycle: 2, purpose: .filming)

    func log(_ tmp: TempDirectory, _ event: String, _ fields: [String: any Sendable], at seconds: TimeInterval) throws {
        try SessionEventLog(dataDir: tmp.path).append(sessionID: sid, event: event, fields: fields, at: Fixture.t0.addingTimeInterval(seconds))
    }

    /// A mark as the writer stores it: ids and time in the log, the note beside the recording.
    func mark(_ tmp: TempDirectory, _ recordingID: String, _ markID: String, atMs: Int, note: String, at seconds: TimeInterval) throws {
        try log(tmp, "mark", ["recordingId": recordingID, "markId": markID, "atMs": atMs], at: seconds)
        try MarkNotes(dataDir: tmp.path).append(sessionID: sid, recordingID: recordingID, markID: markID, note: note)
    }

    /// A finished recording of just the WebM fixture's start, from `seconds` to a second later.
    func finishedRecording(_ tmp: TempDirectory, _ recordingID: String, at seconds: TimeInterval = 0) throws {
        let file = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: recordingID, startedAt: Fixture.t0.addingTimeInterval(seconds))
        try file.append(Fixture.webmStart, newPart: true)
        _ = try file.finish(at: Fixture.t0.addingTimeInterval(seconds + 1))
    }

    @Test func aSessionWithNothingYet() throws {
        let tmp = try TempDirectory()
        let bare = SessionRecord(id: sid, owner: "pr-1", createdAt: Fixture.t0, inviteExpiresAt: Fixture.t0)
        let summary = RecordingReader(dataDir: tmp.path).summary(of: bare)
        #expect(summary["sessionId"] as? String == sid)
        #expect(summary["createdAt"] as? String == "2027-01-15T08:00:00.000Z")
        #expect(summary["caseRef"] == nil && summary["cycle"] == nil && summary["purpose"] == nil)
        #expect(summary["consent"] as? [String: Bool] == ["recording": false])
        #expect((summary["events"] as? [String: Any])?["count"] as? Int == 0)
        #expect((summary["recordings"] as? [Any])?.isEmpty == true)
        #expect((summary["marks"] as? [Any])?.isEmpty == true)
        #expect((summary["clips"] as? [Any])?.isEmpty == true)
        #expect(JSONSerialization.isValidJSONObject(summary))
    }

    @Test func consentEventsMarksRecordingsAndClips() throws {
        let tmp = try TempDirectory()
        try log(tmp, "consent", ["recording": true, "childAgreed": false], at: 1)
        try log(tmp, "consent", ["recording": true, "childAgreed": true], at: 2)
        let webm = try Fixture.webmFixture()
        let file = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: rid, startedAt: Fixture.t0.addingTimeInterval(3))
        try file.appendWebM(webm[...], chunk: 1000)
        _ = try file.finish(at: Fixture.t0.addingTimeInterval(10))
        try log(tmp, "recording_started", ["recordingId": rid], at: 3)
        try mark(tmp, rid, "aaaaaaaaaaaaaaaa", atMs: 1500, note: "turn-taking", at: 4)
        try log(tmp, "recording_stopped", ["recordingId": rid], at: 10)
        let reader = RecordingReader(dataDir: tmp.path)
        let clip = try reader.planClip(ClipRequest(sessionID: sid, recordingID: rid, fromMs: 1200, toMs: 2600, note: "smile"),
                                       clipID: "bbbbbbbbbbbbbbbb", now: Fixture.t0.addingTimeInterval(20)).get()
        #expect(try reader.store.saveClip(clip, keyring: nil))

        let summary = reader.summary(of: session)
        #expect((summary["caseRef"] as? String, summary["cycle"] as? Int, summary["purpose"] as? String) == ("fam-042", 2, "filming"))
        let consent = try #require(summary["consent"] as? [String: Any])
        #expect(consent["recording"] as? Bool == true && consent["childAgreed"] as? Bool == true)
        #expect(consent["at"] as? String == "2027-01-15T08:00:02.000Z", "the last consent event counts")
        let events = try #require(summary["events"] as? [String: Any])
        #expect(events["count"] as? Int == 5)
        #expect(events["byType"] as? [String: Int] == ["consent": 2, "recording_started": 1, "mark": 1, "recording_stopped": 1])
        #expect(events["firstAt"] as? String == "2027-01-15T08:00:01.000Z")
        #expect(events["lastAt"] as? String == "2027-01-15T08:00:10.000Z")

        let recordings = try #require(summary["recordings"] as? [[String: Any]])
        #expect(recordings.count == 1)
        let r = recordings[0]
        #expect(r["recordingId"] as? String == rid && r["state"] as? String == "complete" && r["mediaType"] as? String == "video/webm")
        #expect(r["bytes"] as? Int64 == Int64(webm.count))
        #expect(r["durationMs"] as? Int64 == 3500)
        #expect(r["startedAt"] as? String == "2027-01-15T08:00:03.000Z" && r["stoppedAt"] as? String == "2027-01-15T08:00:10.000Z")
        let parts = try #require(r["parts"] as? [[String: Any]])
        #expect(parts.count == 1)
        #expect(parts[0]["number"] as? Int == 1 && parts[0]["startMs"] as? Int64 == 0 && parts[0]["bytes"] as? Int64 == Int64(webm.count))

        let marks = try #require(summary["marks"] as? [[String: Any]])
        #expect(marks.count == 1)
        #expect(marks[0]["markId"] as? String == "aaaaaaaaaaaaaaaa" && marks[0]["atMs"] as? Int == 1500 && marks[0]["note"] as? String == "turn-taking")
        let clips = try #require(summary["clips"] as? [[String: Any]])
        #expect(clips.count == 1)
        #expect(clips[0]["clipId"] as? String == "bbbbbbbbbbbbbbbb" && clips[0]["note"] as? String == "smile")
        #expect(clips[0]["actualFromMs"] as? Int64 == 1000 && clips[0]["createdAt"] as? String == "2027-01-15T08:00:20.000Z")
        #expect(JSONSerialization.isValidJSONObject(summary))
    }

    @Test func aRecordingBeingWrittenHasItsTotalsSoFar() throws {
        let tmp = try TempDirectory()
        let webm = try Fixture.webmFixture()
        let file = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: rid, startedAt: Fixture.t0)
        try file.appendWebM(webm[..<8000], chunk: 1000)
        try file.sync()
        let r = try #require((RecordingReader(dataDir: tmp.path).summary(of: session)["recordings"] as? [[String: Any]])?.first)
        #expect(r["state"] as? String == "recording")
        #expect(r["bytes"] as? Int64 == 8000, "counted from the index, not the manifest written when the part opened")
        #expect(r["frames"] as? Int == 8)
        #expect(r["durationMs"] as? Int64 == file.manifest.durationMs)
        #expect(r["stoppedAt"] == nil)
        _ = file.fail(reason: "test over", at: Fixture.t0)
    }

    @Test func deletedRecordingsShowNoMediaAndTheirMarksAreLeftOut() throws {
        let tmp = try TempDirectory()
        try finishedRecording(tmp, rid)
        try mark(tmp, rid, "aaaaaaaaaaaaaaaa", atMs: 10, note: "gone", at: 1)
        _ = try RecordingStore(dataDir: tmp.path).deleteAll(sessionID: sid, at: Fixture.t0.addingTimeInterval(2))
        #expect(MarkNotes(dataDir: tmp.path).notes(sessionID: sid, recordingID: rid).isEmpty, "notes are deleted with the recording")
        try finishedRecording(tmp, rid2, at: 3)
        try mark(tmp, rid2, "cccccccccccccccc", atMs: 20, note: "kept", at: 4)

        let summary = RecordingReader(dataDir: tmp.path).summary(of: session)
        let recordings = try #require(summary["recordings"] as? [[String: Any]])
        #expect(recordings.map { $0["recordingId"] as? String } == [rid, rid2])
        #expect(Set(recordings[0].keys) == ["recordingId", "state", "startedAt", "stoppedAt"])
        #expect(recordings[0]["state"] as? String == "deleted")
        #expect(recordings[1]["state"] as? String == "complete")
        let marks = try #require(summary["marks"] as? [[String: Any]])
        #expect(marks.map { $0["markId"] as? String } == ["cccccccccccccccc"])
    }

    /// A finished recording with two marks: `aaaa…` at 10 ms with the note `first`, `bbbb…` at 20 ms
    /// with "kept"; and its notes.
    func twoMarks(_ tmp: TempDirectory, first: String) throws -> MarkNotes {
        try finishedRecording(tmp, rid)
        try mark(tmp, rid, "aaaaaaaaaaaaaaaa", atMs: 10, note: first, at: 1)
        try mark(tmp, rid, "bbbbbbbbbbbbbbbb", atMs: 20, note: "kept", at: 2)
        return MarkNotes(dataDir: tmp.path)
    }

    /// A removed mark (its `mark_removed` logged, its note erased as the writer does it) is no longer
    /// listed; the recording's other marks keep their notes, and the file's other lines are untouched.
    @Test func removedMarksAreLeftOutAndTheirNotesErased() throws {
        let tmp = try TempDirectory()
        let notes = try twoMarks(tmp, first: "stray")
        let path = try #require(notes.paths.marksFile(sessionID: sid, recordingID: rid))
        let torn = Array("{\"time\":\"2027".utf8)  // a line a crash cut short: kept as it is
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(torn + [0x0a]))
        handle.closeFile()

        try log(tmp, "mark_removed", ["recordingId": rid, "markId": "aaaaaaaaaaaaaaaa"], at: 3)
        #expect(try notes.remove(sessionID: sid, recordingID: rid, markID: "aaaaaaaaaaaaaaaa"))
        #expect(try !notes.remove(sessionID: sid, recordingID: rid, markID: "aaaaaaaaaaaaaaaa"), "erased already")
        #expect(try !notes.remove(sessionID: sid, recordingID: rid2, markID: "aaaaaaaaaaaaaaaa"), "no notes file")
        #expect(notes.notes(sessionID: sid, recordingID: rid) == ["bbbbbbbbbbbbbbbb": "kept"])
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!text.contains("stray") && text.hasSuffix("\n") && text.contains(String(decoding: torn, as: UTF8.self) + "\n"))

        let marks = try #require(RecordingReader(dataDir: tmp.path).summary(of: session)["marks"] as? [[String: Any]])
        #expect(marks.map { $0["markId"] as? String } == ["bbbbbbbbbbbbbbbb"])
        #expect(marks.first?["note"] as? String == "kept")
    }

    @Test func aChangedNoteReplacesTheOldOneInTheFile() throws {
        let tmp = try TempDirectory()
        let notes = try twoMarks(tmp, first: "she looks awya")
        try notes.replace(sessionID: sid, recordingID: rid, markID: "aaaaaaaaaaaaaaaa", note: "she looks away, then back")
        #expect(notes.notes(sessionID: sid, recordingID: rid) == ["aaaaaaaaaaaaaaaa": "she looks away, then back", "bbbbbbbbbbbbbbbb": "kept"])
        let path = try #require(notes.paths.marksFile(sessionID: sid, recordingID: rid))
        #expect(!(try String(contentsOfFile: path, encoding: .utf8)).contains("awya"), "the old text is not left in the file")
        let marks = try #require(RecordingReader(dataDir: tmp.path).summary(of: session)["marks"] as? [[String: Any]])
        #expect(marks.map { $0["note"] as? String } == ["she looks away, then back", "kept"])
        // A mark without a note line (none on disk for its recording yet) gets one.
        try notes.replace(sessionID: sid, recordingID: rid2, markID: "cccccccccccccccc", note: "first")
        #expect(notes.notes(sessionID: sid, recordingID: rid2) == ["cccccccccccccccc": "first"])
    }
}
