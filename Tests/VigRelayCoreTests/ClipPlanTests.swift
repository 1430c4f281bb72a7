import Testing
import VigRelayCore

/// ClipPlan on synthetic cluster lists shaped like Fixtures/testsrc-4s.webm: a Cluster every 500 ms,
/// a keyframe every 1000 ms, last frame at 3900 ms, Cues from 14225 to the end.
struct ClipPlanTests {
    static let offsets: [Int64] = [409, 2589, 3794, 5971, 7308, 9498, 10804, 12987]
    static let clusters = offsets.enumerated().map { index, offset in
        ClipPlan.CutPoint(offset: offset, timestampMs: Int64(index) * 500, keyframe: index % 2 == 0)
    }
    static let part = ClipPlan.Part(cutPoints: clusters, initEnd: 409, fileLength: 14301, mediaEnd: 14225)
    static let durationMs: Int64 = 3900

    static func cluster(_ offset: Int64, _ ms: Int64, _ key: Bool) -> ClipPlan.CutPoint {
        .init(offset: offset, timestampMs: ms, keyframe: key)
    }

    /// (fromMs, toMs) -> (first cluster's offset, end offset, actualFromMs, actualToMs).
    static let spans: [((Int64, Int64), (Int64, Int64, Int64, Int64))] = [
        ((1200, 2600), (3794, 10804, 1000, 3000)),
        ((1000, 2000), (3794, 7308, 1000, 2000)),
        ((0, 500), (409, 2589, 0, 500)),
        ((0, 1), (409, 2589, 0, 500)),
        ((999, 1001), (409, 5971, 0, 1500)),
        ((1500, 1501), (3794, 7308, 1000, 2000)),
        ((1999, 2001), (3794, 9498, 1000, 2500)),
        ((3000, 3500), (10804, 12987, 3000, 3500)),
        ((3200, 3900), (10804, 14225, 3000, 3900)),
        ((3899, 3900), (10804, 14225, 3000, 3900)),
        ((0, 3900), (409, 14225, 0, 3900)),
    ]

    @Test(arguments: spans)
    func cutsFromTheKeyframeBeforeToTheClusterAfter(span: (Int64, Int64), expected: (Int64, Int64, Int64, Int64)) throws {
        let plan = try ClipPlan(part: Self.part, fromMs: span.0, toMs: span.1, durationMs: Self.durationMs)
        #expect(plan.ranges == [0..<409, expected.0..<expected.1])
        #expect(plan.actualFromMs == expected.2)
        #expect(plan.actualToMs == expected.3)
        #expect(plan.patches.isEmpty, "an unknown-size Segment without Duration needs no patch")
    }

    /// (fromMs, toMs, durationMs, maxSpanMs) -> error.
    static let refusals: [((Int64, Int64, Int64, Int64), ClipPlanError)] = [
        ((-1, 10, 3900, 60_000), .negative(fromMs: -1, toMs: 10)),
        ((0, -1, 3900, 60_000), .negative(fromMs: 0, toMs: -1)),
        ((-5, -10, 3900, 60_000), .negative(fromMs: -5, toMs: -10)),
        ((.min, .max, 3900, 60_000), .negative(fromMs: .min, toMs: .max)),
        ((500, 500, 3900, 60_000), .reversedOrEmpty(fromMs: 500, toMs: 500)),
        ((600, 500, 3900, 60_000), .reversedOrEmpty(fromMs: 600, toMs: 500)),
        ((0, 0, 3900, 60_000), .reversedOrEmpty(fromMs: 0, toMs: 0)),
        ((3900, 4000, 3900, 60_000), .pastTheEnd(fromMs: 3900, toMs: 4000, durationMs: 3900)),
        ((0, 3901, 3900, 60_000), .pastTheEnd(fromMs: 0, toMs: 3901, durationMs: 3900)),
        ((3899, 3901, 3900, 60_000), .pastTheEnd(fromMs: 3899, toMs: 3901, durationMs: 3900)),
        ((.max - 1, .max, 3900, 60_000), .pastTheEnd(fromMs: .max - 1, toMs: .max, durationMs: 3900)),
        ((0, 10, 0, 60_000), .pastTheEnd(fromMs: 0, toMs: 10, durationMs: 0)),
        ((0, 60_001, 100_000, 60_000), .tooLong(fromMs: 0, toMs: 60_001, maxSpanMs: 60_000)),
        ((10, 60_011, 100_000, 60_000), .tooLong(fromMs: 10, toMs: 60_011, maxSpanMs: 60_000)),
        ((0, 1501, 3900, 1500), .tooLong(fromMs: 0, toMs: 1501, maxSpanMs: 1500)),
    ]

