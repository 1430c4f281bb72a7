import Foundation
import Testing
import VigRelayCore
import VigRelayStorage

/// Writing a recording: exact bytes, index lines, parts, totals, syncing.
struct RecordingFileTests {
    let sid = Fixture.sessionID
    let rid = Fixture.recordingID

    func open(_ tmp: TempDirectory, quota: Int64? = nil) throws -> RecordingFile {
        try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: rid, startedAt: Fixture.t0, quotaBytes: quota)
    }

    @Test func startWritesAnEmptyIndexAndARecordingManifest() throws {
        let tmp = try TempDirectory()
        let file = try open(tmp)
        let dir = Fixture.recordingsDir(tmp)
        #expect(names(dir) == ["\(rid).index", "\(rid).json"])
        let onDisk = try #require(RecordingStore(dataDir: tmp.path).manifest(sessionID: sid, recordingID: rid))
        #expect(onDisk == file.manifest)
        #expect(onDisk.state == .recording && onDisk.parts.isEmpty && onDisk.startedAt == Fixture.t0)
        var st = stat()
        #expect(stat(dir, &st) == 0 && st.st_mode & 0o777 == 0o700)
        #expect(stat(dir + "/\(rid).index", &st) == 0 && st.st_mode & 0o777 == 0o600)
        #expect(throws: StorageError.self) { try open(tmp) }
    }

    @Test func appendAndFinishRoundTrip() throws {
        let tmp = try TempDirectory()
        let file = try open(tmp)
        let a = Fixture.webmStart + [1, 2, 3]
        let b: [UInt8] = [10, 11, 12, 13, 14]
        let c: [UInt8] = [20, 21, 22, 23]
        try file.append(payload: a[...], mediaTimeUs: 0, sequence: 0, flags: 3, clusters: [(offsetInPayload: 9, timeMs: 0, keyframe: true)], newPart: true)
        try file.append(payload: b[...], mediaTimeUs: 250_000, sequence: 1, flags: 0, clusters: [], newPart: false)
        // A cluster that began in the previous payload (reported late by the scanner), and one in this.
        try file.append(payload: c[...], mediaTimeUs: 500_000, sequence: 2, flags: 2,
                        clusters: [(offsetInPayload: -2, timeMs: 500, keyframe: false), (offsetInPayload: 1, timeMs: 1000, keyframe: true)],
                        newPart: false)
        #expect(file.manifest.parts == [.init(number: 1, file: "\(rid).webm", bytes: 21, frames: 3, startMs: 0, durationMs: 1000)])
        let done = try file.finish(at: Fixture.t0.addingTimeInterval(5))

        let dir = Fixture.recordingsDir(tmp)
        #expect(names(dir) == ["\(rid).index", "\(rid).json", "\(rid).webm"])
        #expect(fileBytes(dir + "/\(rid).webm") == a + b + c)
        #expect(fileText(dir + "/\(rid).index") == """
            F 1 0 12 0 0 3
            C 1 9 0 1
            F 1 12 5 250000 1 0
            F 1 17 4 500000 2 2
            C 1 15 500 0
            C 1 18 1000 1

            """)
        #expect(done.state == .complete)
        #expect(done.stoppedAt == Fixture.t0.addingTimeInterval(5))
        #expect(done.mediaType == "video/webm")
        #expect((done.bytes, done.frames, done.durationMs) == (21, 3, 1000))
        #expect(RecordingStore(dataDir: tmp.path).manifest(sessionID: sid, recordingID: rid) == done)
        #expect(throws: StorageError.self) { try file.append([1]) }
        #expect(throws: StorageError.self) { try file.finish(at: Fixture.t0) }
    }

    @Test func aWebMPartLastsUntilItsLatestBlock() throws {
        let tmp = try TempDirectory()
        let file = try open(tmp)
        try file.append(payload: Fixture.webmStart[...], mediaTimeUs: 0, sequence: 0, flags: 1, clusters: [(0, 0, true)],
                        newPart: true, lastBlockMs: 40)
        try file.append(payload: [1, 2, 3], mediaTimeUs: 0, sequence: 1, flags: 0, clusters: [(0, 1000, true)],
                        newPart: false, lastBlockMs: 1960)
        try file.append(payload: [4], mediaTimeUs: 0, sequence: 2, flags: 0, clusters: [], newPart: false)
        let done = try file.finish(at: Fixture.t0)
        #expect(done.durationMs == 1960, "the last block's time, not the last cluster's start (1000)")
        let index = try #require(RecordingStore(dataDir: tmp.path).index(sessionID: sid, recordingID: rid))
        #expect(index.frames(part: 1).map(\.lastBlockMs) == [40, 1960, nil])
    }

    @Test func durationWithoutClustersComesFromFrameMediaTimes() throws {
        let tmp = try TempDirectory()
        let file = try open(tmp)
        try file.append(Fixture.mp4Start, timeUs: 5_000_000, newPart: true)
        try file.append([1, 2], timeUs: 5_400_000)
        try file.append([3], timeUs: 7_250_999)
        let done = try file.finish(at: Fixture.t0)
        #expect(done.parts.map(\.durationMs) == [2250])
        #expect(done.mediaType == "video/mp4")
    }

    /// The frame header's media times are the sender's: parts spanning 0 to UInt64.max µs each last
    /// `MediaTime.limitMs`, the next part starts after them without overflowing, and so does the
    /// recording's duration.
    @Test func absurdMediaTimesGiveBoundedDurations() throws {
        let tmp = try TempDirectory()
        let file = try open(tmp)
        for _ in 0..<3 {
            try file.append(Fixture.otherStart, timeUs: 0, newPart: true)
            try file.append([1], timeUs: .max)
        }
        let done = try file.finish(at: Fixture.t0)
        #expect(done.parts.map(\.durationMs) == [MediaTime.limitMs, MediaTime.limitMs, MediaTime.limitMs])
        #expect(done.parts.map(\.startMs) == [0, MediaTime.limitMs, 2 * MediaTime.limitMs])
        #expect(done.durationMs == 3 * MediaTime.limitMs)
    }

    /// A stream restarted past `RecordingManifest.maxParts` times fails the recording with a reason
    /// that says what to do; the parts written stay.
    @Test func aPartPastTheLimitIsRefused() throws {
        let tmp = try TempDirectory()
        let file = try open(tmp)
        for _ in 0..<RecordingManifest.maxParts { try file.append(Fixture.otherStart, newPart: true) }
        #expect(file.manifest.parts.count == RecordingManifest.maxParts)
        let error = #expect(throws: StorageError.self) { try file.append(Fixture.otherStart, newPart: true) }
        #expect(error.map { "\($0)".contains("start a new recording") } == true)
        #expect(file.manifest.parts.count == RecordingManifest.maxParts)
    }

    @Test(arguments: [(Fixture.webmStart, "webm", "video/webm"), (Fixture.mp4Start, "mp4", "video/mp4"),
                      (Fixture.otherStart, "bin", "application/octet-stream"), ([UInt8](), "bin", "application/octet-stream")])
    func partOneIsNamedByItsContainer(_ start: [UInt8], _ ext: String, _ mediaType: String) throws {
        let tmp = try TempDirectory()
        let file = try open(tmp)
        try file.append(start, newPart: true)
        #expect(file.currentMediaPath == Fixture.recordingsDir(tmp) + "/\(rid).\(ext)")
        let done = try file.finish(at: Fixture.t0)
        #expect(done.parts.map(\.file) == ["\(rid).\(ext)"])
        #expect(done.mediaType == mediaType)
        #expect(fileBytes(Fixture.recordingsDir(tmp) + "/\(rid).\(ext)") == start)
    }

    @Test func firstAppendOpensPartOneEvenWithoutNewPart() throws {
        let tmp = try TempDirectory()
        let file = try open(tmp)
        try file.append(Fixture.webmStart)
        #expect(try file.finish(at: Fixture.t0).parts.map(\.file) == ["\(rid).webm"])
    }

    @Test func restartedStreamsBecomeNewPartsWithAGapLine() throws {
        let tmp = try TempDirectory()
        let file = try open(tmp)
        try file.append(payload: Fixture.webmStart[...], mediaTimeUs: 0, sequence: 0, flags: 1,
                        clusters: [(offsetInPayload: 4, timeMs: 0, keyframe: true)], newPart: true, at: Fixture.t0)
        try file.append(payload: [1, 2, 3], mediaTimeUs: 0, sequence: 1, flags: 0,
                        clusters: [(offsetInPayload: 0, timeMs: 3000, keyframe: true)], newPart: false, at: Fixture.t0)
        let back = Fixture.t0.addingTimeInterval(10)
        try file.append(payload: Fixture.mp4Start[...], mediaTimeUs: 0, sequence: 0, flags: 1, clusters: [], newPart: true, at: back)
        try file.append(payload: [9], mediaTimeUs: 1_500_000, sequence: 1, flags: 0, clusters: [], newPart: false, at: back)
        let later = Fixture.t0.addingTimeInterval(11)
        try file.append(Fixture.otherStart, timeUs: 0, newPart: true, at: later)
        let done = try file.finish(at: Fixture.t0.addingTimeInterval(20))

        let dir = Fixture.recordingsDir(tmp)
        #expect(names(dir) == ["\(rid).2.mp4", "\(rid).3.bin", "\(rid).index", "\(rid).json", "\(rid).webm"])
        #expect(fileBytes(dir + "/\(rid).webm") == Fixture.webmStart + [1, 2, 3])
        #expect(fileBytes(dir + "/\(rid).2.mp4") == Fixture.mp4Start + [9])
        #expect(fileBytes(dir + "/\(rid).3.bin") == Fixture.otherStart)
        #expect(fileText(dir + "/\(rid).index") == """
            F 1 0 9 0 0 1
            C 1 4 0 1
            F 1 9 3 0 1 0
            C 1 9 3000 1
            G 2 1800000010000
            F 2 0 12 0 0 1
            F 2 12 1 1500000 1 0
            G 3 1800000011000
            F 3 0 13 0 0 0

            """)
        #expect(done.parts == [
            .init(number: 1, file: "\(rid).webm", bytes: 12, frames: 2, startMs: 0, durationMs: 3000),
            .init(number: 2, file: "\(rid).2.mp4", bytes: 13, frames: 2, startMs: 10_000, durationMs: 1500),
            // Part 2 ran until 11 500 ms by its media time, past the wall clock's 11 000.
            .init(number: 3, file: "\(rid).3.bin", bytes: 13, frames: 1, startMs: 11_500, durationMs: 0),
        ])
        #expect(done.mediaType == "video/webm")
        #expect((done.bytes, done.frames, done.durationMs) == (38, 5, 11_500))
        let index = try #require(RecordingStore(dataDir: tmp.path).index(sessionID: sid, recordingID: rid))
        #expect(index.gaps.map(\.part) == [2, 3])
    }

    @Test func clusterOffsetsOutsideThePartAreRefusedBeforeWriting() throws {
        let tmp = try TempDirectory()
        let file = try open(tmp)
        try file.append(Fixture.webmStart, newPart: true)
        for offset in [-10, 3] {
            #expect(throws: StorageError.self) {
                try file.append(payload: [1, 2, 3], mediaTimeUs: 0, sequence: 1, flags: 0,
                                clusters: [(offsetInPayload: offset, timeMs: 0, keyframe: true)], newPart: false)
            }
        }
        let done = try file.finish(at: Fixture.t0)
        #expect(done.bytes == 9)
        #expect(fileText(Fixture.recordingsDir(tmp) + "/\(rid).index") == "F 1 0 9 0 0 0\n")
    }

    @Test func needsSyncWhileAppendsAreUnsynced() throws {
        let tmp = try TempDirectory()
        let file = try open(tmp)
        #expect(!file.needsSync, "nothing written yet")
        try file.append(Fixture.webmStart, newPart: true)
        #expect(file.needsSync)
        #expect(fileText(Fixture.recordingsDir(tmp) + "/\(rid).index") == "", "index lines wait for the sync")
        try file.sync()
        #expect(!file.needsSync)
        #expect(fileBytes(Fixture.recordingsDir(tmp) + "/\(rid).webm") == Fixture.webmStart)
        #expect(fileText(Fixture.recordingsDir(tmp) + "/\(rid).index") == "F 1 0 9 0 0 0\n")
        try file.append([1])
        #expect(file.needsSync)
        _ = try file.finish(at: Fixture.t0.addingTimeInterval(4))
        #expect(!file.needsSync, "a finished recording has nothing more to sync")
    }

    @Test(arguments: Fixture.badIDs)
    func invalidRecordingIDsAreRefused(_ bad: String) throws {
        let tmp = try TempDirectory()
        #expect(throws: StorageError.self) {
            try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: bad, startedAt: Fixture.t0)
        }
        #expect(names(Fixture.recordingsDir(tmp)).isEmpty)
    }

    @Test(arguments: Fixture.badSessionIDs)
    func invalidSessionIDsAreRefused(_ bad: String) throws {
        let tmp = try TempDirectory()
        #expect(throws: StorageError.self) {
            try RecordingFile(dataDir: tmp.path, sessionID: bad, recordingID: rid, startedAt: Fixture.t0)
        }
        #expect(names(tmp.path).isEmpty)
    }
}
