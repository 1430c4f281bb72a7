import Testing
import VigRelayCore
@testable import VigRelayClientKit

/// `load --slow-viewers`: the emulated slow link, the catch-up rule the pages use, and which pairs are slow.
struct SlowViewerTests {
    static let ms: UInt64 = 1_000_000
    static let s: UInt64 = 1_000_000_000

    @Test func aSlowLinkIsBusyForEachMessageItsSizeOverTheRateAndBanksNothingWhileIdle() {
        var link = SlowLink(bitsPerSecond: 800_000)  // 100,000 bytes a second
        let first = link.took(50_000, at: 10 * Self.s)
        #expect(first == 10 * Self.s + 500 * Self.ms)
        // The next message, taken before the link is free, waits its turn behind the first.
        let second = link.took(10_000, at: 10 * Self.s + 100 * Self.ms)
        #expect(second == 10 * Self.s + 600 * Self.ms)
        // Idle for seconds: the next message starts when it comes, not earlier.
        let afterIdle = link.took(1_000, at: 20 * Self.s)
        #expect(afterIdle == 20 * Self.s + 10 * Self.ms)
        // An empty message takes no time: the viewer reads on.
        let empty = link.took(0, at: 30 * Self.s)
        #expect(empty == nil)
    }

    @Test func aSlowLinkHoldsHalfASecondOnTheWayAtLeast16KiB() {
        #expect(SlowLink(bitsPerSecond: 1_000_000).queueBytes == 62_500)
        #expect(SlowLink(bitsPerSecond: 100_000).queueBytes == 16_384)
    }

    @Test func theViewerAsksOnceAFrameIsThreeSecondsLateThenNotAgainForTenSecondsUnanswered() {
        var watch = CatchUpWatch()
        let t0: UInt64 = 100 * Self.s
        var asks: [Bool] = []
        // Frames 100 ms apart arriving 1 ms after their media time: the quickest way through.
        asks.append(watch.frame(mediaTimeMicros: 0, initSegment: true, at: t0 + Self.ms))
        asks.append(watch.frame(mediaTimeMicros: 100_000, initSegment: false, at: t0 + 101 * Self.ms))
        // Then later and later: 2.9 s late is not yet 3, 3.1 s is.
        asks.append(watch.frame(mediaTimeMicros: 200_000, initSegment: false, at: t0 + 3_101 * Self.ms))
        #expect(watch.lateNanoseconds == 2_900 * Self.ms)
        asks.append(watch.frame(mediaTimeMicros: 300_000, initSegment: false, at: t0 + 3_401 * Self.ms))
        // Still late, no answer: asked again only 10 s after the first ask.
        asks.append(watch.frame(mediaTimeMicros: 400_000, initSegment: false, at: t0 + 13_400 * Self.ms))
        asks.append(watch.frame(mediaTimeMicros: 500_000, initSegment: false, at: t0 + 13_401 * Self.ms))
        #expect(asks == [false, false, false, true, false, true])
        #expect(watch.asked == 2)
    }

    @Test func aSkipThatDroppedFramesAllowsTheNextAskAtOnceAndOneThatDroppedNoneAfterTwoSeconds() {
        var watch = CatchUpWatch()
        let t0: UInt64 = 100 * Self.s
        var asks: [Bool] = []
        asks.append(watch.frame(mediaTimeMicros: 0, initSegment: true, at: t0))
        asks.append(watch.frame(mediaTimeMicros: 100_000, initSegment: false, at: t0 + 4 * Self.s))
        // Frames were dropped, and the next is still late: asked again at once.
        watch.skipped(frames: 12, at: t0 + 4_100 * Self.ms)
        asks.append(watch.frame(mediaTimeMicros: 200_000, initSegment: false, at: t0 + 4_200 * Self.ms))
        // Nothing waited at the relay: not asked again for 2 s.
        watch.skipped(frames: 0, at: t0 + 4_300 * Self.ms)
        asks.append(watch.frame(mediaTimeMicros: 300_000, initSegment: false, at: t0 + 6_299 * Self.ms))
        asks.append(watch.frame(mediaTimeMicros: 400_000, initSegment: false, at: t0 + 6_300 * Self.ms))
        #expect(asks == [false, true, true, false, true])
    }

