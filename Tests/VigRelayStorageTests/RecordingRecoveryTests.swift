import Foundation
import Testing
import VigRelayCore
import VigRelayStorage

/// After a kill mid-recording: files cut to what the index vouches for, index rewritten, manifest
/// `interrupted`. The WebM cases use a real ffmpeg file (Tests/VigRelayCoreTests/Fixtures).
struct RecordingRecoveryTests {
    let sid = Fixture.sessionID
    let rid = Fixture.recordingID
    /// testsrc-4s.webm's clusters (offset, ms), as WebMScannerFixtureTests checks them.
    static let clusters: [(Int64, Int64)] = [(409, 0), (2589, 500), (3794, 1000), (5971, 1500), (7308, 2000),
                                             (9498, 2500), (10804, 3000), (12987, 3500)]

    /// Records the fixture's first `cut` bytes in 700-byte payloads, syncs (as the writer thread does
    /// each second) and drops the writer without finishing it, as `kill -9` right after that sync would.
    func recordKilled(_ tmp: TempDirectory, cut: Int) throws -> [UInt8] {
        let bytes = try Fixture.webmFixture()
        let file = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: rid, startedAt: Fixture.t0)
        let found = try file.appendWebM(bytes[0..<cut], chunk: 700)
        try file.sync()
        #expect(found == Self.clusters.map(\.0).filter { $0 < cut })
        return bytes
    }

    /// The fixture's first `end` bytes as recovery leaves them: Segment size unknown, Duration voided.
    func expectedRecovered(_ fixture: [UInt8], end: Int) -> [UInt8] {
        var out = Array(fixture[0..<end])
        out.replaceSubrange(40..<48, with: WebMScanner.unknownSizeField(length: 8)!)
        out.replaceSubrange(235..<246, with: WebMScanner.voidElement(length: 11)!)
        return out
    }

    @Test func killedMidClusterIsCutToTheLastClusterStart() throws {
        let tmp = try TempDirectory()
        let fixture = try recordKilled(tmp, cut: 8000)
        let dir = Fixture.recordingsDir(tmp)
        let before = RecordingIndex.parse(fileText(dir + "/\(rid).index"))
        #expect(before.clusters(part: 1).map(\.offset) == [409, 2589, 3794, 5971, 7308])
        #expect(before.frames(part: 1).count == 12)

        let now = Fixture.t0.addingTimeInterval(3600)
        let recovered = RecordingRecovery.recover(dataDir: tmp.path, now: now)
        #expect(recovered.count == 1)
        let media = fileBytes(dir + "/\(rid).webm")
        #expect(media.count == 7308, "ends exactly where the last recorded cluster started")
        #expect(media == expectedRecovered(fixture, end: 7308))

        // The index agrees with the file: payloads 0..<7000 are whole, the one over 7308 went.
        let index = RecordingIndex.parse(fileText(dir + "/\(rid).index"))
        #expect(index.ignoredLines == 0)
        #expect(index.frames(part: 1).map(\.offset) == Array(stride(from: 0, to: 7000, by: 700)))
        #expect(index.frames(part: 1).allSatisfy { $0.end <= 7308 })
        #expect(index.clusters(part: 1).map(\.offset) == [409, 2589, 3794, 5971])
        #expect(index.records == before.records.filter { record in
            switch record {
            case .frame(let f): f.end <= 7308
            case .cluster(let c): c.offset < 7308
            case .gap: true
            }
        })

        let manifest = try #require(recovered.first)
        #expect(manifest.state == .interrupted)
        #expect(manifest.parts == [.init(number: 1, file: "\(rid).webm", bytes: 7308, frames: 10, startMs: 0, durationMs: 2000)])
        #expect(try #require(manifest.stoppedAt) <= now)
        #expect(RecordingStore(dataDir: tmp.path).manifest(sessionID: sid, recordingID: rid) == manifest)

        // What is left decodes on its own: the scanner reads it to the end without an error.
        var scanner = WebMScanner()
        let events = scanner.feed(media)
        #expect(scanner.error == nil)
        let offsets: [Int64] = events.compactMap { if case .cluster(let c) = $0 { c.offset } else { nil } }
        #expect(offsets == [409, 2589, 3794, 5971])

        #expect(RecordingRecovery.recover(dataDir: tmp.path, now: now).isEmpty, "nothing left to recover")
        #expect(fileBytes(dir + "/\(rid).webm") == media)
    }

    /// The index reached the disk further than the media (page cache written back out of order) and
    /// its last line is torn: index lines past the file's end are dropped.
    @Test func indexAheadOfTheFileAndATornLineAreDropped() throws {
        let tmp = try TempDirectory()
        let fixture = try recordKilled(tmp, cut: 11_500)
        let dir = Fixture.recordingsDir(tmp)
        try FileHandle(forWritingAtPath: dir + "/\(rid).webm")!.truncate(atOffset: 7400)
        let handle = try #require(FileHandle(forWritingAtPath: dir + "/\(rid).index"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("F 1 11500 7".utf8))
        try handle.close()

        let manifest = try #require(RecordingRecovery.recover(dataDir: tmp.path, now: Fixture.t0.addingTimeInterval(60)).first)
        #expect(fileBytes(dir + "/\(rid).webm") == expectedRecovered(fixture, end: 7308))
        let index = RecordingIndex.parse(fileText(dir + "/\(rid).index"))
        #expect(index.ignoredLines == 0)
        #expect(index.frames(part: 1).map(\.end).last == 7000)
        #expect(index.clusters(part: 1).map(\.offset) == [409, 2589, 3794, 5971])
        #expect((manifest.state, manifest.bytes, manifest.frames, manifest.durationMs) == (.interrupted, 7308, 10, 2000))
    }

    /// Before the first cluster was recorded: only the init segment stays.
    @Test func killedInTheFirstClusterKeepsTheInitSegment() throws {
        let tmp = try TempDirectory()
        let fixture = try recordKilled(tmp, cut: 1500)
        let manifest = try #require(RecordingRecovery.recover(dataDir: tmp.path, now: Fixture.t0).first)
        #expect(fileBytes(Fixture.recordingsDir(tmp) + "/\(rid).webm") == expectedRecovered(fixture, end: 409))
        #expect((manifest.bytes, manifest.frames, manifest.durationMs) == (409, 0, 0))
        #expect(RecordingIndex.parse(fileText(Fixture.recordingsDir(tmp) + "/\(rid).index")).records.isEmpty)
    }

    /// Media without clusters (MP4, other): cut to the end of the last whole frame in the file.
    @Test func partsWithoutClustersAreCutToTheLastWholeFrame() throws {
        let tmp = try TempDirectory()
        let file = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: rid, startedAt: Fixture.t0)
        try file.append(Fixture.mp4Start, timeUs: 1_000_000, sequence: 0, newPart: true)
        try file.append([UInt8](repeating: 1, count: 100), timeUs: 1_500_000, sequence: 1)
        try file.append([UInt8](repeating: 2, count: 100), timeUs: 2_000_000, sequence: 2)
        try file.sync()
        let dir = Fixture.recordingsDir(tmp)
        try FileHandle(forWritingAtPath: dir + "/\(rid).mp4")!.truncate(atOffset: 150)

        let manifest = try #require(RecordingRecovery.recover(dataDir: tmp.path, now: Fixture.t0).first)
        #expect(fileBytes(dir + "/\(rid).mp4") == Fixture.mp4Start + [UInt8](repeating: 1, count: 100))
        #expect(fileText(dir + "/\(rid).index") == "F 1 0 12 1000000 0 0\nF 1 12 100 1500000 1 0\n")
        #expect(manifest.parts == [.init(number: 1, file: "\(rid).mp4", bytes: 112, frames: 2, startMs: 0, durationMs: 500)])
    }

    /// The whole fixture as part 1, then (the family back 30 s later) its first 6,000 bytes as part 2,
    /// synced and dropped unfinished, as `kill -9` would leave them.
    func recordTwoPartsKilled(_ tmp: TempDirectory) throws -> [UInt8] {
        let fixture = try Fixture.webmFixture()
        let file = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: rid, startedAt: Fixture.t0)
        try file.appendWebM(fixture[0...], chunk: 1000, at: Fixture.t0)
        try file.appendWebM(fixture[0..<6000], chunk: 512, at: Fixture.t0.addingTimeInterval(30))
        try file.sync()
        return fixture
    }

    /// A recording with a reconnect: the part being written is cut; the part before it, closed
    /// (cut to its last complete element and synced) when the family came back, stays whole with its
    /// index lines and totals; the gap line stays.
    @Test func theLastPartIsCutAndTheClosedOnesKeptWhole() throws {
        let tmp = try TempDirectory()
        let fixture = try recordTwoPartsKilled(tmp)
        let dir = Fixture.recordingsDir(tmp)
        let before = try #require(RecordingManifestFile.read(dir + "/\(rid).json"))
        let indexBefore = RecordingIndex.parse(fileText(dir + "/\(rid).index"))
        #expect(before.parts.first?.bytes == Int64(fixture.count))

        let manifest = try #require(RecordingRecovery.recover(dataDir: tmp.path, now: Fixture.t0.addingTimeInterval(99)).first)
        #expect(fileBytes(dir + "/\(rid).webm") == fixture, "the closed part is untouched: its last cluster stays")
        #expect(fileBytes(dir + "/\(rid).2.webm") == expectedRecovered(fixture, end: 5971))
        let index = RecordingIndex.parse(fileText(dir + "/\(rid).index"))
        #expect(index.records.filter { $0.part == 1 } == indexBefore.records.filter { $0.part == 1 })
        #expect(index.gaps.map(\.part) == [2])
        #expect(index.clusters(part: 2).map(\.offset) == [409, 2589, 3794])
        #expect(manifest.parts.first == before.parts.first)
        #expect(manifest.parts.map(\.bytes) == [Int64(fixture.count), 5971])
        #expect(manifest.parts.last?.durationMs == 1500)
        #expect(manifest.parts.map(\.startMs) == [0, 30_000])
    }

    /// A closed part whose file is shorter than its manifest says (damaged since) is cut like the
    /// last: to what its index vouches for within the file.
    @Test func aClosedPartShorterThanItsManifestIsCut() throws {
        let tmp = try TempDirectory()
        let fixture = try recordTwoPartsKilled(tmp)
        let dir = Fixture.recordingsDir(tmp)
        let handle = try #require(FileHandle(forWritingAtPath: dir + "/\(rid).webm"))
        try handle.truncate(atOffset: 8000)
        try handle.close()

        let manifest = try #require(RecordingRecovery.recover(dataDir: tmp.path, now: Fixture.t0.addingTimeInterval(99)).first)
        #expect(fileBytes(dir + "/\(rid).webm") == expectedRecovered(fixture, end: 7308))
        #expect(manifest.parts.map(\.bytes) == [7308, 5971])
    }

    @Test func missingPartFilesAreDroppedAndOtherStatesLeftAlone() throws {
        let tmp = try TempDirectory()
        let file = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: rid, startedAt: Fixture.t0)
        try file.append(Fixture.otherStart, newPart: true)
        try FileManager.default.removeItem(atPath: Fixture.recordingsDir(tmp) + "/\(rid).bin")
        let done = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: Fixture.otherRecordingID, startedAt: Fixture.t0)
        try done.append(Fixture.otherStart, newPart: true)
        let complete = try done.finish(at: Fixture.t0)

        let recovered = RecordingRecovery.recover(dataDir: tmp.path, now: Fixture.t0)
        #expect(recovered.map(\.recordingId) == [rid])
        #expect(recovered.first?.parts == [])
        #expect(RecordingStore(dataDir: tmp.path).manifest(sessionID: sid, recordingID: Fixture.otherRecordingID) == complete)
    }
}
