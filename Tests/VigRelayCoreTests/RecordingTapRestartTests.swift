import Testing
import VigRelayCore

/// The recording tap when the camera's sender leaves and a new stream follows (reconnects).
struct RecordingTapRestartTests {
    typealias Frames = [(MediaFrameHeader, [UInt8])]

    /// Feeds frames; returns the parts written: each part's bytes and its cluster marks as
    /// (offset in the part, time).
    static func feed(_ tap: inout RecordingTap, _ frames: Frames, into parts: inout [([UInt8], [(Int64, Int64)])]) {
        for (h, m) in frames {
            for c in tap.frame(h, m) {
                if c.newPart || parts.isEmpty { parts.append(([], [])) }
                let base = Int64(parts[parts.count - 1].0.count)
                parts[parts.count - 1].1 += c.clusters.map { (base + $0.offsetInChunk, $0.timeMs) }
                parts[parts.count - 1].0 += c.bytes
            }
        }
    }

    /// The fixture's frames with the first one's init flag removed: a stream resumed mid-way.
    static func withoutInit(_ frames: Frames) -> Frames {
        frames.map { (h, m) in
            var header = h
            header.flags.remove(.initSegment)
            return (header, header.bytes + m[MediaFrameHeader.size...])
        }
    }

    @Test(arguments: [[1000], [97, 4000, 13]])
    func aNewStreamAfterTheSenderLeftIsANewPartThatPlaysOnItsOwn(sizes: [Int]) {
        let frames = RecordingTapTests.frames(sizes: sizes)
        var tap = RecordingTap()
        tap.start(id: "r1")
        var parts: [([UInt8], [(Int64, Int64)])] = []
        Self.feed(&tap, Array(frames.prefix(frames.count / 2)), into: &parts)
        tap.streamEnded()
        #expect(tap.recordingID == "r1" && tap.isWaiting)
        Self.feed(&tap, Self.withoutInit(frames), into: &parts)
        #expect(parts.count == 1, "a stream without an init segment is not recorded")
        Self.feed(&tap, frames, into: &parts)
        #expect(parts.count == 2)
        #expect(parts[1].0 == RecordingTapTests.file, "the new part holds the whole new stream")
        #expect(parts[1].1.first?.1 == 0, "cluster times restart at the part's first cluster")
        #expect(parts[1].1.first?.0 == Int64(RecordingTapTests.initEnd), "cluster offsets are the part's own")
        #expect(parts[1].1.map(\.1).contains(3000))
        #expect(!tap.isWaiting)
    }

    @Test func aRecordingStillWaitingForItsFirstKeyframeStartsWithTheNextStream() {
        let frames = RecordingTapTests.frames(sizes: [1000])
        var tap = RecordingTap()
        var parts: [([UInt8], [(Int64, Int64)])] = []
        Self.feed(&tap, Array(frames.prefix(4)), into: &parts)
        tap.start(id: "r2")
        Self.feed(&tap, Array(frames[4..<6]), into: &parts)  // 4000..<6000: before the key cluster at 7308
        #expect(parts.isEmpty)
        tap.streamEnded()
        Self.feed(&tap, frames, into: &parts)
        #expect(parts.count == 1)
        #expect(parts.first?.0 == RecordingTapTests.file)
    }

    @Test func aSenderLeavingWithNoRecordingForgetsItsStream() {
        let frames = RecordingTapTests.frames(sizes: [1000])
        var tap = RecordingTap()
        var parts: [([UInt8], [(Int64, Int64)])] = []
        Self.feed(&tap, Array(frames.prefix(3)), into: &parts)
        tap.streamEnded()
        tap.start(id: "r3")
        Self.feed(&tap, Self.withoutInit(frames), into: &parts)
        #expect(parts.isEmpty, "the old stream's init segment does not describe a stream after a reconnect")
    }

    /// A sender that starts a new stream on the same connection (its recorder restarted: the camera
    /// started again, or a link that fell behind) while a recording that began mid-stream runs: the
    /// new stream is a new part followed from its first byte (cluster marks, where it may end), as a
    /// recording of that stream from its start would be, not only past the old stream's offset where
    /// the recording began.
    @Test(arguments: [[1000], [97, 4000, 13]])
    func aNewStreamOnTheSameConnectionIsFollowedFromItsFirstByte(sizes: [Int]) {
        let frames = RecordingTapTests.frames(sizes: sizes)
        var tap = RecordingTap()
        var parts: [([UInt8], [(Int64, Int64)])] = []
        Self.feed(&tap, Array(frames.prefix(frames.count / 3)), into: &parts)
        tap.start(id: "r4")
        Self.feed(&tap, Array(frames[(frames.count / 3)...]), into: &parts)
        #expect(parts.count == 1 && parts[0].0.count < RecordingTapTests.file.count, "the first part began mid-stream")
        var ends: [Int64?] = []
        for (h, m) in frames {
            for c in tap.frame(h, m) {
                if c.newPart { parts.append(([], [])) }
                parts[parts.count - 1].1 += c.clusters.map { (Int64(parts[parts.count - 1].0.count) + $0.offsetInChunk, $0.timeMs) }
                ends.append(c.completeEnd.map { Int64(parts[parts.count - 1].0.count) + $0.offsetInChunk })
                parts[parts.count - 1].0 += c.bytes
            }
        }
        var whole = RecordingTap()
        whole.start(id: "w")
        var expected: [([UInt8], [(Int64, Int64)])] = []
        Self.feed(&whole, frames, into: &expected)
        #expect(parts.count == 2)
        #expect(parts[1].0 == RecordingTapTests.file, "the new part holds the whole new stream")
        #expect(parts[1].1.map(\.0) == expected[0].1.map(\.0) && parts[1].1.map(\.1) == expected[0].1.map(\.1),
                "its clusters are marked as in a recording of the stream from its start")
        #expect(ends.last == Int64(RecordingTapTests.file.count), "a stream sent whole may end where it ends")
    }
}

