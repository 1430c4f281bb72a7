import Foundation
import Testing
import VigRelayCore
import VigRelayStorage

/// Listing, download paths, deletion and retention.
struct RecordingStoreTests {
    let sid = Fixture.sessionID
    let rid = Fixture.recordingID
    let rid2 = Fixture.otherRecordingID

    /// Session `sid` with a finished one-part recording `rid`, a recording `rid2` of two parts still
    /// being written, and a clip.
    func populate(_ tmp: TempDirectory) throws -> RecordingFile {
        let a = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: rid, startedAt: Fixture.t0)
        try a.append(Fixture.webmStart, newPart: true)
        _ = try a.finish(at: Fixture.t0.addingTimeInterval(1))
        let b = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: rid2, startedAt: Fixture.t0.addingTimeInterval(2))
        try b.append(Fixture.webmStart, newPart: true)
        try b.append(Fixture.mp4Start, newPart: true)
        try b.sync()
        let clips = "\(tmp.path)/sessions/\(sid)/clips"
        try FileManager.default.createDirectory(atPath: clips, withIntermediateDirectories: true)
        try Data(Fixture.webmStart).write(to: URL(fileURLWithPath: clips + "/0123456789abcdef.webm"))
        return b
    }

    @Test func listsManifestsAndFindsParts() throws {
        let tmp = try TempDirectory()
        let writing = try populate(tmp)
        let store = RecordingStore(dataDir: tmp.path)
        #expect(store.sessionIDs() == [sid])
        #expect(store.manifests(sessionID: sid).map(\.recordingId) == [rid, rid2])
        #expect(store.manifests(sessionID: sid).map(\.state) == [.complete, .recording])
        let dir = Fixture.recordingsDir(tmp)
        #expect(store.mediaPath(sessionID: sid, recordingID: rid) == dir + "/\(rid).webm")
        #expect(store.mediaPath(sessionID: sid, recordingID: rid2, part: 2) == dir + "/\(rid2).2.mp4")
        #expect(store.mediaPath(sessionID: sid, recordingID: rid2, part: 3) == nil)
        #expect(store.mediaPath(sessionID: sid, recordingID: rid, part: 0) == nil)
        #expect(store.mediaPath(sessionID: Fixture.otherSessionID, recordingID: rid) == nil)
        #expect(store.index(sessionID: sid, recordingID: rid2)?.gaps.map(\.part) == [2])
        #expect(store.manifests(sessionID: Fixture.otherSessionID).isEmpty)
        _ = writing.fail(reason: "test over", at: Fixture.t0)
    }

    @Test(arguments: Fixture.badIDs)
    func invalidRecordingIDsNeverReachAFile(_ bad: String) throws {
        let tmp = try TempDirectory()
        _ = try populate(tmp).fail(reason: "test", at: Fixture.t0)
        let store = RecordingStore(dataDir: tmp.path)
        #expect(store.manifest(sessionID: sid, recordingID: bad) == nil)
        #expect(store.mediaPath(sessionID: sid, recordingID: bad) == nil)
        #expect(store.index(sessionID: sid, recordingID: bad) == nil)
    }

    @Test(arguments: Fixture.badSessionIDs)
    func invalidSessionIDsNeverReachAFile(_ bad: String) throws {
        let tmp = try TempDirectory()
        _ = try populate(tmp).fail(reason: "test", at: Fixture.t0)
        let store = RecordingStore(dataDir: tmp.path)
        #expect(store.manifests(sessionID: bad).isEmpty)
        #expect(store.manifest(sessionID: bad, recordingID: rid) == nil)
        #expect(store.mediaPath(sessionID: bad, recordingID: rid) == nil)
        #expect(store.index(sessionID: bad, recordingID: rid) == nil)
        #expect(!store.hasFiles(sessionID: bad))
        #expect(throws: StorageError.self) { try store.deleteAll(sessionID: bad, at: Fixture.t0) }
        #expect(store.hasFiles(sessionID: sid))
    }

    /// A manifest edited to point elsewhere is not followed.
    @Test func tamperedManifestFileNamesAreNotFollowed() throws {
        let tmp = try TempDirectory()
        let file = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: rid, startedAt: Fixture.t0)
        try file.append(Fixture.webmStart, newPart: true)
        var manifest = try file.finish(at: Fixture.t0)
        let dir = Fixture.recordingsDir(tmp)
        for name in ["../../../secret", "\(rid2).webm", "\(rid).index"] {
            manifest.parts[0].file = name
            try RecordingManifestFile.write(manifest, to: dir + "/\(rid).json")
            #expect(RecordingStore(dataDir: tmp.path).mediaPath(sessionID: sid, recordingID: rid) == nil)
        }
        // A manifest copied under another recording's name is not that recording's.
        try FileManager.default.copyItem(atPath: dir + "/\(rid).json", toPath: dir + "/\(rid2).json")
        #expect(RecordingStore(dataDir: tmp.path).manifest(sessionID: sid, recordingID: rid2) == nil)
    }

    @Test func deleteAllLeavesNoMediaIndexOrClipFiles() throws {
        let tmp = try TempDirectory()
        let writing = try populate(tmp)
        _ = writing.fail(reason: "consent withdrawn", at: Fixture.t0.addingTimeInterval(3))
        let dir = Fixture.recordingsDir(tmp)
        try Data("stray".utf8).write(to: URL(fileURLWithPath: dir + "/\(rid).json.tmp"))
        try SessionEventLog(dataDir: tmp.path).append(sessionID: sid, event: "consent", fields: ["recording": false], at: Fixture.t0)
        let store = RecordingStore(dataDir: tmp.path)

        let deleted = try store.deleteAll(sessionID: sid, at: Fixture.t0.addingTimeInterval(4))
        #expect(deleted == [rid, rid2])
        #expect(names(dir) == ["\(rid).json", "\(rid2).json"])
        #expect(names("\(tmp.path)/sessions/\(sid)/clips").isEmpty)
        #expect(!store.hasFiles(sessionID: sid))
        let manifests = store.manifests(sessionID: sid)
        #expect(manifests.map(\.state) == [.deleted, .deleted])
        #expect(manifests.map(\.stoppedAt) == [Fixture.t0.addingTimeInterval(1), Fixture.t0.addingTimeInterval(3)])
        #expect(store.mediaPath(sessionID: sid, recordingID: rid) == nil)
        #expect(store.index(sessionID: sid, recordingID: rid) == nil)
        #expect(SessionEventLog(dataDir: tmp.path).read(sessionID: sid).count == 1, "the event log stays")
        #expect(try store.deleteAll(sessionID: sid, at: Fixture.t0.addingTimeInterval(5)) == [])
    }

    @Test func deleteAllDuringARecordingMarksItDeleted() throws {
        let tmp = try TempDirectory()
        let writing = try populate(tmp)
        let store = RecordingStore(dataDir: tmp.path)
        #expect(try store.deleteAll(sessionID: sid, at: Fixture.t0.addingTimeInterval(9)) == [rid, rid2])
        #expect(store.manifest(sessionID: sid, recordingID: rid2)?.stoppedAt == Fixture.t0.addingTimeInterval(9))
        #expect(!store.hasFiles(sessionID: sid))
        _ = writing.fail(reason: "deleted", at: Fixture.t0)
    }

    @Test func retentionDeletesRecordingsOfSessionsThatEndedBeforeTheCutoff() throws {
        let tmp = try TempDirectory()
        _ = try populate(tmp).finish(at: Fixture.t0.addingTimeInterval(3))
        let log = SessionEventLog(dataDir: tmp.path)
        try log.append(sessionID: sid, event: "created", at: Fixture.t0)
        try log.append(sessionID: sid, event: "left", fields: ["role": "family"], at: Fixture.t0.addingTimeInterval(60))
        let recent = try RecordingFile(dataDir: tmp.path, sessionID: Fixture.otherSessionID, recordingID: rid, startedAt: Fixture.t0)
        try recent.append(Fixture.webmStart, newPart: true)
        _ = try recent.finish(at: Fixture.t0)
        try log.append(sessionID: Fixture.otherSessionID, event: "left", at: Fixture.t0.addingTimeInterval(86_400))

        let store = RecordingStore(dataDir: tmp.path)
        let cutoff = Fixture.t0.addingTimeInterval(3600)
        #expect(store.retentionScan(cutoff) == .init(due: [alone(sid)]))
        let done = store.deleteIfCaseEndedBefore(cutoff, alone(sid), at: Fixture.t0.addingTimeInterval(100_000))
        #expect(done == .init(sessionID: sid, caseLastActiveAt: Fixture.t0.addingTimeInterval(60), recordingIDs: [rid, rid2], failure: nil))
        #expect(!store.hasFiles(sessionID: sid))
        #expect(store.deleteIfCaseEndedBefore(cutoff, alone(Fixture.otherSessionID), at: Fixture.t0) == nil, "ended after the cutoff")
        #expect(store.manifests(sessionID: Fixture.otherSessionID).map(\.state) == [.complete])
        #expect(store.retentionScan(cutoff) == .init(), "nothing left to delete")
        #expect(store.deleteIfCaseEndedBefore(cutoff, alone(sid), at: Fixture.t0.addingTimeInterval(100_001)) == nil)
    }

    @Test func retentionSkipsSessionsStillRecording() throws {
        let tmp = try TempDirectory()
        let writing = try populate(tmp)
        try SessionEventLog(dataDir: tmp.path).append(sessionID: sid, event: "created", at: Fixture.t0)
        let store = RecordingStore(dataDir: tmp.path)
        #expect(store.retentionScan(Fixture.t0.addingTimeInterval(10)) == .init(heldByUnfinished: [sid: [rid2]]),
                "held back, and said so")
        #expect(store.deleteIfCaseEndedBefore(Fixture.t0.addingTimeInterval(10), alone(sid), at: Fixture.t0.addingTimeInterval(10)) == nil)
        #expect(store.hasFiles(sessionID: sid))
        _ = writing.fail(reason: "test over", at: Fixture.t0)
    }

    /// A session found due and used again before its deletion runs (a new event) is not deleted.
    @Test func retentionChecksAgainBeforeDeleting() throws {
        let tmp = try TempDirectory()
        _ = try populate(tmp).finish(at: Fixture.t0.addingTimeInterval(3))
        let log = SessionEventLog(dataDir: tmp.path)
        try log.append(sessionID: sid, event: "left", at: Fixture.t0)
        let store = RecordingStore(dataDir: tmp.path)
        let cutoff = Fixture.t0.addingTimeInterval(3600)
        #expect(store.retentionScan(cutoff) == .init(due: [alone(sid)]))
        try log.append(sessionID: sid, event: "joined", at: Fixture.t0.addingTimeInterval(7200))
        #expect(store.deleteIfCaseEndedBefore(cutoff, alone(sid), at: Fixture.t0.addingTimeInterval(7200)) == nil)
        #expect(store.hasFiles(sessionID: sid))
    }

    /// A session without a caseRef is a case of its own.
    func alone(_ sessionID: String) -> RecordingStore.RetentionDue {
        .init(sessionID: sessionID, caseSessionIDs: [sessionID])
    }

    /// Saves a session record and one finished recording of it, and logs its end at `endedAt`.
    func recordedSession(_ tmp: TempDirectory, _ sessionID: String, owner: String, caseRef: String?, endedAt: Date) throws {
        try SessionStore(dataDir: tmp.path).save(SessionRecord(id: sessionID, owner: owner, createdAt: Fixture.t0,
                                                               inviteExpiresAt: Fixture.t0, caseRef: caseRef))
        let file = try RecordingFile(dataDir: tmp.path, sessionID: sessionID, recordingID: rid, startedAt: Fixture.t0)
        try file.append(Fixture.webmStart, newPart: true)
        _ = try file.finish(at: Fixture.t0)
        try SessionEventLog(dataDir: tmp.path).append(sessionID: sessionID, event: "left", at: endedAt)
    }

    /// Retention counts from a case's last session: an old filming is kept while its case goes on,
    /// and the same caseRef of another practitioner, or a session without one, is another case.
    @Test func retentionWaitsForTheCasesLastSession() throws {
        let tmp = try TempDirectory()
        let (old, later, otherOwner, noCase) = ("a0000000000000000000000000000000", "b0000000000000000000000000000000",
                                               "c0000000000000000000000000000000", "d0000000000000000000000000000000")
        try recordedSession(tmp, old, owner: "alice", caseRef: "fam-042", endedAt: Fixture.t0)
        try recordedSession(tmp, later, owner: "alice", caseRef: "fam-042", endedAt: Fixture.t0.addingTimeInterval(86_400))
        try recordedSession(tmp, otherOwner, owner: "bob", caseRef: "fam-042", endedAt: Fixture.t0)
        try recordedSession(tmp, noCase, owner: "alice", caseRef: nil, endedAt: Fixture.t0)
        let store = RecordingStore(dataDir: tmp.path)
        let oldCase = RecordingStore.RetentionDue(sessionID: old, caseSessionIDs: [old, later])

        let afterTheFirst = Fixture.t0.addingTimeInterval(3600)
        #expect(store.retentionScan(afterTheFirst) == .init(due: [alone(otherOwner), alone(noCase)]))
        #expect(store.deleteIfCaseEndedBefore(afterTheFirst, oldCase, at: afterTheFirst) == nil, "its case went on")

        let afterTheLast = Fixture.t0.addingTimeInterval(90_000)
        let laterCase = RecordingStore.RetentionDue(sessionID: later, caseSessionIDs: [old, later])
        #expect(store.retentionScan(afterTheLast) == .init(due: [oldCase, laterCase, alone(otherOwner), alone(noCase)]))
        let first = store.deleteIfCaseEndedBefore(afterTheLast, oldCase, at: afterTheLast)
        #expect(first == .init(sessionID: old, caseLastActiveAt: Fixture.t0.addingTimeInterval(86_400), recordingIDs: [rid]))
        // The first deletion's event is no activity: the case's other session is still due.
        try SessionEventLog(dataDir: tmp.path).append(sessionID: old, event: "recordings_deleted", at: afterTheLast)
        #expect(store.deleteIfCaseEndedBefore(afterTheLast, laterCase, at: afterTheLast)?.recordingIDs == [rid])
        #expect(!store.hasFiles(sessionID: old) && !store.hasFiles(sessionID: later))
    }

    /// `vigrelay retention`'s preview: the cases a pass would delete, each once with all its due
    /// sessions, oldest first, with their recordings' sizes; deleting nothing.
    @Test func thePreviewGroupsWhatIsDueByCase() throws {
        let tmp = try TempDirectory()
        let (old, later, otherOwner) = ("a0000000000000000000000000000000", "b0000000000000000000000000000000",
                                        "c0000000000000000000000000000000")
        try recordedSession(tmp, old, owner: "alice", caseRef: "fam-042", endedAt: Fixture.t0.addingTimeInterval(60))
        try recordedSession(tmp, later, owner: "alice", caseRef: "fam-042", endedAt: Fixture.t0.addingTimeInterval(86_400))
        try recordedSession(tmp, otherOwner, owner: "bob", caseRef: nil, endedAt: Fixture.t0)
        let store = RecordingStore(dataDir: tmp.path)
        let bytes = Int64(Fixture.webmStart.count)

        #expect(store.retentionPreview(Fixture.t0.addingTimeInterval(3600)) == .init(cases: [
            .init(owner: "bob", caseRef: nil, lastActiveAt: Fixture.t0, sessionIDs: [otherOwner], recordings: 1, bytes: bytes),
        ], heldByUnfinished: [:]), "alice's case went on")
        let preview = store.retentionPreview(Fixture.t0.addingTimeInterval(90_000))
        #expect(preview.cases == [
            .init(owner: "bob", caseRef: nil, lastActiveAt: Fixture.t0, sessionIDs: [otherOwner], recordings: 1, bytes: bytes),
            .init(owner: "alice", caseRef: "fam-042", lastActiveAt: Fixture.t0.addingTimeInterval(86_400), sessionIDs: [old, later],
                  recordings: 2, bytes: 2 * bytes),
        ])
        #expect(preview.sessions == 3 && preview.recordings == 3 && preview.bytes == 3 * bytes)
        #expect(store.hasFiles(sessionID: old) && store.hasFiles(sessionID: later) && store.hasFiles(sessionID: otherOwner))
    }
}
