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
}