    @Test func anInitSegmentStartsANewClock() {
        var watch = CatchUpWatch()
        _ = watch.frame(mediaTimeMicros: 0, initSegment: true, at: 10 * Self.s)
        // A new recorder whose media time starts at 0 again, 20 s on: not 20 s late.
        let asked = watch.frame(mediaTimeMicros: 0, initSegment: true, at: 30 * Self.s)
        #expect(!asked && watch.lateNanoseconds == 0)
    }

    static func plan(pairs: Int, slow: Int, slowFamilies: Int = 0, screenBitsPerSecond: Double = 0) -> LoadPlan {
        var plan = LoadPlan(target: .relay(ServerEndpoint(host: "h", port: 1), token: "t"), trust: .system, pairs: pairs,
                            bitsPerSecond: 2_500_000, framesPerSecond: 10, frameSize: nil, durationSeconds: 10, rampSeconds: 0,
                            record: false, screenBitsPerSecond: screenBitsPerSecond, workers: 2, serverPID: nil)
        plan.slowViewers = LoadPlan.SlowDownloads(count: slow, bitsPerSecond: 1_000_000)
        plan.slowFamilies = LoadPlan.SlowDownloads(count: slowFamilies, bitsPerSecond: 300_000)
        return plan
    }

    @Test func exactlyTheSlowViewersAskedForAreSpreadOverThePairsTheFirstAmongThem() {
        func slow(_ pairs: Int, _ count: Int) -> [Int] {
            let plan = Self.plan(pairs: pairs, slow: count)
            return (0..<pairs).filter { plan.slowDownload(pair: $0, of: .camera) != nil }
        }
        #expect(slow(10, 0) == [])
        #expect(slow(10, 1) == [0])
        #expect(slow(10, 3) == [0, 3, 6])
        #expect(slow(4, 4) == [0, 1, 2, 3])
        #expect(slow(1000, 7).count == 7)
        #expect(Self.plan(pairs: 10, slow: 3).slowDownload(pair: 10, of: .camera) == nil, "no pair beyond the plan's")
    }

    @Test func slowFamiliesReadTheScreenAtTheirOwnRateSpreadTheSameWayAsTheViewers() {
        let plan = Self.plan(pairs: 10, slow: 1, slowFamilies: 2, screenBitsPerSecond: 1_000_000)
        #expect((0..<10).map { plan.slowDownload(pair: $0, of: .screen) } == [300_000, nil, nil, nil, nil, 300_000, nil, nil, nil, nil])
        #expect((0..<10).map { plan.slowDownload(pair: $0, of: .camera) } == [1_000_000] + Array(repeating: nil, count: 9))
        #expect(plan.slowDownloads(of: .screen) == LoadPlan.SlowDownloads(count: 2, bitsPerSecond: 300_000))
        #expect(plan.slowDownloads(of: .camera).count == 1)
    }

    @Test func theSlowestViewerTakesAKeyframeInHalfTheStallLimit() {
        let plan = Self.plan(pairs: 10, slow: 1, screenBitsPerSecond: 1_000_000)
        // 2.5 Mbit/s at 10 fps: 78,123-byte keyframes, 625 kbit, in 5 s at 125 kbit/s.
        #expect(plan.keyframeBytes(of: .camera) == 78_123)
        #expect(plan.slowestDownloadBitsPerSecond(of: .camera) == 125_000)
        // A 1 Mbit/s screen: 31,248-byte keyframes, 250 kbit, in 5 s at 50 kbit/s.
        #expect(plan.keyframeBytes(of: .screen) == 31_248)
        #expect(plan.slowestDownloadBitsPerSecond(of: .screen) == 50_000)
        #expect(Self.plan(pairs: 10, slow: 1).keyframeBytes(of: .screen) == 0, "no screen stream")
    }
}
