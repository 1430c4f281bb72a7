import Foundation
import Testing
@testable import VigRelayCore

/// `WebMScanner.completeEnd`: where a stream cut short may end and still be well-formed WebM (the
/// end of its last complete block in an unknown-size Cluster, of a whole sized Cluster, or of an
/// element directly in the Segment), whatever the chunking.
struct WebMScannerCompleteEndTests {
    /// `completeEnd` and `completeEndBlockMs` after each prefix of `bytes`, fed one byte at a time.
    static func ends(_ bytes: [UInt8]) -> [(Int64?, Int64?)] {
        var scanner = WebMScanner()
        var out = [(scanner.completeEnd, scanner.completeEndBlockMs)]
        for byte in bytes {
            _ = scanner.feed([byte])
            out.append((scanner.completeEnd, scanner.completeEndBlockMs))
        }
        return out
    }

    /// Expects `completeEnd` after every prefix to be the last of `points` at or before its length
    /// (nil before the first), with the block time `times[point]` (nil when absent).
    static func expectCleanPoints(_ bytes: [UInt8], _ points: [Int64], times: [Int64: Int64] = [:],
                                  sourceLocation: SourceLocation = #_sourceLocation) {
        for (length, (end, blockMs)) in ends(bytes).enumerated() {
            let expected = points.last { $0 <= Int64(length) }
            #expect(end == expected, "prefix \(length)", sourceLocation: sourceLocation)
            #expect(blockMs == expected.flatMap { times[$0] }, "prefix \(length)", sourceLocation: sourceLocation)
        }
    }

    @Test func chromeLikeStreamEndsAtItsLastCompleteBlock() {
        var s = WebMStreamBuilder()
        s.add(EBML.header + EBML.open(MKV.segment) + EBML.info(scale: 1_000_000))
        let infoEnd = s.add(EBML.tracks(video: [1], audio: [2]))
        let tracksEnd = s.add(EBML.openCluster(0))
        s.add(EBML.simpleBlock(2, 0, key: true))
        let audioEnd = s.add(EBML.simpleBlock(1, 7, key: true))
        let keyEnd = s.add(EBML.simpleBlock(1, 40, key: false))
        let deltaEnd = s.add(EBML.openCluster(1000) + EBML.void(3))
        s.add(EBML.simpleBlock(1, 20, key: false))
        // The EBML header alone, a Cluster's header and Timestamp, a Void inside a Cluster: no place to end.
        Self.expectCleanPoints(s.bytes, [infoEnd, tracksEnd, audioEnd, keyEnd, deltaEnd, s.end],
                               times: [audioEnd: 0, keyEnd: 7, deltaEnd: 40, s.end: 1020])
    }

    @Test func sizedClustersEndOnlyWhereTheyEnd() {
        var s = WebMStreamBuilder()
        s.add(EBML.header + EBML.open(MKV.segment) + EBML.info(scale: 1_000_000))
        let infoEnd = s.add(EBML.tracks(video: [1], audio: []))
        let tracksEnd = s.add(EBML.cluster(0, EBML.simpleBlock(1, 0, key: true)))
        let c1End = s.add(EBML.cluster(1000, EBML.simpleBlock(1, 0, key: true), EBML.simpleBlock(1, 100, key: false)))
        let c2End = s.add(EBML.void(9))
        let voidEnd = s.add(EBML.cluster(2000, EBML.simpleBlock(1, 0, key: false)))
        #expect(s.bytes == WebMCase.sizedClustersInUnknownSegment.bytes)
        Self.expectCleanPoints(s.bytes, [infoEnd, tracksEnd, c1End, c2End, voidEnd, s.end],
                               times: [c1End: 0, c2End: 1100, voidEnd: 1100, s.end: 2000])
    }

    @Test func aSizedSegmentDoesNotHoldTheCutBack() {
        let c = WebMCase.ffmpegSized
        var scanner = WebMScanner()
        _ = scanner.feed(c.bytes)
        #expect(scanner.completeEnd == Int64(c.bytes.count), "a whole file ends where it ends")
        let clusters = c.events.compactMap { if case .cluster(let x) = $0 { x.offset } else { nil } }
        for (i, start) in clusters.enumerated().dropFirst() {
            var cut = WebMScanner()
            _ = cut.feed(c.bytes.prefix(Int(start) + 3))
            #expect(cut.completeEnd == start, "cluster \(i): the previous cluster ended there")
        }
    }

    @Test func blockGroupsEndWhenTheGroupEnds() {
        var s = WebMStreamBuilder()
        s.add(EBML.header + EBML.open(MKV.segment) + EBML.tracks(video: [1], audio: []))
        let tracksEnd = s.add(EBML.openCluster(0))
        s.add(EBML.blockGroup(1, 0, referenced: false))
        let g1End = s.add(EBML.blockGroup(1, 33, referenced: true))
        Self.expectCleanPoints(s.bytes, [tracksEnd, g1End, s.end], times: [g1End: 0, s.end: 33])
    }

    @Test(arguments: WebMCase.all)
    func wholeStreamsEndCleanlyWhateverTheChunking(_ c: WebMCase) {
        var whole = WebMScanner()
        _ = whole.feed(c.bytes)
        #expect(whole.completeEnd == Int64(c.bytes.count))
        for seed in UInt64(1)...3 {
            var rng = SplitMix64(seed: seed)
            var scanner = WebMScanner()
            var at = 0
            var last: Int64 = -1
            while at < c.bytes.count {
                let n = min(c.bytes.count - at, Int.random(in: 1...23, using: &rng))
                _ = scanner.feed(c.bytes[at..<(at + n)])
                at += n
                let end = scanner.completeEnd ?? -1
                #expect(end <= Int64(at) && end >= last, "never past what was fed, never backwards")
                last = end
            }
            #expect(scanner.completeEnd == whole.completeEnd && scanner.completeEndBlockMs == whole.completeEndBlockMs)
        }
    }

    /// The ffmpeg fixtures (sized Clusters): a prefix cut inside a Cluster ends where it starts.
    @Test(arguments: ["testsrc-4s.webm", "testsrc-av-live.webm"])
    func fixturesCutInsideAClusterEndAtItsStart(_ name: String) throws {
        let bytes = try WebMScannerFixtureTests.fixture(name)
        var whole = WebMScanner()
        let events = whole.feed(bytes)
        #expect(whole.completeEnd == Int64(bytes.count))
        let clusters = events.compactMap { if case .cluster(let x) = $0 { x.offset } else { nil } }
        let blocks = events.compactMap(\.block)
        for (start, next) in zip(clusters, clusters.dropFirst()) where start > clusters[0] {
            for cut in [start + 1, (start + next) / 2, next - 1] {
                var scanner = WebMScanner()
                _ = scanner.feed(bytes.prefix(Int(cut)))
                #expect(scanner.completeEnd == start, "\(name): cut at \(cut)")
                #expect(scanner.completeEndBlockMs == blocks.last { $0.end <= start }?.timeMs)
            }
        }
    }

    @Test func anErrorStopsTheCompleteEnd() {
        var s = WebMStreamBuilder()
        s.add(EBML.header + EBML.open(MKV.segment))
        let tracks = s.add(EBML.tracks(video: [1], audio: []))
        s.add(EBML.openCluster(0, EBML.simpleBlock(1, 0, key: true)))
        let good = s.end
        var scanner = WebMScanner()
        _ = scanner.feed(s.bytes + [0x00, 0x00, 0x00] + EBML.simpleBlock(1, 5, key: false))
        #expect(scanner.error != nil)
        #expect(scanner.completeEnd == good && good > tracks)
    }
}
