import Testing
import VigRelayCore

/// Producing a clip's bytes from a plan: in one piece, or slice by slice as a server streams it.
struct ClipPlanOutputTests {
    /// A made-up part file: every byte is its offset modulo 251, so a misplaced slice shows.
    static let file = (0..<14301).map { UInt8($0 % 251) }
    static let plan: ClipPlan = {
        var part = ClipPlanTests.part
        part.patches = try! ClipPlan.webMPatches(segmentSizeField: 40..<48, durationElement: 235..<246)
        return try! ClipPlan(part: part, fromMs: 1200, toMs: 2600, durationMs: ClipPlanTests.durationMs)
    }()
    static let length: Int64 = 409 + (10804 - 3794)

    @Test func assemblesTheRangesAndAppliesThePatches() throws {
        #expect(Self.plan.byteCount == Self.length)
        let clip = try #require(Self.plan.assemble(from: Self.file))
        #expect(clip.count == Int(Self.length))
        #expect(clip[0..<40] == Self.file[0..<40])
        #expect(Array(clip[40..<48]) == [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(clip[48..<235] == Self.file[48..<235])
        #expect(Array(clip[235..<246]) == [0xEC, 0x89] + [UInt8](repeating: 0, count: 9))
        #expect(clip[246..<409] == Self.file[246..<409])
        #expect(Array(clip[409...]) == Array(Self.file[3794..<10804]))
    }

    @Test func refusesToAssembleFromAShortFile() {
        #expect(Self.plan.assemble(from: Array(Self.file[0..<10803])) == nil)
        #expect(Self.plan.assemble(from: Array(Self.file[0..<10804])) != nil)
    }

    /// (slice of the clip) -> ranges of the file behind it.
    static let slices: [(Range<Int64>, [Range<Int64>])] = [
        (0..<length, [0..<409, 3794..<10804]),
        (0..<10, [0..<10]),
        (400..<420, [400..<409, 3794..<3805]),
        (409..<410, [3794..<3795]),
        (408..<409, [408..<409]),
        (length - 1..<length + 100, [10803..<10804]),
        (length..<length + 5, []),
        (5..<5, []),
        (0..<Int64.max, [0..<409, 3794..<10804]),
    ]

    @Test(arguments: slices)
    func findsTheFileBytesBehindASlice(slice: Range<Int64>, expected: [Range<Int64>]) {
        #expect(Self.plan.sourceRanges(covering: slice) == expected)
    }

    /// What a server answering a Range request on the clip does: read the slice's file ranges, patch
    /// at the slice's offset. It must give the same bytes as the whole clip, wherever the cuts fall.
    @Test func streamingAnySliceGivesTheSameBytesAsTheWholeClip() throws {
        let clip = try #require(Self.plan.assemble(from: Self.file))
        let cuts: [Int64] = [0, 1, 39, 40, 41, 47, 48, 100, 234, 235, 240, 245, 246, 408, 409, 410, 5000, Self.length - 1, Self.length]
        for low in cuts {
            for high in cuts where high >= low {
                var chunk = Self.plan.sourceRanges(covering: low..<high)
                    .flatMap { Self.file[Int($0.lowerBound)..<Int($0.upperBound)] }
                Self.plan.patch(&chunk, at: low)
                #expect(chunk == Array(clip[Int(low)..<Int(high)]), "slice \(low)..<\(high)")
            }
        }
    }

    @Test func patchingLeavesChunksOutsideThePatchesAlone() {
        var chunk: [UInt8] = Array(Self.file[500..<700])
        Self.plan.patch(&chunk, at: 500)
        #expect(chunk == Array(Self.file[500..<700]))
        var empty: [UInt8] = []
        Self.plan.patch(&empty, at: 40)
        #expect(empty.isEmpty)
    }
}
