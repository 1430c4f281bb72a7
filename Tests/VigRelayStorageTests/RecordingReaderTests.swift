import Foundation
import Testing
import VigRelayCore
import VigRelayStorage

/// Opening and reading what downloads ask for (RecordingReader.swift, MediaFileSlice.swift).
struct RecordingReaderTests {
    let sid = Fixture.sessionID
    let rid = Fixture.recordingID
    let rid2 = Fixture.otherRecordingID

    /// `rid`: a finished recording of the 4 s WebM fixture; `rid2`: a two-part recording (WebM, then
    /// other bytes) still being written. Returns the fixture and the open recording.
    func populate(_ tmp: TempDirectory) throws -> (webm: [UInt8], writing: RecordingFile) {
        let webm = try Fixture.webmFixture()
        let a = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: rid, startedAt: Fixture.t0)
        try a.appendWebM(webm[...], chunk: 1000)
        _ = try a.finish(at: Fixture.t0.addingTimeInterval(4))
        let b = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: rid2, startedAt: Fixture.t0)
        try b.append(Fixture.webmStart, newPart: true)
        try b.append(Fixture.otherStart, newPart: true)
        try b.sync()
        return (webm, b)
    }

    func opened(_ reader: RecordingReader, _ request: MediaRequest,
                sourceLocation: SourceLocation = #_sourceLocation) -> (slice: MediaFileSlice, contentType: String)? {
        switch reader.open(request) {
        case .success(let opened): return (opened.slice, opened.contentType)
        case .failure(let error):
            Issue.record("could not open \(request): \(error)", sourceLocation: sourceLocation)
            return nil
        }
    }

    @Test func opensEachPartWithItsContentType() throws {
        let tmp = try TempDirectory()
        let (webm, writing) = try populate(tmp)
        let reader = RecordingReader(dataDir: tmp.path)
        let whole = try #require(opened(reader, MediaRequest(sessionID: sid, resource: .recording(id: rid, part: 1))))
        #expect(whole.contentType == "video/webm")
        #expect(whole.slice.length == Int64(webm.count))
        #expect(try whole.slice.read(0..<whole.slice.length) == webm)

        // A recording still being written reads as far as it is written, part by part.
        let first = try #require(opened(reader, MediaRequest(sessionID: sid, resource: .recording(id: rid2, part: 1))))
        #expect(try first.slice.read(0..<100) == Fixture.webmStart)
        let second = try #require(opened(reader, MediaRequest(sessionID: sid, resource: .recording(id: rid2, part: 2))))
        #expect(second.contentType == "application/octet-stream")
        #expect(try second.slice.read(0..<second.slice.length) == Fixture.otherStart)
        _ = writing.fail(reason: "test over", at: Fixture.t0)
    }

    @Test func readsAnyRangeClampedToTheFile() throws {
        let tmp = try TempDirectory()
        let (webm, writing) = try populate(tmp)
        _ = writing.fail(reason: "test over", at: Fixture.t0)
        let slice = try #require(opened(RecordingReader(dataDir: tmp.path), MediaRequest(sessionID: sid, resource: .recording(id: rid, part: 1)))).slice
        let n = Int64(webm.count)
        #expect(try slice.read(0..<100) == Array(webm[0..<100]))
        #expect(try slice.read(n - 100..<n + 500) == Array(webm.suffix(100)))
        #expect(try slice.read(n..<n + 10) == [])
        var chunks: [UInt8] = []
        var at: Int64 = 0
        while at < n {
            chunks += try slice.read(at..<at + 4096)
            at += 4096
        }
        #expect(chunks == webm)
        slice.close()
        slice.close()
        #expect(throws: RecordingRequestError.self) { try slice.read(0..<1) }
    }

    @Test func unknownDeletedOrInvalidRecordingsAreNotFound() throws {
        let tmp = try TempDirectory()
        let (_, writing) = try populate(tmp)
        _ = writing.fail(reason: "test over", at: Fixture.t0)
        let reader = RecordingReader(dataDir: tmp.path)
        let missing: [MediaRequest.Resource] = [.recording(id: rid, part: 2), .recording(id: rid, part: 0), .recording(id: "0000000000000000", part: 1)]
            + Fixture.badIDs.map { .recording(id: $0, part: 1) }
        for resource in missing {
            guard case .failure(.recordingNotFound) = reader.open(MediaRequest(sessionID: sid, resource: resource)) else {
                Issue.record("\(resource) should be recording_not_found")
                continue
            }
        }
        for bad in Fixture.badSessionIDs {
            guard case .failure(.recordingNotFound) = reader.open(MediaRequest(sessionID: bad, resource: .recording(id: rid, part: 1))) else {
                Issue.record("session \(bad) should be recording_not_found")
                continue
            }
        }
        _ = try RecordingStore(dataDir: tmp.path).deleteAll(sessionID: sid, at: Fixture.t0)
        guard case .failure(.recordingNotFound) = reader.open(MediaRequest(sessionID: sid, resource: .recording(id: rid, part: 1))) else {
            Issue.record("a deleted recording must not open")
            return
        }
    }

    @Test func anOpenFileKeepsItsLengthWhileTheRecordingGrows() throws {
        let tmp = try TempDirectory()
        let (_, writing) = try populate(tmp)
        let reader = RecordingReader(dataDir: tmp.path)
        let slice = try #require(opened(reader, MediaRequest(sessionID: sid, resource: .recording(id: rid2, part: 2)))).slice
        try writing.append([1, 2, 3])
        try writing.sync()
        #expect(slice.length == Int64(Fixture.otherStart.count))
        #expect(try slice.read(0..<1000) == Fixture.otherStart)
        _ = writing.fail(reason: "test over", at: Fixture.t0)
    }

    @Test func aClipSliceRejectsRangesPastTheFile() throws {
        let tmp = try TempDirectory()
        let (_, writing) = try populate(tmp)
        _ = writing.fail(reason: "test over", at: Fixture.t0)
        let path = try #require(RecordingStore(dataDir: tmp.path).mediaPath(sessionID: sid, recordingID: rid))
        let plan = ClipPlan(ranges: [0..<409, 10804..<20000], patches: [], actualFromMs: 3000, actualToMs: 4000)
        #expect(throws: RecordingRequestError.self) { try MediaFileSlice(path: path, plan: plan) }
        #expect(throws: RecordingRequestError.self) { try MediaFileSlice(path: tmp.path) }
        #expect(throws: RecordingRequestError.self) { try MediaFileSlice(path: tmp.path + "/missing.webm") }
    }
}
