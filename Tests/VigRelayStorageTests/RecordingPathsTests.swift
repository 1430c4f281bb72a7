import Foundation
import Testing
import VigRelayCore
import VigRelayStorage

/// Paths are made only from valid ids, in the documented layout.
struct RecordingPathsTests {
    let paths = RecordingPaths(dataDir: "/data")
    let sid = Fixture.sessionID
    let rid = Fixture.recordingID

    @Test func layout() {
        #expect(paths.eventLog(sid) == "/data/sessions/\(sid)/session.jsonl")
        #expect(paths.mediaFile(sessionID: sid, recordingID: rid, part: 1, container: .webm) == "/data/sessions/\(sid)/recordings/\(rid).webm")
        #expect(paths.mediaFile(sessionID: sid, recordingID: rid, part: 2, container: .webm) == "/data/sessions/\(sid)/recordings/\(rid).2.webm")
        #expect(paths.mediaFile(sessionID: sid, recordingID: rid, part: 3, container: .mp4) == "/data/sessions/\(sid)/recordings/\(rid).3.mp4")
        #expect(paths.mediaFile(sessionID: sid, recordingID: rid, part: 1, container: .other) == "/data/sessions/\(sid)/recordings/\(rid).bin")
        #expect(paths.indexFile(sessionID: sid, recordingID: rid) == "/data/sessions/\(sid)/recordings/\(rid).index")
        #expect(paths.manifestFile(sessionID: sid, recordingID: rid) == "/data/sessions/\(sid)/recordings/\(rid).json")
        #expect(paths.clipRecordFile(sessionID: sid, clipID: rid) == "/data/sessions/\(sid)/clips/\(rid).json")
    }

    @Test func newIDsAreValid() {
        let ids = (0..<50).map { _ in Identifiers.newRecordingID() } + (0..<50).map { _ in Identifiers.newClipID() }
        #expect(ids.allSatisfy { Identifiers.isValidRecordingID($0) && Identifiers.isValidClipID($0) })
        #expect(Set(ids).count == ids.count)
    }

    @Test(arguments: Fixture.badIDs)
    func invalidRecordingOrClipIDsNeverMakePaths(_ bad: String) {
        #expect(!Identifiers.isValidRecordingID(bad))
        #expect(paths.mediaFile(sessionID: sid, recordingID: bad, part: 1, container: .webm) == nil)
        #expect(paths.indexFile(sessionID: sid, recordingID: bad) == nil)
        #expect(paths.manifestFile(sessionID: sid, recordingID: bad) == nil)
        #expect(paths.clipRecordFile(sessionID: sid, clipID: bad) == nil)
        #expect(RecordingPaths.mediaFileName(recordingID: bad, part: 1, container: .webm) == nil)
    }

    @Test(arguments: Fixture.badSessionIDs)
    func invalidSessionIDsNeverMakePaths(_ bad: String) {
        #expect(paths.sessionDirectory(bad) == nil)
        #expect(paths.eventLog(bad) == nil)
        #expect(paths.recordingsDirectory(bad) == nil)
        #expect(paths.clipsDirectory(bad) == nil)
        #expect(paths.mediaFile(sessionID: bad, recordingID: rid, part: 1, container: .webm) == nil)
        #expect(paths.indexFile(sessionID: bad, recordingID: rid) == nil)
        #expect(paths.manifestFile(sessionID: bad, recordingID: rid) == nil)
        #expect(paths.clipRecordFile(sessionID: bad, clipID: rid) == nil)
    }

    @Test func partNumbersStartAtOne() {
        #expect(paths.mediaFile(sessionID: sid, recordingID: rid, part: 0, container: .webm) == nil)
        #expect(paths.mediaFile(sessionID: sid, recordingID: rid, part: -1, container: .webm) == nil)
    }

    @Test func manifestFileNamesAreCheckedAgainstTheIDs() {
        #expect(RecordingPaths.isMediaFileName("\(rid).webm", recordingID: rid, part: 1))
        #expect(RecordingPaths.isMediaFileName("\(rid).2.mp4", recordingID: rid, part: 2))
        #expect(!RecordingPaths.isMediaFileName("\(rid).2.mp4", recordingID: rid, part: 1))
        #expect(!RecordingPaths.isMediaFileName("../\(rid).webm", recordingID: rid, part: 1))
        #expect(!RecordingPaths.isMediaFileName("\(rid).json", recordingID: rid, part: 1))
        #expect(!RecordingPaths.isMediaFileName("\(Fixture.otherRecordingID).webm", recordingID: rid, part: 1))
    }
}