    @Test(arguments: refusals)
    func refusesBadSpansInOrder(request: (Int64, Int64, Int64, Int64), expected: ClipPlanError) {
        #expect(throws: expected) {
            try ClipPlan(part: Self.part, fromMs: request.0, toMs: request.1, durationMs: request.2, maxSpanMs: request.3)
        }
        #expect(expected.httpStatus == 400)
    }

    @Test func spansOfExactlyTheLimitAreCut() throws {
        let clusters = (0..<200).map { Self.cluster(409 + Int64($0) * 1000, Int64($0) * 500, $0 % 4 == 0) }
        let part = ClipPlan.Part(cutPoints: clusters, initEnd: 409, fileLength: 300_000)
        let plan = try ClipPlan(part: part, fromMs: 10_000, toMs: 70_000, durationMs: 100_000)
        #expect(plan.actualFromMs == 10_000)
        #expect(plan.actualToMs == 70_000)
        #expect(plan.ranges == [0..<409, 409 + 20_000..<409 + 140_000])
    }

    @Test func messagesSayWhatWasWrong() {
        #expect(ClipPlanError.negative(fromMs: -1, toMs: 10).description.contains("negative"))
        #expect(ClipPlanError.reversedOrEmpty(fromMs: 5, toMs: 5).description.contains("reversed or empty"))
        #expect(ClipPlanError.pastTheEnd(fromMs: 0, toMs: 4000, durationMs: 3900).description
            .contains("past the end of the recording (duration 3900 ms)"))
        #expect(ClipPlanError.tooLong(fromMs: 0, toMs: 60_001, maxSpanMs: 60_000).description.contains("longer than 60 s"))
        #expect(ClipPlanError.tooLong(fromMs: 0, toMs: 1501, maxSpanMs: 1500).description.contains("longer than 1500 ms"))
        #expect(ClipPlanError.noKeyframe(toMs: 900, firstKeyframeMs: 1000).description.contains("first is at 1000 ms"))
        #expect(ClipPlanError.noKeyframe(toMs: 900, firstKeyframeMs: nil).description.contains("no keyframe"))
        #expect(ClipPlanError.inconsistentIndex("x").httpStatus == 500)
    }

    /// A part whose first cluster does not start with a keyframe (a damaged or odd recording).
    static let lateKeyframe = ClipPlan.Part(
        cutPoints: [cluster(409, 0, false), cluster(1000, 500, false), cluster(2000, 1000, true), cluster(3000, 1500, false)],
        initEnd: 409, fileLength: 4000)

    @Test func withNoKeyframeBeforeItStartsAtTheFirstOneAfter() throws {
        let plan = try ClipPlan(part: Self.lateKeyframe, fromMs: 200, toMs: 1200, durationMs: 2000)
        #expect(plan.ranges == [0..<409, 2000..<3000])
        #expect(plan.actualFromMs == 1000)
        #expect(plan.actualToMs == 1500)
    }

    @Test func refusesWhenNoKeyframeComesBeforeTheEnd() {
        #expect(throws: ClipPlanError.noKeyframe(toMs: 900, firstKeyframeMs: 1000)) {
            try ClipPlan(part: Self.lateKeyframe, fromMs: 200, toMs: 900, durationMs: 2000)
        }
        #expect(throws: ClipPlanError.noKeyframe(toMs: 1000, firstKeyframeMs: 1000)) {
            try ClipPlan(part: Self.lateKeyframe, fromMs: 0, toMs: 1000, durationMs: 2000)
        }
        var noKeyframes = Self.lateKeyframe
        noKeyframes.cutPoints = noKeyframes.cutPoints.map { .init(offset: $0.offset, timestampMs: $0.timestampMs, keyframe: false) }
        #expect(throws: ClipPlanError.noKeyframe(toMs: 1200, firstKeyframeMs: nil)) {
            try ClipPlan(part: noKeyframes, fromMs: 200, toMs: 1200, durationMs: 2000)
        }
        let initOnly = ClipPlan.Part(cutPoints: [], initEnd: 409, fileLength: 409)
        #expect(throws: ClipPlanError.noKeyframe(toMs: 100, firstKeyframeMs: nil)) {
            try ClipPlan(part: initOnly, fromMs: 0, toMs: 100, durationMs: 2000)
        }
    }

    /// A later part of a recording (after a reconnect): times continue from the recording's start.
    @Test func aLaterPartEndsAtItsOwnEnd() throws {
        let part = ClipPlan.Part(cutPoints: [Self.cluster(500, 10_000, true), Self.cluster(1500, 10_500, false),
                                            Self.cluster(2500, 11_000, true)],
                                 initEnd: 500, fileLength: 3000, endMs: 11_400)
        let plan = try ClipPlan(part: part, fromMs: 10_600, toMs: 15_000, durationMs: 20_000)
        #expect(plan.ranges == [0..<500, 500..<3000])
        #expect(plan.actualFromMs == 10_000)
        #expect(plan.actualToMs == 11_400)
        let inTheGap = try ClipPlan(part: part, fromMs: 5_000, toMs: 10_700, durationMs: 20_000)
        #expect(inTheGap.ranges == [0..<500, 500..<2500])
        #expect(inTheGap.actualFromMs == 10_000)
        #expect(inTheGap.actualToMs == 11_000)
    }

    @Test func aSpanToTheEndTakesACutPointStartingThere() throws {
        // The last cluster's only block is at the recording's end (1000 ms): asking for the end gets it.
        let part = ClipPlan.Part(cutPoints: [Self.cluster(409, 0, true), Self.cluster(1000, 500, false), Self.cluster(2000, 1000, true)],
                                 initEnd: 409, fileLength: 3000)
        let whole = try ClipPlan(part: part, fromMs: 0, toMs: 1000, durationMs: 1000)
        #expect((whole.ranges, whole.actualToMs) == ([0..<409, 409..<3000], 1000))
        let short = try ClipPlan(part: part, fromMs: 0, toMs: 999, durationMs: 1000)
        #expect((short.ranges, short.actualToMs) == ([0..<409, 409..<2000], 1000))
        var earlier = part
        earlier.endMs = 800 // a part that is not the last ends at its own end
        let toPartEnd = try ClipPlan(part: earlier, fromMs: 0, toMs: 800, durationMs: 5000)
        #expect((toPartEnd.ranges, toPartEnd.actualToMs) == ([0..<409, 409..<3000], 800))
    }

    @Test func clustersPastTheFileAreIgnored() throws {
        var truncated = Self.part
        truncated.fileLength = 9000
        truncated.mediaEnd = nil
        let plan = try ClipPlan(part: truncated, fromMs: 2000, toMs: 3000, durationMs: Self.durationMs)
        #expect(plan.ranges == [0..<409, 7308..<9000])
        #expect(plan.actualToMs == Self.durationMs)
        let late = try ClipPlan(part: truncated, fromMs: 3000, toMs: 3400, durationMs: Self.durationMs)
        #expect(late.ranges == [0..<409, 7308..<9000], "the keyframe cluster at 3000 ms is not in the file")
        #expect(late.actualFromMs == 2000)
    }

    @Test func patchesASizedSegmentAndItsDurationInPlace() throws {
        var sized = Self.part
        sized.patches = try ClipPlan.webMPatches(segmentSizeField: 40..<48, durationElement: 235..<246)
        let plan = try ClipPlan(part: sized, fromMs: 1200, toMs: 2600, durationMs: Self.durationMs)
        #expect(plan.patches == [
            .init(offset: 40, bytes: [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
            .init(offset: 235, bytes: [0xEC, 0x89] + [UInt8](repeating: 0, count: 9)),
        ])
        sized.patches = try ClipPlan.webMPatches(segmentSizeField: nil, durationElement: 235..<246)
        #expect(try ClipPlan(part: sized, fromMs: 0, toMs: 100, durationMs: Self.durationMs).patches.map(\.offset) == [235])
    }

    static func damaged(_ change: (inout ClipPlan.Part) -> Void) -> ClipPlan.Part {
        var part = Self.part
        change(&part)
        return part
    }

    static let damagedParts: [ClipPlan.Part] = [
        damaged { $0.initEnd = 0 },
        damaged { $0.initEnd = -5 },
        damaged { $0.initEnd = 14226 },
        damaged { $0.mediaEnd = 14302 },
        damaged { $0.cutPoints[0].offset = 100 },
        damaged { $0.cutPoints[3].offset = 3794 },
        damaged { $0.cutPoints.swapAt(2, 3) },
        damaged { $0.patches = [.init(offset: 400, bytes: [UInt8](repeating: 0xFF, count: 12))] },
        damaged { $0.patches = [.init(offset: -1, bytes: [UInt8](repeating: 0xFF, count: 8))] },
        damaged { $0.patches = [.init(offset: 405, bytes: [UInt8](repeating: 0, count: 95))] },
    ]

    @Test(arguments: [(Range<Int64>?.some(40..<49), Range<Int64>?.none), (40..<40, nil), (nil, 235..<236)])
    func refusesWebMFieldsNoPatchFits(size: Range<Int64>?, duration: Range<Int64>?) {
        #expect(throws: ClipPlanError.self) {
            try ClipPlan.webMPatches(segmentSizeField: size, durationElement: duration)
        }
    }

    @Test(arguments: damagedParts)
    func refusesAnIndexThatDoesNotFitTheFile(part: ClipPlan.Part) {
        do {
            _ = try ClipPlan(part: part, fromMs: 1200, toMs: 2600, durationMs: Self.durationMs)
            Issue.record("expected inconsistentIndex")
        } catch {
            guard case .inconsistentIndex(let reason) = error else {
                Issue.record("expected inconsistentIndex, got \(error)")
                return
            }
            #expect(!reason.isEmpty)
            #expect(error.httpStatus == 500)
        }
    }
}
