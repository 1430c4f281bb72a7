import Foundation
import Testing
import VigRelayCore
import VigRelayStorage

/// Clips of fragmented MP4 recordings (Safari's): planned from the part's box layout
/// (Mp4PartLayout.swift), served as `video/mp4`.
struct RecordingReaderMp4ClipTests {
    let sid = Fixture.sessionID
    let rid = Fixture.recordingID
    let clipID = "0123456789abcdef"

    /// Where the fixture's `moof`s start (see Mp4FragmentTests), at 0, 521, 1021, ... 3521 ms (the
    /// first frame lasts 21 ms longer); its `mfra` starts at 29071.
    static let moofs: [Int64] = [1240, 4911, 7823, 11517, 14615, 18693, 21826, 26018]
    static let mfra: Int64 = 29071

    /// Records the MP4 fixture as the family's page sends it: the init segment flagged, then one
    /// payload per fragment, keyframe-flagged at 0, 1, 2 and 3 s, header times 0.5 s apart (so the
    /// recording lasts 3500 ms). `cut` drops that many bytes from the end (a torn last fragment).
    @discardableResult
    func record(_ tmp: TempDirectory, bytes: [UInt8]? = nil, cut: Int = 0) throws -> [UInt8] {
        var mp4 = try bytes ?? Fixture.webmFixture("testsrc-av-frag.mp4")
        mp4.removeLast(cut)
        let file = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: rid, startedAt: Fixture.t0)
        try file.append(Array(mp4[0..<Int(Self.moofs[0])]), flags: MediaFrameFlags([.initSegment, .keyframe]).rawValue, newPart: true)
        let ends = Self.moofs.dropFirst().map { Int($0) } + [mp4.count]
        for (index, start) in Self.moofs.enumerated() {
            try file.append(Array(mp4[Int(start)..<ends[index]]), timeUs: UInt64(index) * 500_000, sequence: UInt32(index + 1),
                            flags: index % 2 == 0 ? MediaFrameFlags.keyframe.rawValue : 0)
        }
        _ = try file.finish(at: Fixture.t0.addingTimeInterval(8))
        return mp4
    }

    func plan(_ reader: RecordingReader, _ from: Int64, _ to: Int64) -> Result<ClipRecord, RecordingRequestError> {
        reader.planClip(ClipRequest(sessionID: sid, recordingID: rid, fromMs: from, toMs: to), clipID: clipID, now: Fixture.t0)
    }

    /// A part of more tiny boxes than any recording has is refused after `maxBoxes`, not walked to
    /// its end on the reader thread every download shares.
    @Test func aPartOfTooManyBoxesIsNotWalked() throws {
        let tmp = try TempDirectory()
        let mp4 = try Fixture.webmFixture("testsrc-av-frag.mp4")
        let file = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: rid, startedAt: Fixture.t0)
        try file.append(Array(mp4[0..<Int(Self.moofs[0])]), flags: MediaFrameFlags([.initSegment, .keyframe]).rawValue, newPart: true)
        let tiny: [UInt8] = [0, 0, 0, 8] + Array("free".utf8)
        try file.append(Array([[UInt8]](repeating: tiny, count: 500_001).joined()), flags: MediaFrameFlags.keyframe.rawValue)
        _ = try file.finish(at: Fixture.t0)
        let error = try #require(plan(RecordingReader(dataDir: tmp.path), 0, 1000).failure)
        guard case .notCuttable("video/mp4", let reason?) = error else {
            Issue.record("expected notCuttable, got \(error)")
            return
        }
        #expect(reason.contains("500000 boxes"))
    }

    @Test func aClipIsTheInitSegmentAndTheFragmentsFromAKeyframe() throws {
        let tmp = try TempDirectory()
        let mp4 = try record(tmp)
        let reader = RecordingReader(dataDir: tmp.path)
        let record = try plan(reader, 1200, 2600).get()
        #expect(record.ranges == [[0, 1240], [7823, 21826]], "from the keyframe fragment at 1 s to the fragment at 3 s")
        #expect(record.patches.isEmpty)
        #expect((record.actualFromMs, record.actualToMs, record.part) == (1021, 3021, 1))

        #expect(try RecordingStore(dataDir: tmp.path).saveClip(record, keyring: nil))
        guard case .success(let opened) = reader.open(MediaRequest(sessionID: sid, resource: .clip(id: clipID))) else {
            Issue.record("the saved clip does not open")
            return
        }
        #expect(opened.contentType == "video/mp4")
        let clip = try opened.slice.read(0..<opened.slice.length)
        #expect(clip == (try #require(record.plan?.assemble(from: mp4))))
        let top = Mp4Box.boxes(in: clip, 0..<clip.count)
        #expect(top.map(\.type) == ["ftyp", "moov", "moof", "mdat", "moof", "mdat", "moof", "mdat", "moof", "mdat"])
        #expect(top.last?.end == Int64(clip.count), "whole boxes only")
        let movie = try #require(Mp4InitSegment(Array(clip[0..<1240])))
        let times = top.filter { $0.type == "moof" }.compactMap {
            Mp4Fragment(moof: Array(clip[Int($0.offset)..<Int($0.end)]), movie: movie)?.timeMs
        }
        #expect(times == [1021, 1521, 2021, 2521])
    }

    @Test func aClipToTheEndHasTheLastFragmentAndLeavesTheMfraOut() throws {
        let tmp = try TempDirectory()
        try record(tmp)
        let reader = RecordingReader(dataDir: tmp.path)
        // The recording lasts 3500 ms by its frames' header times; its last fragment starts at 3521.
        let record = try plan(reader, 3100, 3500).get()
        #expect(record.ranges == [[0, 1240], [21826, Self.mfra]])
        #expect((record.actualFromMs, record.actualToMs) == (3021, 3500), "to the recording's end")
        #expect(try plan(reader, 3100, 3400).get().ranges == [[0, 1240], [21826, 26018]], "up to the fragment at 3521 ms")
        #expect(try plan(reader, 0, 400).get().ranges == [[0, 1240], [1240, 4911]])
    }

    @Test func aTornLastFragmentIsLeftOut() throws {
        let tmp = try TempDirectory()
        // The stream broke inside the last fragment's mdat: the mfra and 100 bytes of media are missing.
        try record(tmp, cut: Int(29447 - Self.mfra) + 100)
        let record = try plan(RecordingReader(dataDir: tmp.path), 3100, 3500).get()
        #expect(record.ranges == [[0, 1240], [21826, 26018]])
    }

    @Test func timesCountFromThePartsFirstFragment() throws {
        // The same file with every tfdt 10 s later (a recording started 10 s into the camera stream):
        // the clip's times are still from the recording's start, as the pages place marks.
        var mp4 = try Fixture.webmFixture("testsrc-av-frag.mp4")
        for moof in Self.moofs {
            for traf in Mp4Box.boxes(in: mp4, Int(moof) + 8..<mp4.count).prefix(while: { $0.type != "mdat" }) where traf.type == "traf" {
                let tfdt = try #require(Mp4Box.boxes(in: mp4, Int(traf.bodyOffset)..<Int(traf.end)).first { $0.type == "tfdt" })
                let trackTimescale: UInt64 = traf == Mp4Box.boxes(in: mp4, Int(moof) + 8..<mp4.count).first { $0.type == "traf" } ? 10240 : 48000
                let at = Int(tfdt.bodyOffset) + 4 // version 1: 64 bits
                #expect(mp4[Int(tfdt.bodyOffset)] == 1)
                let ticks = mp4[at..<at + 8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } + 10 * trackTimescale
                for i in 0..<8 { mp4[at + i] = UInt8(truncatingIfNeeded: ticks >> (56 - 8 * UInt64(i))) }
            }
        }
        let tmp = try TempDirectory()
        try record(tmp, bytes: mp4)
        let record = try plan(RecordingReader(dataDir: tmp.path), 1200, 2600).get()
        #expect(record.ranges == [[0, 1240], [7823, 21826]])
        #expect((record.actualFromMs, record.actualToMs) == (1021, 3021))
    }

    @Test func fragmentsWithAbsoluteOffsetsAreRefusedWithTheReason() throws {
        var mp4 = try Fixture.webmFixture("testsrc-av-frag.mp4")
        // Set tfhd's base-data-offset-present flag in the second fragment's first traf.
        let traf = try #require(Mp4Box.boxes(in: mp4, Int(Self.moofs[1]) + 8..<Int(Self.moofs[2])).first { $0.type == "traf" })
        let tfhd = try #require(Mp4Box.boxes(in: mp4, Int(traf.bodyOffset)..<Int(traf.end)).first { $0.type == "tfhd" })
        mp4[Int(tfhd.bodyOffset) + 3] |= 0x01
        let tmp = try TempDirectory()
        try record(tmp, bytes: mp4)
        let error = try #require(plan(RecordingReader(dataDir: tmp.path), 1200, 2600).failure)
        guard case .notCuttable("video/mp4", let reason?) = error else {
            Issue.record("expected notCuttable, got \(error)")
            return
        }
        #expect(reason.contains("base-data-offset"))
        #expect(error.response.status == 400)
    }

    /// A recording holds what the family's browser sent, so its boxes may say anything. Each box
    /// header of the fixture given another size or type: a clip of it is cut, or refused with a 4xx
    /// that says why (the whole recording can still be downloaded), never a server error, which
    /// would send the practitioner to the operator for the family's bytes.
    @Test func aDamagedBoxHeaderGetsAClipOrARefusalThatSaysWhy() throws {
        let valid = try Fixture.webmFixture("testsrc-av-frag.mp4")
        let containers: Set = ["moov", "trak", "mdia", "mvex", "moof", "traf"]
        func boxes(_ range: Range<Int>) -> [Mp4Box] {
            Mp4Box.boxes(in: valid, range).flatMap { box in
                [box] + (containers.contains(box.type) ? boxes(Int(box.bodyOffset)..<Int(box.end)) : [])
            }
        }
        var refused: Set<String> = []
        for box in boxes(0..<valid.count) {
            let size = UInt32(box.end - box.offset)
            // Past the file's end, shorter than a header, to the end (0), 64 bits follow (1), a byte
            // short or long; then a type no reader knows.
            let damage = [0xFFFF_FFFF, 4, 0, 1, size - 1, size + 1].map { withUnsafeBytes(of: $0.bigEndian, Array.init) } + [Array("xxxx".utf8)]
            for (index, bytes) in damage.enumerated() {
                var mp4 = valid
                let at = Int(box.offset) + (index < damage.count - 1 ? 0 : 4)
                mp4.replaceSubrange(at..<at + 4, with: bytes)
                let tmp = try TempDirectory()
                try record(tmp, bytes: mp4)
                guard let error = plan(RecordingReader(dataDir: tmp.path), 1200, 2600).failure else { continue }
                #expect((400..<500).contains(error.response.status), "\(box.type) at \(box.offset) given \(bytes): \(error)")
                refused.insert("\(error)")
            }
        }
        #expect(refused.count >= 3, "the damage reaches several of the checks: \(refused)")
    }

    @Test func anMp4WithoutAMovieHeaderIsRefused() throws {
        let tmp = try TempDirectory()
        let file = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: rid, startedAt: Fixture.t0)
        try file.append(Fixture.mp4Start, newPart: true)
        _ = try file.finish(at: Fixture.t0)
        let error = try #require(plan(RecordingReader(dataDir: tmp.path), 0, 1000).failure)
        #expect(error.response.status == 400 || error == .invalidSpan(.pastTheEnd(fromMs: 0, toMs: 1000, durationMs: 0)), "\(error)")
    }
}
