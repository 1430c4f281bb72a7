import CLinuxIO
import Foundation
import Testing
import VigRelayCore
import VigRelayStorage

/// Syncing the open recordings once a second: one by one when few, with `syncfs` (media, then
/// index) when many, and what a failure costs.
struct RecordingSyncerTests {
    let sid = Fixture.sessionID

    /// A `syncfs` that is real and remembers, at each call, what the files held.
    final class FileSystemSyncs {
        var descriptors: [Int32] = []
        var observed: [[(media: [UInt8], index: String)]] = []
        var result: Int32? = nil  // nil: the real syncfs's; else returned instead, with errno EIO
        let look: () -> [(media: [UInt8], index: String)]

        init(look: @escaping () -> [(media: [UInt8], index: String)] = { [] }) { self.look = look }

        func call(_ fd: Int32) -> Int32 {
            descriptors.append(fd)
            observed.append(look())
            if let result {
                errno = EIO
                return result
            }
            return vr_syncfs(fd)
        }
    }

    /// `count` recordings in `tmp`, each with one payload appended (its media: the WebM start and
    /// its number), not yet synced.
    func recordings(_ tmp: TempDirectory, _ count: Int) throws -> [RecordingFile] {
        try (0..<count).map { n in
            let file = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: Self.id(n), startedAt: Fixture.t0)
            try file.append(Fixture.webmStart + [UInt8(n)], newPart: true)
            return file
        }
    }

    static func id(_ n: Int) -> String { String(format: "%016x", n) }

    /// What a recording's media and index files hold.
    static func onDisk(_ tmp: TempDirectory, _ n: Int) -> (media: [UInt8], index: String) {
        let dir = Fixture.recordingsDir(tmp)
        return (fileBytes(dir + "/\(id(n)).webm"), fileText(dir + "/\(id(n)).index"))
    }

    @Test func fewRecordingsAreSyncedOneByOneOnceAnInterval() throws {
        let tmp = try TempDirectory()
        let count = RecordingSyncer.fileSystemSyncMinimum - 1
        let files = try recordings(tmp, count)
        let syncs = FileSystemSyncs()
        let syncer = RecordingSyncer(startedAt: Fixture.t0, syncFileSystem: syncs.call)

        #expect(syncer.syncIfDue(files, now: Fixture.t0.addingTimeInterval(0.5)) == nil)
        #expect(files.allSatisfy { $0.needsSync }, "not due yet")
        #expect(Self.onDisk(tmp, 0).index == "")

        #expect(syncer.syncIfDue(files, now: Fixture.t0.addingTimeInterval(1))?.failures.isEmpty == true)
        #expect(syncer.lastSyncAt == Fixture.t0.addingTimeInterval(1))
        #expect(!files.contains { $0.needsSync })
        #expect(syncs.descriptors.isEmpty, "each recording flushed its own files")
        for n in 0..<count {
            #expect(Self.onDisk(tmp, n).media == Fixture.webmStart + [UInt8(n)])
            #expect(Self.onDisk(tmp, n).index == "F 1 0 10 0 0 0\n")
        }

        try files[0].append([7])
        #expect(syncer.syncIfDue(files, now: Fixture.t0.addingTimeInterval(1.9)) == nil)
        #expect(files[0].needsSync, "a second has not passed since the last sync")
        #expect(syncer.syncIfDue(files, now: Fixture.t0.addingTimeInterval(2))?.failures.isEmpty == true)
        #expect(!files[0].needsSync)
        #expect(Self.onDisk(tmp, 0).index == "F 1 0 10 0 0 0\nF 1 10 1 0 0 0\n")
    }

    @Test func manyRecordingsAreFlushedWithTwoFileSystemSyncsMediaFirst() throws {
        let tmp = try TempDirectory()
        let count = RecordingSyncer.fileSystemSyncMinimum
        let files = try recordings(tmp, count)
        let syncs = FileSystemSyncs { (0..<count).map { Self.onDisk(tmp, $0) } }
        let syncer = RecordingSyncer(startedAt: Fixture.t0, syncFileSystem: syncs.call)

        #expect(syncer.syncIfDue(files, now: Fixture.t0.addingTimeInterval(1))?.failures.isEmpty == true)
        try #require(syncs.observed.count == 2, "one syncfs for the media, one for the index")
        for n in 0..<count {
            #expect(syncs.observed[0][n].media == Fixture.webmStart + [UInt8(n)], "media written before the first syncfs")
            #expect(syncs.observed[0][n].index == "", "no index line before its media is flushed")
            #expect(syncs.observed[1][n].index == "F 1 0 10 0 0 0\n")
        }
        #expect(!files.contains { $0.needsSync })
    }

    @Test func aFailingFileSystemSyncIsNoRecordingsFailure() throws {
        let tmp = try TempDirectory()
        let count = RecordingSyncer.fileSystemSyncMinimum
        let files = try recordings(tmp, count)
        let syncs = FileSystemSyncs()
        syncs.result = -1
        let syncer = RecordingSyncer(startedAt: Fixture.t0, syncFileSystem: syncs.call)

        #expect(syncer.syncIfDue(files, now: Fixture.t0.addingTimeInterval(1))?.failures.isEmpty == true,
                "an error elsewhere on the file system: each recording's own flush succeeds")
        #expect(syncs.descriptors.count == 2)
        #expect(!files.contains { $0.needsSync })
        for n in 0..<count { #expect(Self.onDisk(tmp, n).index == "F 1 0 10 0 0 0\n") }
    }

    /// A real ENOSPC, as in `RecordingFileFailureTests`: one recording's part 2 is a link to
    /// /dev/full. Only that one fails, and it gets no index line for what never reached its file.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/dev/full")))
    func aRecordingThatCannotBeWrittenFailsAlone() throws {
        let tmp = try TempDirectory()
        let count = RecordingSyncer.fileSystemSyncMinimum + 1
        let files = try recordings(tmp, count)
        let syncer = RecordingSyncer(startedAt: Fixture.t0)
        #expect(syncer.syncIfDue(files, now: Fixture.t0.addingTimeInterval(1))?.failures.isEmpty == true)
        let dir = Fixture.recordingsDir(tmp)
        try FileManager.default.createSymbolicLink(atPath: dir + "/\(Self.id(3)).2.webm", withDestinationPath: "/dev/full")
        try files[3].append(Fixture.webmStart, newPart: true)
        for file in files where file !== files[3] { try file.append([9]) }

        let failures = try #require(syncer.syncIfDue(files, now: Fixture.t0.addingTimeInterval(2))).failures
        try #require(failures.count == 1)
        #expect(failures[0].file === files[3])
        guard case .writeFailed(let path, let reason)? = failures[0].error as? StorageError else {
            Issue.record("expected writeFailed, got \(failures[0].error)")
            return
        }
        #expect(path == dir + "/\(Self.id(3)).2.webm" && reason == "No space left on device")
        #expect(files[3].needsSync, "not marked synced: the caller fails it")
        #expect(!Self.onDisk(tmp, 3).index.contains("G"), "no line for part 2")
        for n in 0..<count where n != 3 {
            #expect(!files[n].needsSync)
            #expect(Self.onDisk(tmp, n).index == "F 1 0 10 0 0 0\nF 1 10 1 0 0 0\n")
        }
    }

    /// Recordings on two file systems (the temporary directory and /dev/shm, a tmpfs) are flushed
    /// with a `syncfs` on each.
    @Test(.enabled(if: Self.onAnotherFileSystem("/dev/shm")))
    func eachFileSystemIsFlushedOnItsOwn() throws {
        let here = try TempDirectory(), there = try TempDirectory(under: "/dev/shm")
        let count = RecordingSyncer.fileSystemSyncMinimum
        let files = try recordings(here, count) + recordings(there, count)
        let syncs = FileSystemSyncs()
        let syncer = RecordingSyncer(startedAt: Fixture.t0, syncFileSystem: syncs.call)

        #expect(syncer.syncIfDue(files, now: Fixture.t0.addingTimeInterval(1))?.failures.isEmpty == true)
        #expect(syncs.descriptors.count == 4)
        let devices = Set(syncs.descriptors.map { fd -> UInt64 in
            var st = stat()
            return fstat(fd, &st) == 0 ? UInt64(st.st_dev) : 0
        })
        #expect(devices.count == 2 && !devices.contains(0))
        #expect(!files.contains { $0.needsSync })
    }

    static func onAnotherFileSystem(_ path: String) -> Bool {
        var a = stat(), b = stat()
        return stat(path, &a) == 0 && stat(NSTemporaryDirectory(), &b) == 0 && a.st_dev != b.st_dev
    }
}
