import Foundation
import Testing
import VigRelayCore
import VigRelayStorage

/// Planning clips from a recording's files, saving them, and streaming them back
/// (RecordingReader+Clips.swift, RecordingStore+Clips.swift).
struct RecordingReaderClipTests {
    let sid = Fixture.sessionID
    let rid = Fixture.recordingID
    let clipID = "0123456789abcdef"

    /// Records the 4 s WebM fixture `parts` times in a row (each a restarted stream: a new part).
    /// Clusters every 500 ms, keyframes every second; each part lasts 3500 ms by its clusters.
    @discardableResult
    func record(_ tmp: TempDirectory, parts: Int = 1, finish: Bool = true) throws -> [UInt8] {
        let webm = try Fixture.webmFixture()
        let file = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: rid, startedAt: Fixture.t0)
        for _ in 0..<parts { try file.appendWebM(webm[...], chunk: 777) }
        if finish { _ = try file.finish(at: Fixture.t0.addingTimeInterval(8)) } else { _ = file.fail(reason: "test", at: Fixture.t0) }
        return webm
    }

    func request(_ from: Int64, _ to: Int64, recording: String? = nil) -> ClipRequest {
        ClipRequest(sessionID: sid, recordingID: recording ?? rid, fromMs: from, toMs: to, note: "a moment")
    }

    func plan(_ reader: RecordingReader, _ from: Int64, _ to: Int64) -> Result<ClipRecord, RecordingRequestError> {
        reader.planClip(request(from, to), clipID: clipID, now: Fixture.t0.addingTimeInterval(60))
    }

    @Test func aClipIsTheInitSegmentAndTheKeyframeClustersPatched() throws {
        let tmp = try TempDirectory()
        let webm = try record(tmp)
        let reader = RecordingReader(dataDir: tmp.path)
        let record = try plan(reader, 1200, 2600).get()
        #expect(record.ranges == [[0, 409], [3794, 10804]])
        #expect(record.patches.map(\.offset) == [40, 235], "Segment size and Duration overwritten")
        #expect((record.actualFromMs, record.actualToMs, record.part) == (1000, 3000, 1))
        #expect((record.fromMs, record.toMs, record.note, record.clipId) == (1200, 2600, "a moment", clipID))

        #expect(try RecordingStore(dataDir: tmp.path).saveClip(record, keyring: nil))
        #expect(RecordingStore(dataDir: tmp.path).clips(sessionID: sid) == [record])
        guard case .success(let opened) = reader.open(MediaRequest(sessionID: sid, resource: .clip(id: clipID))) else {
            Issue.record("the saved clip does not open")
            return
        }
        #expect(opened.contentType == "video/webm")
        let expected = try #require(record.plan?.assemble(from: webm))
        #expect(opened.slice.length == Int64(expected.count))
        // Streamed in odd chunks (patches straddle chunk edges), it is the assembled clip.
        var streamed: [UInt8] = []
        var at: Int64 = 0
        while at < opened.slice.length {
            streamed += try opened.slice.read(at..<at + 37)
            at += 37
        }
        #expect(streamed == expected)
        var scanner = WebMScanner()
        let events = scanner.feed(streamed)
        #expect(scanner.error == nil && scanner.segmentSizeField == nil && scanner.durationElement == nil)
        let times: [Int64] = events.compactMap { if case .cluster(let c) = $0 { c.timestampMs } else { nil } }
        #expect(times == [1000, 1500, 2000, 2500])
    }

    @Test(arguments: [
        (Int64(-1), Int64(1000), "must not be negative"),
        (2000, 2000, "reversed or empty"),
        (3000, 1000, "reversed or empty"),
        (3000, 3600, "past the end"),
        (3500, 3501, "past the end"),
    ])
    func badSpansAreRefusedWithClipPlansMessage(from: Int64, to: Int64, words: String) throws {
        let tmp = try TempDirectory()
        try record(tmp)
        guard case .failure(let error) = plan(RecordingReader(dataDir: tmp.path), from, to) else {
            Issue.record("\(from)-\(to) should be refused")
            return
        }
        #expect(error.response.status == 400)
        #expect(String(decoding: error.response.body, as: UTF8.self).contains(words), "\(error)")
    }

    @Test func aSpanOverTheLimitIsRefused() throws {
        let tmp = try TempDirectory()
        // The fixture's bytes, indexed as if its second keyframe cluster came 70 s in.
        let webm = try Fixture.webmFixture()
        let file = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: rid, startedAt: Fixture.t0)
        try file.append(payload: webm[...], mediaTimeUs: 0, sequence: 0, flags: 1,
                        clusters: [(409, 0, true), (3794, 70_000, true)], newPart: true)
        #expect(try file.finish(at: Fixture.t0).durationMs == 70_000)
        let reader = RecordingReader(dataDir: tmp.path)
        let error = try #require(plan(reader, 1000, 62_000).failure)
        #expect(error == .invalidSpan(.tooLong(fromMs: 1000, toMs: 62_000, maxSpanMs: ClipPlan.defaultMaxSpanMs)))
        #expect(String(decoding: error.response.body, as: UTF8.self).contains("longer than 60 s"))
        #expect(plan(reader, 1000, 61_000).failure == nil, "exactly 60 s is allowed")
    }

    @Test func aRunningUnknownDeletedOrUncuttableRecordingIsRefused() throws {
        let tmp = try TempDirectory()
        let reader = RecordingReader(dataDir: tmp.path)
        let running = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: rid, startedAt: Fixture.t0)
        try running.appendWebM(try Fixture.webmFixture()[...], chunk: 4096)
        #expect(plan(reader, 0, 1000).failure == .recordingInProgress(recordingID: rid))
        _ = try running.finish(at: Fixture.t0)
        #expect(plan(reader, 0, 1000).failure == nil)
        #expect(reader.planClip(request(0, 1000, recording: "0000000000000000"), clipID: clipID, now: Fixture.t0).failure == .recordingNotFound)

        let other = Fixture.otherRecordingID
        let bin = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: other, startedAt: Fixture.t0)
        try bin.append(Fixture.otherStart, newPart: true)
        _ = try bin.finish(at: Fixture.t0)
        #expect(reader.planClip(request(0, 1000, recording: other), clipID: clipID, now: Fixture.t0).failure
                == .notCuttable(mediaType: "application/octet-stream", reason: nil))

        _ = try RecordingStore(dataDir: tmp.path).deleteAll(sessionID: sid, at: Fixture.t0)
        #expect(plan(reader, 0, 1000).failure == .recordingNotFound)
    }

    /// Everything before a WebM's first cluster is read into memory to cut a clip; a sender that
    /// makes its own stream could put megabytes there. Over 1 MiB it is refused with the reason (the
    /// whole recording can still be downloaded), not answered as a fault of the relay's.
    @Test func anInitSegmentOverTheLimitIsRefusedWithTheReason() throws {
        var webm = try Fixture.webmFixture("testsrc-av-live.webm") // its Segment's size is unknown, as a browser's
        let cluster = try #require(webm.indices.first { webm[$0..<$0 + 4] == [0x1F, 0x43, 0xB6, 0x75] })
        let voidSize = 1 << 20 // a Void element (EC) of 1 MiB, its size in 8 bytes
        webm.insert(contentsOf: [0xEC, 0x01, 0, 0, 0, 0, 0x10, 0, 0] + [UInt8](repeating: 0, count: voidSize), at: cluster)
        let tmp = try TempDirectory()
        let file = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: rid, startedAt: Fixture.t0)
        #expect(try file.appendWebM(webm[...], chunk: 65536).first == Int64(cluster + 9 + voidSize), "the scanner found the cluster after the Void")
        _ = try file.finish(at: Fixture.t0.addingTimeInterval(8))
        let error = try #require(plan(RecordingReader(dataDir: tmp.path), 0, 1000).failure)
        #expect(error == .notCuttable(mediaType: "video/webm",
                                      reason: "its init segment (everything before the first cluster) is longer than 1048576 bytes"))
        #expect(error.response.status == 400)
    }

    /// A recording stopped before the camera sent anything has no parts: it says so, not "past the end".
    @Test func aRecordingWithoutMediaSaysSo() throws {
        let tmp = try TempDirectory()
        _ = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: rid, startedAt: Fixture.t0).finish(at: Fixture.t0)
        let error = try #require(plan(RecordingReader(dataDir: tmp.path), 0, 1000).failure)
        #expect(error == .noMedia(recordingID: rid))
        #expect(error.response.status == 400 && error.response.body.count > 0)
    }

    @Test func aSpanMustLieInOnePart() throws {
        let tmp = try TempDirectory()
        let webm = try record(tmp, parts: 2)
        let store = RecordingStore(dataDir: tmp.path)
        let manifest = try #require(store.manifest(sessionID: sid, recordingID: rid))
        #expect(manifest.parts.map(\.startMs) == [0, 3500])
        let reader = RecordingReader(dataDir: tmp.path)
        #expect(plan(reader, 3000, 4000).failure == .crossesPartBoundary(fromMs: 3000, toMs: 4000, nextPartStartMs: 3500))
        // Up to the next part's start is inside the first part; its end is the part's end.
        let first = try plan(reader, 2500, 3500).get()
        #expect((first.part, first.actualFromMs, first.actualToMs) == (1, 2000, 3500))
        // In the second part, times are shifted by its start.
        let second = try plan(reader, 4000, 5000).get()
        #expect((second.part, second.actualFromMs, second.actualToMs) == (2, 3500, 5000))
        #expect(second.ranges == [[0, 409], [409, 5971]])
        #expect(try store.saveClip(second, keyring: nil))
        guard case .success(let opened) = reader.open(MediaRequest(sessionID: sid, resource: .clip(id: clipID))) else {
            Issue.record("the clip of part 2 does not open")
            return
        }
        #expect(try opened.slice.read(0..<opened.slice.length) == second.plan?.assemble(from: webm))
    }

    /// An excerpt is a clip planned when asked and saved nowhere: the same bytes, its span in two
    /// headers, and a span past its part's or the recording's end cut short there, not refused.
    @Test func anExcerptIsAnUnsavedClipEndingAtItsPartsEnd() throws {
        let tmp = try TempDirectory()
        let webm = try record(tmp, parts: 2)
        let reader = RecordingReader(dataDir: tmp.path)
        func excerpt(_ from: Int64, _ to: Int64) throws -> (bytes: [UInt8], headers: [String: String]) {
            let opened = try reader.open(MediaRequest(sessionID: sid, resource: .excerpt(recordingID: rid, fromMs: from, toMs: to))).get()
            #expect(opened.contentType == "video/webm")
            return (try opened.slice.read(0..<opened.slice.length), opened.headers)
        }
        let first = try excerpt(2500, 60_000)
        #expect(first.headers == ["x-vigrelay-from-ms": "2000", "x-vigrelay-to-ms": "3500"], "to the end of part 1")
        #expect(first.bytes == (try plan(reader, 2500, 3500).get().plan?.assemble(from: webm)))
        let second = try excerpt(4000, 60_000)
        #expect(second.headers == ["x-vigrelay-from-ms": "3500", "x-vigrelay-to-ms": "7000"], "to the recording's end")
        #expect(second.bytes == (try plan(reader, 4000, 7000).get().plan?.assemble(from: webm)))
        #expect(RecordingStore(dataDir: tmp.path).clips(sessionID: sid).isEmpty, "nothing saved")

        func refusal(_ from: Int64, _ to: Int64) -> RecordingRequestError? {
            reader.open(MediaRequest(sessionID: sid, resource: .excerpt(recordingID: rid, fromMs: from, toMs: to))).failure
        }
        #expect(refusal(7000, 8000) == .invalidSpan(.pastTheEnd(fromMs: 7000, toMs: 8000, durationMs: 7000)))
        #expect(refusal(0, 60_001) == nil, "cut short at the part's end before the limit is checked")
        #expect(refusal(3000, 2000) == .invalidSpan(.reversedOrEmpty(fromMs: 3000, toMs: 2000)))
        let other = MediaRequest(sessionID: sid, resource: .excerpt(recordingID: "ffffffffffffffff", fromMs: 0, toMs: 1000))
        #expect(reader.open(other).failure == .recordingNotFound)
    }

    @Test func noClipRecordOutlivesItsRecording() throws {
        let tmp = try TempDirectory()
        try record(tmp)
        let store = RecordingStore(dataDir: tmp.path)
        let reader = RecordingReader(dataDir: tmp.path)
        let record = try plan(reader, 0, 1000).get()
        _ = try store.deleteAll(sessionID: sid, at: Fixture.t0)
        #expect(try store.saveClip(record, keyring: nil) == false, "planned before the deletion, saved after: refused")
        #expect(store.clips(sessionID: sid).isEmpty)
        #expect(names("\(tmp.path)/sessions/\(sid)/clips").isEmpty)

        let tmp2 = try TempDirectory()
        try self.record(tmp2)
        let store2 = RecordingStore(dataDir: tmp2.path)
        #expect(try store2.saveClip(try plan(RecordingReader(dataDir: tmp2.path), 0, 1000).get(), keyring: nil))
        #expect(names("\(tmp2.path)/sessions/\(sid)/clips") == ["\(clipID).json"])
        _ = try store2.deleteAll(sessionID: sid, at: Fixture.t0)
        #expect(names("\(tmp2.path)/sessions/\(sid)/clips").isEmpty)
        guard case .failure(.clipNotFound) = RecordingReader(dataDir: tmp2.path).open(MediaRequest(sessionID: sid, resource: .clip(id: clipID))) else {
            Issue.record("a deleted clip must not open")
            return
        }
    }

    @Test func clipRecordsNamingOtherIdsThanTheirPathAreIgnored() throws {
        let tmp = try TempDirectory()
        try record(tmp)
        let store = RecordingStore(dataDir: tmp.path)
        var record = try plan(RecordingReader(dataDir: tmp.path), 0, 1000).get()
        #expect(try store.saveClip(record, keyring: nil))
        record.clipId = "ffffffffffffffff"
        let misplaced = "\(tmp.path)/sessions/\(sid)/clips/\(clipID).json"
        try Data(try ClipRecordFile.encode(record)).write(to: URL(fileURLWithPath: misplaced))
        #expect(store.clip(sessionID: sid, clipID: clipID) == nil)
        #expect(store.clips(sessionID: sid).isEmpty)
        for bad in Fixture.badIDs { #expect(store.clip(sessionID: sid, clipID: bad) == nil) }
    }
}

extension Result {
    /// The error, or nil on success.
    var failure: Failure? {
        if case .failure(let error) = self { error } else { nil }
    }
}
