import Foundation
import Testing
import VigRelayCore
import VigRelayStorage

/// Write errors and the quota: thrown with their cause, nothing half-written, `fail` keeps the data.
struct RecordingFileFailureTests {
    let sid = Fixture.sessionID
    let rid = Fixture.recordingID

    @Test func failKeepsWhatWasWrittenAndMarksTheManifestFailed() throws {
        let tmp = try TempDirectory()
        let file = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: rid, startedAt: Fixture.t0)
        try file.append(Fixture.webmStart, timeUs: 0, newPart: true)
        try file.append([1, 2, 3], timeUs: 2_000_000)
        let failed = file.fail(reason: "disk writer stopped", at: Fixture.t0.addingTimeInterval(3))
        #expect(failed.state == .failed)
        #expect(failed.failure == "disk writer stopped")
        #expect(failed.stoppedAt == Fixture.t0.addingTimeInterval(3))
        #expect((failed.bytes, failed.frames, failed.durationMs) == (12, 2, 2000))

        let store = RecordingStore(dataDir: tmp.path)
        #expect(store.manifest(sessionID: sid, recordingID: rid) == failed)
        let media = try #require(store.mediaPath(sessionID: sid, recordingID: rid))
        #expect(fileBytes(media) == Fixture.webmStart + [1, 2, 3])
        #expect(store.index(sessionID: sid, recordingID: rid)?.frames(part: 1).count == 2)
        #expect(throws: StorageError.self) { try file.append([4]) }
        #expect(file.fail(reason: "again", at: Fixture.t0.addingTimeInterval(9)) == failed, "a second fail changes nothing")
    }

    @Test func quotaExceededRefusesThePayloadWhole() throws {
        let tmp = try TempDirectory()
        let file = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: rid, startedAt: Fixture.t0, quotaBytes: 20)
        try file.append(Fixture.webmStart, newPart: true)
        try file.append([UInt8](repeating: 7, count: 11))
        var thrown: StorageError?
        do { try file.append([1]) } catch let error as StorageError { thrown = error }
        guard case .quotaExceeded(let path, let limit) = thrown else {
            Issue.record("expected quotaExceeded, got \(String(describing: thrown))")
            return
        }
        #expect(limit == 20)
        #expect(path == Fixture.recordingsDir(tmp) + "/\(rid).webm")
        #expect(thrown?.description.contains("quota of 20 bytes") == true)
        // A new part counts against the same quota.
        #expect(throws: StorageError.self) { try file.append(Fixture.mp4Start, newPart: true) }

        let failed = file.fail(reason: "\(thrown!)", at: Fixture.t0)
        #expect(failed.state == .failed && failed.bytes == 20 && failed.parts.count == 1)
        #expect(fileBytes(Fixture.recordingsDir(tmp) + "/\(rid).webm") == Fixture.webmStart + [UInt8](repeating: 7, count: 11))
        #expect(fileText(Fixture.recordingsDir(tmp) + "/\(rid).index") == "F 1 0 9 0 0 0\nF 1 9 11 0 0 0\n")
    }

    /// A real ENOSPC: part 2's file name is a link to /dev/full, where every write fails. The media
    /// is held in memory until the sync (`DirectAppendFile`), so the error surfaces there.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/dev/full")))
    func diskFullSurfacesWithErrnoTextAndPartOneStaysReadable() throws {
        let tmp = try TempDirectory()
        let file = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: rid, startedAt: Fixture.t0)
        try file.append(Fixture.webmStart, newPart: true)
        let dir = Fixture.recordingsDir(tmp)
        try FileManager.default.createSymbolicLink(atPath: dir + "/\(rid).2.webm", withDestinationPath: "/dev/full")

        try file.append(Fixture.webmStart + [5], newPart: true)
        var thrown: StorageError?
        do { try file.sync() } catch let error as StorageError { thrown = error }
        guard case .writeFailed(let path, let reason) = thrown else {
            Issue.record("expected writeFailed, got \(String(describing: thrown))")
            return
        }
        #expect(path == dir + "/\(rid).2.webm")
        #expect(reason == "No space left on device")

        let failed = file.fail(reason: reason, at: Fixture.t0.addingTimeInterval(3))
        #expect(failed.state == .failed && failed.failure == "No space left on device")
        #expect(failed.parts.map(\.bytes) == [9], "totals cut back to what reached the disk (part 2 is not a regular file)")
        #expect(fileBytes(dir + "/\(rid).webm") == Fixture.webmStart)
        #expect(fileText(dir + "/\(rid).index") == "F 1 0 9 0 0 0\n", "no G or F line for bytes never written")
        let store = RecordingStore(dataDir: tmp.path)
        #expect(store.mediaPath(sessionID: sid, recordingID: rid, part: 1) == dir + "/\(rid).webm")
        #expect(store.mediaPath(sessionID: sid, recordingID: rid, part: 2) == nil, "not a regular file")
    }

    @Test func openErrorsSurfaceWithErrnoText() throws {
        let tmp = try TempDirectory()
        let file = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: rid, startedAt: Fixture.t0)
        try FileManager.default.createDirectory(atPath: Fixture.recordingsDir(tmp) + "/\(rid).bin", withIntermediateDirectories: false)
        #expect {
            try file.append(Fixture.otherStart, newPart: true)
        } throws: { error in
            "\(error)".contains("\(rid).bin: Is a directory")
        }
        #expect(file.fail(reason: "Is a directory", at: Fixture.t0).state == .failed)
    }
}
