import Foundation
import Testing
import VigRelayCore

/// Clips cut from the real files made by ffmpeg (see Fixtures/README.md), checked by scanning the
/// result as a stream of its own.
struct ClipPlanFixtureTests {
    static func fixture(_ name: String) throws -> [UInt8] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures").appendingPathComponent(name)
        return try [UInt8](Data(contentsOf: url))
    }

    /// What a recording's index holds about a file, from the scanner: the part and its duration.
    static func index(_ bytes: [UInt8], mediaEndAtLastBlock: Bool) throws -> (ClipPlan.Part, durationMs: Int64) {
        var scanner = WebMScanner()
        let events = scanner.feed(bytes)
        let initEnd = try #require(events.compactMap { if case .initSegmentEnd(let o) = $0 { o } else { nil } }.first)
        let clusters = events.compactMap(\.cluster)
        let startMs = try #require(clusters.first).timestampMs
        let relative = clusters.map { ClipPlan.CutPoint(offset: $0.offset, timestampMs: $0.timestampMs - startMs, keyframe: $0.keyframe) }
        let patches = try ClipPlan.webMPatches(segmentSizeField: scanner.segmentSizeField, durationElement: scanner.durationElement)
        let part = ClipPlan.Part(cutPoints: relative, initEnd: initEnd, fileLength: Int64(bytes.count),
                                 mediaEnd: mediaEndAtLastBlock ? events.compactMap(\.block).last?.end : nil, patches: patches)
        return (part, try #require(scanner.lastBlockTimeMs) - startMs)
    }

    static func cluster(_ offset: Int64, _ ms: Int64, _ key: Bool) -> WebMScanner.Event {
        .cluster(.init(offset: offset, timestampMs: ms, keyframe: key))
    }

    static func scan(_ clip: [UInt8]) -> (events: [WebMScanner.Event], scanner: WebMScanner) {
        var scanner = WebMScanner()
        let events = scanner.feed(clip)
        return (events, scanner)
    }

    /// VP8, sized Segment with Duration, Cues at the end: patched init segment + clusters 1000-2500 ms.
    @Test func clipOfAFileFFmpegFinished() throws {
        let bytes = try Self.fixture("testsrc-4s.webm")
        let (part, durationMs) = try Self.index(bytes, mediaEndAtLastBlock: true)
        #expect(part.mediaEnd == 14225, "the last block ends where the Cues start")
        #expect(durationMs == 3900)

        let plan = try ClipPlan(part: part, fromMs: 1200, toMs: 2600, durationMs: durationMs)
        #expect(plan.ranges == [0..<409, 3794..<10804])
        #expect(plan.patches.map(\.offset) == [40, 235])
        #expect((plan.actualFromMs, plan.actualToMs) == (1000, 3000))

        let clip = try #require(plan.assemble(from: bytes))
        #expect(WebMScanner.looksLikeWebM(clip))
        let (events, scanner) = Self.scan(clip)
        let shift: Int64 = 3794 - 409
        #expect(events.filter { !$0.isBlock } == [
            .initSegmentStart(offset: 0), .initSegmentEnd(offset: 409),
            Self.cluster(3794 - shift, 1000, true), Self.cluster(5971 - shift, 1500, false),
            Self.cluster(7308 - shift, 2000, true), Self.cluster(9498 - shift, 2500, false),
        ])
        let times: [Int64] = Array(stride(from: 1000, through: 2900, by: 100))
        #expect(events.compactMap(\.block).map(\.timeMs) == times)
        #expect(try #require(scanner.lastBlockTimeMs) < 3000)
        #expect(scanner.segmentSizeField == nil, "the Segment's size is unknown now")
        #expect(scanner.durationElement == nil, "the Duration is a Void now")
        #expect(scanner.error == nil)
        #expect(scanner.clusterOffset == nil, "the last cluster is sized and ends exactly where the clip ends")
    }

    /// The end of the same file: the clip stops before the Cues.
    @Test func clipToTheEndLeavesTheCuesOut() throws {
        let bytes = try Self.fixture("testsrc-4s.webm")
        let (part, durationMs) = try Self.index(bytes, mediaEndAtLastBlock: true)
        let plan = try ClipPlan(part: part, fromMs: 3200, toMs: 3900, durationMs: durationMs)
        #expect(plan.ranges == [0..<409, 10804..<14225])
        #expect((plan.actualFromMs, plan.actualToMs) == (3000, 3900))
        let (events, scanner) = Self.scan(try #require(plan.assemble(from: bytes)))
        #expect(events.compactMap(\.cluster).map(\.timestampMs) == [3000, 3500])
        #expect(scanner.lastBlockTimeMs == 3900)
        #expect(scanner.error == nil)
    }

    /// VP8 + Opus from `-live 1`: unknown-size Segment, no Duration: nothing to patch.
    @Test func clipOfALiveStream() throws {
        let bytes = try Self.fixture("testsrc-av-live.webm")
        let (part, durationMs) = try Self.index(bytes, mediaEndAtLastBlock: false)
        #expect(part.initEnd == 508)
        #expect(durationMs == 4001)

        let plan = try ClipPlan(part: part, fromMs: 1200, toMs: 2600, durationMs: durationMs)
        #expect(plan.ranges == [0..<508, 5890..<16426])
        #expect(plan.patches.isEmpty)
        #expect((plan.actualFromMs, plan.actualToMs) == (981, 2981))

        let clip = try #require(plan.assemble(from: bytes))
        #expect(clip[0..<508] == bytes[0..<508])
        let (events, scanner) = Self.scan(clip)
        let shift: Int64 = 5890 - 508
        #expect(events.filter { !$0.isBlock } == [
            .initSegmentStart(offset: 0), .initSegmentEnd(offset: 508),
            Self.cluster(5890 - shift, 981, true), Self.cluster(11113 - shift, 1981, true),
        ])
        let video = events.compactMap(\.block).filter(\.isVideo)
        #expect(video.first?.timeMs == 1007)
        #expect(video.first?.keyframe == true)
        #expect(try #require(scanner.lastBlockTimeMs) < 2981)
        #expect(scanner.error == nil)
    }
}
