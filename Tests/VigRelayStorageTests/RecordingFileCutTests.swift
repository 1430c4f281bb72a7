import Foundation
import Testing
import VigRelayCore
import VigRelayStorage

/// A part that closes while its last payload ends inside a WebM block is cut back to where its
/// last complete element ends (`completeEnd`), with an honest index and manifest.
struct RecordingFileCutTests {
    let sid = Fixture.sessionID
    let rid = Fixture.recordingID

    func open(_ tmp: TempDirectory, quota: Int64? = nil) throws -> RecordingFile {
        try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: rid, startedAt: Fixture.t0, quotaBytes: quota)
    }

    /// Appends a payload of `count` bytes (filled with `fill`) whose part may end `completeEnd` into it.
    func append(_ file: RecordingFile, _ payload: [UInt8], seq: UInt32, clusters: [(Int, Int64, Bool)] = [],
                newPart: Bool = false, lastBlockMs: Int64? = nil, completeEnd: (Int64, Int64?)?) throws {
        try file.append(payload: payload[...], mediaTimeUs: UInt64(seq) * 100_000, sequence: seq, flags: newPart ? 1 : 0,
                        clusters: clusters.map { (offsetInPayload: $0.0, timeMs: $0.1, keyframe: $0.2) }, newPart: newPart,
                        lastBlockMs: lastBlockMs, completeEnd: completeEnd.map { (offsetInPayload: $0.0, lastBlockMs: $0.1) })
    }

    @Test func stopCutsTheLastPayloadAtTheEndOfItsLastCompleteBlock() throws {
        let tmp = try TempDirectory()
        let file = try open(tmp)
        let a = Fixture.webmStart + [UInt8](repeating: 1, count: 11)   // 20 bytes: init, cluster at 9
        let b = [UInt8](repeating: 2, count: 10)
        let c = [UInt8](repeating: 3, count: 10)
        try append(file, a, seq: 0, clusters: [(9, 0, true)], newPart: true, lastBlockMs: 0, completeEnd: (20, 0))
        try append(file, b, seq: 1, lastBlockMs: 40, completeEnd: (6, 33))      // a block ends at 26, one starts there
        try append(file, c, seq: 2, clusters: [(1, 1000, false)], lastBlockMs: 1000, completeEnd: (-4, 33))  // still in it
        let done = try file.finish(at: Fixture.t0.addingTimeInterval(5))

        let dir = Fixture.recordingsDir(tmp)
        #expect(fileBytes(dir + "/\(rid).webm") == a + b.prefix(6), "the half block and what followed are gone")
        #expect(fileText(dir + "/\(rid).index") == """
            F 1 0 20 0 0 1 0
            C 1 9 0 1
            F 1 20 6 100000 1 0 33

            """)
        #expect(done.parts == [.init(number: 1, file: "\(rid).webm", bytes: 26, frames: 2, startMs: 0, durationMs: 33)])
        #expect((done.bytes, done.frames, done.durationMs, done.state) == (26, 2, 33, .complete))
        #expect(RecordingStore(dataDir: tmp.path).manifest(sessionID: sid, recordingID: rid) == done)
    }

    @Test func aCutAtAPayloadBoundaryDropsTheWholeLaterPayloads() throws {
        let tmp = try TempDirectory()
        let file = try open(tmp)
        let a = Fixture.webmStart + [UInt8](repeating: 1, count: 11)
        try append(file, a, seq: 0, clusters: [(9, 0, true)], newPart: true, lastBlockMs: 100, completeEnd: (20, 100))
        try append(file, [2, 2, 2], seq: 1, clusters: [(0, 500, true)], completeEnd: (0, 100))
        try append(file, [3, 3], seq: 2, lastBlockMs: 500, completeEnd: (-3, 100))
        let done = try file.finish(at: Fixture.t0)
        let dir = Fixture.recordingsDir(tmp)
        #expect(fileBytes(dir + "/\(rid).webm") == a)
        #expect(fileText(dir + "/\(rid).index") == "F 1 0 20 0 0 1 100\nC 1 9 0 1\n")
        #expect((done.bytes, done.frames, done.durationMs) == (20, 1, 100))
    }

    @Test func aPartThatEndsCleanlyIsNotTouched() throws {
        let tmp = try TempDirectory()
        let file = try open(tmp)
        let a = Fixture.webmStart + [1, 2, 3]
        try append(file, a, seq: 0, clusters: [(9, 0, true)], newPart: true, completeEnd: (9, nil))
        try append(file, [4, 5], seq: 1, lastBlockMs: 7, completeEnd: (2, 7))
        let done = try file.finish(at: Fixture.t0)
        #expect(fileBytes(Fixture.recordingsDir(tmp) + "/\(rid).webm") == a + [4, 5])
        #expect((done.bytes, done.frames, done.durationMs) == (14, 2, 7))
    }

    @Test func payloadsWithoutACompleteEndAreKeptByteForByte() throws {
        let tmp = try TempDirectory()
        let file = try open(tmp)
        try append(file, Fixture.mp4Start, seq: 0, newPart: true, completeEnd: nil)
        try append(file, [9, 9, 9], seq: 1, completeEnd: nil)
        let done = try file.finish(at: Fixture.t0)
        #expect(fileBytes(Fixture.recordingsDir(tmp) + "/\(rid).mp4") == Fixture.mp4Start + [9, 9, 9])
        #expect(done.bytes == 15 && done.frames == 2)
    }

    @Test func aPartClosedByARestartedStreamIsCutBeforeTheNextOpens() throws {
        let tmp = try TempDirectory()
        let file = try open(tmp)
        let a = Fixture.webmStart + [UInt8](repeating: 1, count: 11)
        try append(file, a, seq: 0, clusters: [(9, 0, true)], newPart: true, lastBlockMs: 0, completeEnd: (20, 0))
        try append(file, [UInt8](repeating: 2, count: 10), seq: 1, lastBlockMs: 2000, completeEnd: (4, 1500))
        // The family's connection dropped mid-block; it comes back 10 s later with a new stream.
        let back = Fixture.t0.addingTimeInterval(10)
        try file.append(payload: Fixture.webmStart[...], mediaTimeUs: 0, sequence: 0, flags: 1, clusters: [], newPart: true,
                        completeEnd: (offsetInPayload: 9, lastBlockMs: nil), at: back)
        #expect(file.manifest.parts[0].bytes == 24 && file.manifest.parts[0].durationMs == 1500,
                "part 1 was cut when part 2 opened: \(file.manifest.parts)")
        let done = try file.finish(at: back)
        let dir = Fixture.recordingsDir(tmp)
        #expect(fileBytes(dir + "/\(rid).webm") == a + [2, 2, 2, 2])
        #expect(fileBytes(dir + "/\(rid).2.webm") == Fixture.webmStart)
        #expect(fileText(dir + "/\(rid).index") == """
            F 1 0 20 0 0 1 0
            C 1 9 0 1
            F 1 20 4 100000 1 0 1500
            G 2 1800000010000
            F 2 0 9 0 0 1

            """)
        #expect(done.parts.map(\.bytes) == [24, 9])
        #expect(done.parts[1].startMs == 10_000, "part 2 starts after part 1's (cut) end and the wall clock")
        #expect(done.bytes == 33)
    }

    @Test func theQuotaCountsTheBytesACutGaveBack() throws {
        let tmp = try TempDirectory()
        let file = try open(tmp, quota: 30)
        let a = Fixture.webmStart + [UInt8](repeating: 1, count: 11)
        try append(file, a, seq: 0, clusters: [(9, 0, true)], newPart: true, completeEnd: (20, nil))
        try append(file, [UInt8](repeating: 2, count: 10), seq: 1, completeEnd: (0, nil))
        // Part 1 is cut back to 20 bytes when part 2 opens: 10 more fit.
        try file.append(payload: (Fixture.webmStart + [0])[...], mediaTimeUs: 0, sequence: 0, flags: 1, clusters: [], newPart: true,
                        completeEnd: (offsetInPayload: 10, lastBlockMs: nil))
        #expect(file.manifest.bytes == 30)
        _ = try file.finish(at: Fixture.t0)
    }

    @Test func aReaderOfTheIndexSeesTheCutPart() throws {
        let tmp = try TempDirectory()
        let file = try open(tmp)
        let webm = try Fixture.webmFixture()
        // The fixture's clusters start at 409, 2589, 3794 ...; stop 100 bytes into the one at 3794.
        var scanner = WebMScanner()
        var at = 0, seq: UInt32 = 0
        while at < 3894 {
            let payload = Array(webm[at..<min(at + 1000, 3894)])
            let marks = scanner.feed(payload).compactMap { e -> (Int, Int64, Bool)? in
                if case .cluster(let c) = e { (Int(c.offset) - at, c.timestampMs, c.keyframe) } else { nil }
            }
            let end = scanner.completeEnd.map { ($0 - Int64(at), scanner.completeEndBlockMs) }
            try append(file, payload, seq: seq, clusters: marks, newPart: seq == 0, lastBlockMs: scanner.lastBlockTimeMs, completeEnd: end)
            at += payload.count
            seq += 1
        }
        let done = try file.finish(at: Fixture.t0)
        #expect(done.bytes == 3794 && done.durationMs == 900, "the clusters at 0 and 500 ms, blocks up to 900 ms")
        let index = try #require(RecordingStore(dataDir: tmp.path).index(sessionID: sid, recordingID: rid))
        #expect(index.frames(part: 1).last?.end == 3794)
        #expect(index.clusters(part: 1).map(\.offset) == [409, 2589])
        #expect(fileBytes(Fixture.recordingsDir(tmp) + "/\(rid).webm") == Array(webm.prefix(3794)))
    }
}

extension RecordingFileCutTests {
    /// A stream whose last element never ends would make the writer remember every payload: past
    /// `maxTailFrames` the part is kept whole instead.
    @Test func aPartThatNeverCompletesAnElementIsKeptWhole() throws {
        let tmp = try TempDirectory()
        let file = try open(tmp)
        try append(file, Fixture.webmStart, seq: 0, newPart: true, completeEnd: (9, nil))
        for seq in 1...4200 { try append(file, [7], seq: UInt32(seq), completeEnd: (-Int64(seq), nil)) }
        let done = try file.finish(at: Fixture.t0)
        #expect(done.bytes == 9 + 4200 && done.frames == 4201)
    }
}
