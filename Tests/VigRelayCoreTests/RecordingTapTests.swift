import Foundation
import Testing
import VigRelayCore

/// The recording tap on a real WebM made by ffmpeg (clusters every 500 ms, keyframes every second).
struct RecordingTapTests {
    static let file: [UInt8] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/testsrc-4s.webm")
        return (try? [UInt8](Data(contentsOf: url))) ?? []
    }()
    /// A missing fixture reads as empty above, which would make `out == Self.file` pass for nothing.
    @Test func theFixtureIsThere() {
        #expect(Self.file.count > 12_987, "Fixtures/testsrc-4s.webm is missing or short")
    }

    /// From WebMScannerFixtureTests: init segment end and the keyframe clusters' offsets.
    static let initEnd = 409
    static let keyClusters: [Int] = [409, 3794, 7308, 10804]

    /// Cuts the file into camera frames of varying sizes (fixed pattern), the first flagged init.
    static func frames(sizes: [Int]) -> [(MediaFrameHeader, [UInt8])] {
        var out: [(MediaFrameHeader, [UInt8])] = []
        var at = 0, i = 0
        while at < file.count {
            let n = min(sizes[i % sizes.count], file.count - at)
            let header = MediaFrameHeader(stream: .camera, flags: at == 0 ? [.initSegment] : [], sequence: UInt32(i), mediaTimeMicros: UInt64(i) * 100_000)
            out.append((header, header.bytes + file[at..<(at + n)]))
            at += n
            i += 1
        }
        return out
    }

    @Test(arguments: [[1000], [97, 4000, 13], [20000]])
    func recordingFromTheStartKeepsEveryByte(sizes: [Int]) {
        var tap = RecordingTap()
        tap.start(id: "r1")
        var out: [UInt8] = []
        var newParts = 0
        var clusterTimes: [Int64] = []
        var written: Int64 = 0
        var lastBlockMs: Int64 = -1
        for (h, m) in Self.frames(sizes: sizes) {
            for c in tap.frame(h, m) {
                if c.newPart { newParts += 1 }
                lastBlockMs = max(lastBlockMs, c.lastBlockMs ?? -1)
                clusterTimes += c.clusters.map(\.timeMs)
                for mark in c.clusters { #expect(Int(written + mark.offsetInChunk) >= Self.initEnd) }
                out += c.bytes
                written += Int64(c.bytes.count)
            }
        }
        #expect(out == Self.file)
        #expect(newParts == 1)
        #expect(clusterTimes.first == 0)
        #expect(clusterTimes.contains(3000))
        #expect(lastBlockMs == 3900, "ffprobe: the last packet is at 3.9 s")
    }

    @Test(arguments: [(500, [1000]), (4000, [97, 4000, 13]), (7308, [1]), (7309, [1]), (9000, [3000])])
    func recordingMidStreamStartsWithInitThenTheNextKeyframeCluster(startAfter: Int, sizes: [Int]) throws {
        var tap = RecordingTap()
        var fed = 0
        var out: [UInt8] = []
        var firstMarkFileOffset: Int64?
        for (h, m) in Self.frames(sizes: sizes) {
            if !tap.isRecording && fed >= startAfter { tap.start(id: "r2") }
            for c in tap.frame(h, m) {
                if firstMarkFileOffset == nil, let mark = c.clusters.first {
                    firstMarkFileOffset = Int64(out.count) + mark.offsetInChunk
                    #expect(mark.timeMs == 0, "recording time starts at its first cluster")
                    #expect(mark.keyframe)
                }
                out += c.bytes
            }
            fed += m.count - MediaFrameHeader.size
        }
        let key = try #require(Self.keyClusters.first { $0 >= startAfter })
        #expect(out.count == Self.initEnd + Self.file.count - key)
        #expect(Array(out.prefix(Self.initEnd)) == Array(Self.file.prefix(Self.initEnd)), "starts with the init segment")
        #expect(Array(out.dropFirst(Self.initEnd)) == Array(Self.file[key...]), "then the stream from the keyframe cluster")
        #expect(firstMarkFileOffset == Int64(Self.initEnd))
    }

    @Test func nonWebMWaitsForAFlaggedKeyframe() {
        var tap = RecordingTap()
        func frame(_ flags: MediaFrameFlags, _ seq: UInt32, _ body: [UInt8]) -> (MediaFrameHeader, [UInt8]) {
            let h = MediaFrameHeader(stream: .camera, flags: flags, sequence: seq, mediaTimeMicros: UInt64(seq) * 1000)
            return (h, h.bytes + body)
        }
        _ = tap.frame(frame(.initSegment, 0, [1, 1]).0, frame(.initSegment, 0, [1, 1]).1)
        _ = tap.frame(frame([], 1, [2]).0, frame([], 1, [2]).1)
        tap.start(id: "r3")
        #expect(tap.frame(frame([], 2, [3]).0, frame([], 2, [3]).1).isEmpty)
        let started = tap.frame(frame(.keyframe, 3, [4, 4]).0, frame(.keyframe, 3, [4, 4]).1)
        #expect(started.map(\.bytes) == [[1, 1], [4, 4]])
        #expect(started.map(\.newPart) == [true, false])
        let next = tap.frame(frame([], 4, [5]).0, frame([], 4, [5]).1)
        #expect(next.map(\.bytes) == [[5]])
        tap.stop()
        #expect(tap.frame(frame([], 5, [6]).0, frame([], 5, [6]).1).isEmpty)
    }
}
