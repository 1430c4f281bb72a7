import Foundation
import Testing
@testable import VigRelayCore

/// The WebM cluster/keyframe scanner: hand-built streams, chunking, truncation, corrupt input.
struct WebMScannerTests {
    @Test(arguments: WebMCase.all)
    func findsInitSegmentClustersAndBlocks(_ c: WebMCase) {
        let events = scanWebM(c.bytes, chunks: [c.bytes.count])
        #expect(events.filter { !$0.isBlock } == c.events)
        #expect(events.compactMap(\.blockSummary) == c.blocks)
    }

    @Test(arguments: WebMCase.all)
    func chunkingDoesNotChangeTheEvents(_ c: WebMCase) {
        let whole = scanWebM(c.bytes, chunks: [c.bytes.count])
        #expect(scanWebM(c.bytes, chunks: [1]) == whole)
        for seed in UInt64(1)...5 {
            var rng = SplitMix64(seed: seed)
            let sizes = (0..<64).map { _ in Int.random(in: 1...23, using: &rng) }
            #expect(scanWebM(c.bytes, chunks: sizes) == whole, "seed \(seed)")
        }
        #expect(scanWebM(c.bytes, chunks: [0, 5, 0, 1]) == whole, "empty chunks change nothing")
    }

    /// Every prefix of a valid stream reports a prefix of the full stream's events, and no error:
    /// a cut-off stream never invents a cluster.
    @Test(arguments: WebMCase.all)
    func truncatedStreamsReportOnlyWhatTheyContain(_ c: WebMCase) {
        let whole = scanWebM(c.bytes, chunks: [c.bytes.count])
        for length in 0...c.bytes.count {
            var scanner = WebMScanner()
            let events = scanner.feed(c.bytes.prefix(length))
            #expect(Array(whole.prefix(events.count)) == events, "prefix \(length)")
            #expect(scanner.error == nil)
            #expect(scanner.position == Int64(length))
        }
    }

