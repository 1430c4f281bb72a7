import Foundation
import Testing
import VigRelayCore

/// The scanner on real files made by ffmpeg (see Fixtures/README.md beside this file), checked against
/// `mkvinfo -v -v -P` and `ffprobe -show_entries packet=pts_time,pos,flags`.
struct WebMScannerFixtureTests {
    /// The fixture's bytes. The folder is excluded from the test target in Package.swift (no resource
    /// bundle needed); it is found next to this source file.
    static func fixture(_ name: String) throws -> [UInt8] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures").appendingPathComponent(name)
        return try [UInt8](Data(contentsOf: url))
    }

    static func cluster(_ offset: Int64, _ ms: Int64, _ key: Bool) -> WebMScanner.Event {
        .cluster(.init(offset: offset, timestampMs: ms, keyframe: key))
    }

    /// VP8 only, sized Segment, a Cluster every 0.5 s, keyframe every 1 s, Cues at the end.
    @Test func videoOnlyFileWithSizedClusters() throws {
        let bytes = try Self.fixture("testsrc-4s.webm")
        var scanner = WebMScanner()
        let events = scanner.feed(bytes)
        #expect(events.filter { !$0.isBlock } == [
            .initSegmentStart(offset: 0), .initSegmentEnd(offset: 409),
            Self.cluster(409, 0, true), Self.cluster(2589, 500, false),
            Self.cluster(3794, 1000, true), Self.cluster(5971, 1500, false),
            Self.cluster(7308, 2000, true), Self.cluster(9498, 2500, false),
            Self.cluster(10804, 3000, true), Self.cluster(12987, 3500, false),
        ])
        let blocks = events.compactMap(\.block)
        #expect(blocks.map(\.timeMs) == Array(stride(from: 0, through: 3900, by: 100)))
        #expect(blocks.filter(\.keyframe).map(\.timeMs) == [0, 1000, 2000, 3000])
        // ffprobe's packet position is the frame data, just past the 3-byte SimpleBlock header.
        #expect(blocks.map { $0.offset + 3 } == [
            421, 1519, 1807, 2071, 2335, 2602, 2852, 3070, 3315, 3559, 3807, 4893, 5200, 5462, 5716, 5984,
            6254, 6489, 6764, 7033, 7321, 8414, 8704, 8970, 9223, 9511, 9765, 10026, 10290, 10540, 10817,
            11902, 12195, 12460, 12715, 13000, 13245, 13484, 13733, 13977,
        ])
        #expect(scanner.videoTracks == [1])
        #expect(scanner.lastBlockTimeMs == 3900)
        #expect(scanner.error == nil)
        #expect(scanner.clusterOffset == nil, "the sized Segment ended with Cues")
        #expect(scanner.segmentSizeField == 40..<48)
        #expect(scanner.durationElement == 235..<246)
        try expectChunkingIndependent(bytes, whole: events)
    }

    /// VP8 + Opus from `-live 1`: unknown-size Segment, a Cluster per video keyframe with an Opus
    /// block first, sized Clusters, an audio-only last Cluster ending in a BlockGroup (Opus discard
    /// padding).
    @Test func audioVideoLiveFileWithAudioFirstClusters() throws {
        let bytes = try Self.fixture("testsrc-av-live.webm")
        var scanner = WebMScanner()
        let events = scanner.feed(bytes)
        #expect(events.filter { !$0.isBlock } == [
            .initSegmentStart(offset: 0), .initSegmentEnd(offset: 508),
            Self.cluster(508, 0, true), Self.cluster(5890, 981, true), Self.cluster(11113, 1981, true),
            Self.cluster(16426, 2981, true), Self.cluster(21597, 3981, false),
        ], "the sized audio-only last cluster is reported when it ends, as not key")
        let blocks = events.compactMap(\.block)
        #expect(blocks.filter(\.isVideo).count == 40)
        #expect(blocks.filter { !$0.isVideo }.count == 201)
        #expect(blocks.filter { $0.isVideo && $0.keyframe }.map(\.timeMs) == [7, 1007, 2007, 3007])
        #expect(blocks.filter { $0.isVideo && $0.keyframe }.map { $0.offset + 3 } == [577, 5972, 11201, 16515])
        #expect(blocks.last == .init(offset: 21642, end: 21678, clusterOffset: 21597, track: 2, timeMs: 4001,
                                     keyframe: true, isVideo: false))
        #expect(scanner.videoTracks == [1])
        #expect(scanner.clusterOffset == nil)
        #expect(scanner.segmentSizeField == nil)
        #expect(scanner.durationElement == nil)
        #expect(scanner.lastBlockTimeMs == 4001)
        #expect(scanner.error == nil)
        try expectChunkingIndependent(bytes, whole: events)

        // The unknown-size Segment is still open: a restarted stream starts a new init segment.
        #expect(scanner.feed(EBML.header) == [.initSegmentStart(offset: 21678)])
    }

    /// The same file as Chrome would write it: every Cluster's size overwritten with an unknown
    /// size of the same length. Same clusters and blocks; the last Cluster never ends.
    @Test func audioVideoFileWithUnknownSizeClustersLikeChrome() throws {
        var bytes = try Self.fixture("testsrc-av-live.webm")
        let sized = scanWebM(bytes, chunks: [bytes.count])
        for offset in [508, 5890, 11113, 16426, 21597] {
            let field = offset + 4
            let length = bytes[field].leadingZeroBitCount + 1
            bytes.replaceSubrange(field..<field + length, with: try #require(WebMScanner.unknownSizeField(length: length)))
        }
        let events = scanWebM(bytes, chunks: [1, 500, 3])
        #expect(events == sized.filter { $0 != Self.cluster(21597, 3981, false) })
        #expect(events.compactMap(\.cluster).map(\.offset) == [508, 5890, 11113, 16426])
        // Anything that can only follow a Cluster ends the last one: here, Cues.
        var scanner = WebMScanner()
        _ = scanner.feed(bytes)
        #expect(scanner.clusterOffset == 21597)
        #expect(scanner.feed(EBML.element(MKV.cues, [])) == [Self.cluster(21597, 3981, false)])
        #expect(scanner.clusterOffset == nil)
    }

    /// What clip cutting does: init segment with the Segment size made unknown and Duration voided,
    /// then whole clusters from a keyframe cluster. The clip scans as a stream of its own.
    @Test func aClipOfInitSegmentAndKeyframeClustersScansCleanly() throws {
        let bytes = try Self.fixture("testsrc-4s.webm")
        var scanner = WebMScanner()
        let events = scanner.feed(bytes)
        let initEnd = try #require(events.compactMap { if case .initSegmentEnd(let o) = $0 { o } else { nil } }.first)
        let sizeField = try #require(scanner.segmentSizeField)
        let duration = try #require(scanner.durationElement)
        var clip = Array(bytes[0..<Int(initEnd)])
        clip.replaceSubrange(Int(sizeField.lowerBound)..<Int(sizeField.upperBound),
                             with: try #require(WebMScanner.unknownSizeField(length: sizeField.count)))
        clip.replaceSubrange(Int(duration.lowerBound)..<Int(duration.upperBound),
                             with: try #require(WebMScanner.voidElement(length: duration.count)))
        #expect(clip.count == Int(initEnd))
        clip += bytes[3794..<7308]

        var clipScanner = WebMScanner()
        let clipEvents = clipScanner.feed(clip)
        #expect(clipEvents.filter { !$0.isBlock } == [
            .initSegmentStart(offset: 0), .initSegmentEnd(offset: 409),
            Self.cluster(409, 1000, true), Self.cluster(409 + 5971 - 3794, 1500, false),
        ])
        #expect(clipEvents.compactMap(\.block).count == 10)
        #expect(clipScanner.segmentSizeField == nil)
        #expect(clipScanner.durationElement == nil)
        #expect(clipScanner.error == nil)
    }

    @Test(arguments: ["testsrc-4s.webm", "testsrc-av-live.webm"])
    func everyPrefixOfARealFileIsHandled(name: String) throws {
        let bytes = try Self.fixture(name)
        let whole = scanWebM(bytes, chunks: [bytes.count])
        for length in stride(from: 0, through: bytes.count, by: 97) {
            var scanner = WebMScanner()
            let events = scanner.feed(bytes.prefix(length))
            #expect(Array(whole.prefix(events.count)) == events, "prefix \(length)")
            #expect(scanner.error == nil)
        }
    }

    private func expectChunkingIndependent(_ bytes: [UInt8], whole: [WebMScanner.Event]) throws {
        #expect(scanWebM(bytes, chunks: [1]) == whole)
        var rng = SplitMix64(seed: 7)
        let sizes = (0..<100).map { _ in Int.random(in: 1...4000, using: &rng) }
        #expect(scanWebM(bytes, chunks: sizes) == whole)
    }
}
