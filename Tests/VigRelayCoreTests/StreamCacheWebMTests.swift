import Testing
import VigRelayCore

/// The late-joiner cache on a real WebM (Fixtures/testsrc-4s.webm: init segment 0..<409, clusters
/// at 409k, 2589, 3794k, 5971, 7308k, 9498, 10804k, 12987; k = starts with a keyframe), sent in
/// frames that do not line up with clusters, as MediaRecorder's do.
struct StreamCacheWebMTests {
    let webm: [UInt8]

    init() throws { webm = try ClipPlanFixtureTests.fixture("testsrc-4s.webm") }

    /// Frames of `size` payload bytes covering `webm[..<end]`, the first flagged init segment.
    func frames(upTo end: Int, size: Int) -> [[UInt8]] {
        stride(from: 0, to: end, by: size).enumerated().map { i, at in
            let header = MediaFrameHeader(stream: .camera, flags: i == 0 ? .initSegment : [], sequence: UInt32(i), mediaTimeMicros: UInt64(i) * 100_000)
            return header.bytes + webm[at..<min(at + size, end)]
        }
    }

    func cache(_ frames: [[UInt8]], capacity: Int = 1 << 20) throws -> StreamCache {
        var cache = StreamCache(capacityBytes: capacity)
        for f in frames { cache.record(f, flags: try MediaFrameHeader.parse(f).flags) }
        return cache
    }

    func payload(_ messages: [[UInt8]]) -> [UInt8] { messages.flatMap { $0.dropFirst(MediaFrameHeader.size) } }

    func flags(_ message: [UInt8]) throws -> MediaFrameFlags { try MediaFrameHeader.parse(message).flags }

    @Test(arguments: [1000, 777, 64, 5000])
    func replaysTheInitSegmentThenTheNewestKeyframeCluster(frameSize: Int) throws {
        let cache = try cache(frames(upTo: webm.count, size: frameSize))
        let replay = cache.replay
        #expect(payload([replay[0]]) == Array(webm[..<409]), "the init segment alone, without cluster bytes")
        #expect(try flags(replay[0]) == .initSegment)
        #expect(payload(Array(replay.dropFirst())) == Array(webm[10804...]), "from the last keyframe cluster to now")
        #expect(try !flags(replay[1]).contains(.initSegment))
        #expect(cache.frameBytes == cache.frames.reduce(0) { $0 + $1.count })
    }

    @Test func beforeTheSecondKeyframeClusterReplaysFromTheFirst() throws {
        let cache = try cache(frames(upTo: 3500, size: 1000))
        #expect(payload([cache.replay[0]]) == Array(webm[..<409]))
        #expect(payload(Array(cache.replay.dropFirst())) == Array(webm[409..<3500]))
    }

    @Test func anInitFrameHoldingTheFirstClusterIsSplit() throws {
        let cache = try cache(frames(upTo: 3000, size: 3000))
        #expect(cache.replay.count == 2)
        #expect(payload([cache.replay[0]]) == Array(webm[..<409]))
        #expect(payload([cache.replay[1]]) == Array(webm[409..<3000]))
        #expect(try flags(cache.replay[1]) == .keyframe, "the cut frame starts where a decoder can; it is no init segment")
    }

    @Test func anIncompleteInitSegmentIsReplayedAsItCame() throws {
        let sent = frames(upTo: 300, size: 100)
        #expect(try cache(sent).replay == sent)
    }

    @Test func keyframeFlagsDoNotMoveTheStartOfAWebMStream() throws {
        var sent = frames(upTo: 5000, size: 1000)
        sent[4][2] = MediaFrameFlags.keyframe.rawValue  // a sender's wrong flag on 4000..<5000
        let cache = try cache(sent)
        #expect(payload(Array(cache.replay.dropFirst())) == Array(webm[3794..<5000]))
    }

    @Test func pastTheCapTheNewestBytesAreKept() throws {
        let cache = try cache(frames(upTo: webm.count, size: 500), capacity: 600)
        #expect(cache.frameBytes <= 600)
        #expect(payload([cache.replay[0]]) == Array(webm[..<409]))
    }

    /// Where `record` says a viewer can start in each frame (the slow-viewer queue resumes there).
    func startPoints(_ frames: [[UInt8]]) throws -> [Int: Int] {
        var cache = StreamCache(capacityBytes: 1 << 20)
        var points: [Int: Int] = [:]
        for (i, f) in frames.enumerated() {
            if let start = cache.record(f, flags: try flags(f)) { points[i] = start }
        }
        return points
    }

    @Test func startPointsAreTheInitSegmentAndKeyframeClustersFoundMidFrame() throws {
        // Keyframe clusters at 3794, 7308, 10804: frames 3, 7, 10 of 1000 bytes, at 794, 308, 804.
        #expect(try startPoints(frames(upTo: webm.count, size: 1000)) == [0: 0, 3: 794, 7: 308, 10: 804])
        // 777-byte frames: 3794 = 4 x 777 + 686, 7308 = 9 x 777 + 315, 10804 = 13 x 777 + 703.
        #expect(try startPoints(frames(upTo: webm.count, size: 777)) == [0: 0, 4: 686, 9: 315, 13: 703])
    }

    @Test func everyStartPointIsTheStartOfAKeyframeClusterWhateverTheFrameSize() throws {
        let keyframeClusters: Set<Int> = [409, 3794, 7308, 10804]
        for size in [16, 64, 100, 333, 4096] {
            let points = try startPoints(frames(upTo: webm.count, size: size))
            #expect(points[0] == 0)
            for (frame, offset) in points where frame > 0 {
                #expect(keyframeClusters.contains(frame * size + offset), "frame size \(size): frame \(frame) offset \(offset)")
            }
        }
    }

    @Test func endOfStreamIsAStartPointAndKeyframeFlagsAreNotInWebM() throws {
        var cache = StreamCache(capacityBytes: 1 << 20)
        let sent = frames(upTo: 3000, size: 1000)
        #expect(cache.record(sent[0], flags: .initSegment) == 0)
        var flagged = sent[1]
        flagged[2] = MediaFrameFlags.keyframe.rawValue
        #expect(cache.record(flagged, flags: .keyframe) == nil, "WebM start points come from the relay's parsing, not the flag")
        let end = MediaFrameHeader(stream: .camera, flags: .endOfStream, sequence: 9, mediaTimeMicros: 0).bytes
        #expect(cache.record(end, flags: .endOfStream) == 0)
    }
}