    @Test func reportsHandComputedOffsetsForALiteralStream() {
        let bytes: [UInt8] = [
            0x1A, 0x45, 0xDF, 0xA3, 0x80,                           // 0: EBML header, empty
            0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, // 5: Segment, unknown size
            0x1F, 0x43, 0xB6, 0x75, 0xFF,                           // 17: Cluster, unknown size (1 byte)
            0xE7, 0x81, 0x0A,                                       // 22: Timestamp 10
            0xA3, 0x85, 0x81, 0x00, 0x05, 0x80, 0xAA,               // 25: SimpleBlock track 1, +5, key
            0xA3, 0x84, 0x81, 0xFF, 0xFB, 0x00,                     // 32: SimpleBlock track 1, -5, no payload
            0x1F, 0x43, 0xB6, 0x75, 0x86,                           // 38: Cluster, 6 bytes
            0xE7, 0x82, 0x01, 0x00,                                 // 43: Timestamp 256
            0xEC, 0x80,                                             // 47: Void, empty
        ]
        var scanner = WebMScanner()
        #expect(scanner.feed(bytes) == [
            .initSegmentStart(offset: 0),
            .initSegmentEnd(offset: 17),
            .cluster(.init(offset: 17, timestampMs: 10, keyframe: true)),
            .block(.init(offset: 25, end: 32, clusterOffset: 17, track: 1, timeMs: 15, keyframe: true, isVideo: true)),
            .block(.init(offset: 32, end: 38, clusterOffset: 17, track: 1, timeMs: 5, keyframe: false, isVideo: true)),
        ])
        #expect(scanner.position == 49)
        #expect(scanner.clusterOffset == nil, "the sized cluster ended and was empty")
        #expect(scanner.lastBlockTimeMs == 5)
        #expect(scanner.error == nil)
    }

    /// In an A/V stream the cluster waits for its first video block; audio blocks come first.
    @Test func audioBlocksBeforeTheFirstVideoBlockAreReportedBeforeTheirCluster() {
        var s = WebMStreamBuilder()
        s.add(EBML.header + EBML.open(MKV.segment) + EBML.tracks(video: [1], audio: [2]))
        let cluster = s.add(EBML.openCluster(0))
        let audio = s.add(EBML.simpleBlock(2, 0, key: true))
        let video = s.add(EBML.simpleBlock(1, 7, key: true))
        let events = scanWebM(s.bytes, chunks: [s.bytes.count])
        #expect(events == [
            .initSegmentStart(offset: 0),
            .initSegmentEnd(offset: cluster),
            .block(.init(offset: audio, end: video, clusterOffset: cluster, track: 2, timeMs: 0, keyframe: true, isVideo: false)),
            .cluster(.init(offset: cluster, timestampMs: 0, keyframe: true)),
            .block(.init(offset: video, end: s.end, clusterOffset: cluster, track: 1, timeMs: 7, keyframe: true, isVideo: true)),
        ])
    }

    @Test func exposesTracksScaleAndCurrentCluster() {
        var s = WebMStreamBuilder()
        s.add(EBML.header + EBML.open(MKV.segment) + EBML.info(scale: 500_000) + EBML.tracks(video: [3, 1], audio: [2]))
        let cluster = s.add(EBML.openCluster(100, EBML.simpleBlock(1, 4, key: true)))
        var scanner = WebMScanner()
        _ = scanner.feed(s.bytes)
        #expect(scanner.videoTracks == [3, 1])
        #expect(scanner.timestampScale == 500_000)
        #expect(scanner.clusterOffset == cluster)
        #expect(scanner.lastBlockTimeMs == 52)
        #expect(scanner.position == s.end)
    }

    @Test func acceptsCollectionsWithoutContiguousStorage() {
        let c = WebMCase.all[0]
        var scanner = WebMScanner()
        let events = scanner.feed(c.bytes.lazy.map { $0 })
        #expect(events == scanWebM(c.bytes, chunks: [c.bytes.count]))
    }

    // MARK: corrupt input

    @Test(arguments: WebMCorruptCase.all)
    func reportsCorruptInputOnceAndThenIgnoresIt(_ c: WebMCorruptCase) {
        for chunks in [[c.bytes.count], [1], [3, 7]] {
            let events = scanWebM(c.bytes, chunks: chunks)
            #expect(events.last == .error(c.error), "chunks \(chunks)")
            #expect(events.filter(\.isError).count == 1)
        }
        var scanner = WebMScanner()
        _ = scanner.feed(c.bytes)
        #expect(scanner.error == c.error)
        let valid = WebMCase.all[0].bytes
        #expect(scanner.feed(valid).isEmpty, "input after an error is ignored")
        #expect(scanner.position == Int64(c.bytes.count + valid.count))
        #expect(!c.error.description.isEmpty)
    }

    @Test func errorDescriptionsSayWhereAndWhatToCheck() {
        let overrun = WebMScanner.ScanError.elementOverrunsParent(id: 0xA3, offset: 40, end: 90, parentEnd: 60)
        #expect(overrun.description.contains("0xA3"))
        #expect(overrun.description.contains("byte 40"))
        #expect(overrun.description.contains("unchanged and in order"))
        #expect(WebMScanner.ScanError.notWebM.description.contains("1A 45 DF A3"))
    }

    /// Random bytes after a valid start, and valid streams with random bytes overwritten: never a
    /// trap, at most one error and nothing after it, the same events however the bytes are chunked,
    /// and the scanner's buffers stay tiny.
    @Test(arguments: UInt64(1)...40)
    func survivesRandomAndMutatedInput(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let randomTail = (0..<2048).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let prefix = EBML.header + EBML.open(MKV.segment) + EBML.open(MKV.cluster)
        var mutated = WebMCase.all[Int(seed) % WebMCase.all.count].bytes
        for _ in 0..<Int.random(in: 1...6, using: &rng) {
            mutated[Int.random(in: 0..<mutated.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
        }
        for bytes in [prefix + randomTail, mutated, randomTail] {
            let whole = scanWebM(bytes, chunks: [bytes.count])
            let sizes = (0..<32).map { _ in Int.random(in: 1...97, using: &rng) }
            #expect(scanWebM(bytes, chunks: sizes) == whole)
            #expect(whole.filter(\.isError).count <= 1)
            if let index = whole.firstIndex(where: \.isError) { #expect(index == whole.count - 1) }

            var scanner = WebMScanner()
            for byte in bytes {
                _ = scanner.feed(CollectionOfOne(byte))
                #expect(scanner.pending.count <= 12)
                #expect(scanner.stack.count <= 3)
            }
            #expect(scanner.position == Int64(bytes.count))
        }
    }

    @Test(arguments: [UInt8(0x00), 0xFF, 0x1A])
    func uniformGarbageIsNotWebM(byte: UInt8) {
        let events = scanWebM([UInt8](repeating: byte, count: 4096), chunks: [1000])
        #expect(events == [.error(.notWebM)])
    }

    // MARK: sniffing

    @Test(arguments: [
        ([0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42], MediaContainer.webm),
        ([0x1A, 0x45, 0xDF, 0xA3], .webm),
        ([0x00, 0x00, 0x00, 0x1C, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6F, 0x6D], .mp4),
        ([0x00, 0x00, 0x00, 0x18, 0x66, 0x74, 0x79, 0x70], .mp4),
        ([0x00, 0x00, 0x00, 0x18, 0x66, 0x74, 0x79], .other),
        ([0x1A, 0x45, 0xDF], .other),
        ([0x52, 0x49, 0x46, 0x46, 0x00, 0x00, 0x00, 0x00], .other),
        ([], .other),
    ] as [([UInt8], MediaContainer)])
    func sniffsTheContainerFromTheFirstBytes(prefix: [UInt8], container: MediaContainer) {
        #expect(MediaContainer(sniffing: prefix) == container)
        #expect(WebMScanner.looksLikeWebM(prefix) == (container == .webm))
        #expect(MediaContainer(sniffing: prefix[...]) == container, "slices sniff the same")
    }

    @Test func makesPatchBytesForClips() {
        #expect(WebMScanner.unknownSizeField(length: 1) == [0xFF])
        #expect(WebMScanner.unknownSizeField(length: 2) == [0x7F, 0xFF])
        #expect(WebMScanner.unknownSizeField(length: 8) == [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(WebMScanner.unknownSizeField(length: 0) == nil)
        #expect(WebMScanner.unknownSizeField(length: 9) == nil)
        #expect(WebMScanner.voidElement(length: 2) == [0xEC, 0x80])
        #expect(WebMScanner.voidElement(length: 11) == [0xEC, 0x89] + [UInt8](repeating: 0, count: 9))
        #expect(WebMScanner.voidElement(length: 1) == nil)
        for length in [2, 3, 11, 128, 129, 130, 300] {
            let void = WebMScanner.voidElement(length: length) ?? []
            #expect(void.count == length)
            // A Void of that length is skipped whole: the Cluster after it starts right there.
            let start = EBML.header + EBML.open(MKV.segment) + void
            let events = scanWebM(start + EBML.openCluster(0), chunks: [7])
            #expect(events == [.initSegmentStart(offset: 0), .initSegmentEnd(offset: Int64(start.count))], "length \(length)")
        }
    }

    @Test func remembersWhereTheSegmentSizeAndDurationAre() {
        var s = WebMStreamBuilder()
        s.add(EBML.header)
        let segment = s.add(EBML.id(MKV.segment) + EBML.size(27, length: 4))
        let info = s.add(EBML.id(MKV.info) + EBML.size(22))
        s.add(EBML.uint(MKV.timestampScale, 1_000_000))
        let duration = s.add(EBML.element(0x4489, [0x40, 0xAF, 0x40, 0, 0, 0, 0, 0]))
        s.add(EBML.element(0x4D80, [0x41]))
        #expect(s.end == info + 5 + 22)
        var scanner = WebMScanner()
        _ = scanner.feed(s.bytes)
        #expect(scanner.segmentSizeField == segment + 4..<segment + 8)
        #expect(scanner.durationElement == duration..<duration + 11)
        #expect(scanner.feed(EBML.header + EBML.open(MKV.segment)) == [.initSegmentStart(offset: s.end)])
        #expect(scanner.segmentSizeField == nil, "a new Segment forgets the old one's fields")
        #expect(scanner.durationElement == nil)
        #expect(scanner.error == nil)
    }

    @Test func namesFileExtensions() {
        #expect(MediaContainer.allCases.map(\.fileExtension) == ["webm", "mp4", "bin"])
    }
}

// MARK: - Helpers

/// Feeds `bytes` to a new scanner in chunks of the given sizes (cycled) and collects the events.
func scanWebM(_ bytes: [UInt8], chunks: [Int]) -> [WebMScanner.Event] {
    var scanner = WebMScanner()
    var events: [WebMScanner.Event] = []
    var start = 0
    var turn = 0
    while start < bytes.count {
        let end = min(bytes.count, start + chunks[turn % chunks.count])
        events += scanner.feed(bytes[start..<end])
        start = end
        turn += 1
    }
    return events
}

/// A block's track, time and keyframe flag: what the table cases check without offsets.
struct WebMBlockSummary: Sendable, Equatable, CustomStringConvertible {
    var track: UInt64
    var timeMs: Int64
    var keyframe: Bool
    init(_ track: UInt64, _ timeMs: Int64, _ keyframe: Bool) {
        self.track = track
        self.timeMs = timeMs
        self.keyframe = keyframe
    }
    var description: String { "(\(track), \(timeMs), \(keyframe ? "key" : "delta"))" }
}

extension WebMScanner.Event {
    var isBlock: Bool { if case .block = self { true } else { false } }
    var isError: Bool { if case .error = self { true } else { false } }
    var blockSummary: WebMBlockSummary? {
        if case .block(let b) = self { WebMBlockSummary(b.track, b.timeMs, b.keyframe) } else { nil }
    }
    var cluster: WebMScanner.Cluster? { if case .cluster(let c) = self { c } else { nil } }
    var block: WebMScanner.Block? { if case .block(let b) = self { b } else { nil } }
}

/// A small deterministic generator so random tests repeat exactly.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
