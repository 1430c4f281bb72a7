import Testing
import VigRelayCore

struct RecentBytesTests {
    @Test func totalsTheBytesOfTheLastSeconds() {
        var recent = RecentBytes(seconds: 2)
        #expect(recent.add(100, at: 10) == 100)
        #expect(recent.add(50, at: 10) == 150)
        #expect(recent.add(10, at: 11) == 160)
        #expect(recent.add(1, at: 12) == 161, "seconds 10-12: the window is 2 whole seconds and the current one")
        #expect(recent.add(0, at: 13) == 11, "second 10 left the window")
        #expect(recent.add(0, at: 14) == 1)
        #expect(recent.add(0, at: 15) == 0)
    }

    @Test func aLeapPastTheWindowStartsOver() {
        var recent = RecentBytes(seconds: 4)
        recent.add(1000, at: 100)
        recent.add(1000, at: 102)
        #expect(recent.add(7, at: 107) == 7)
        #expect(recent.add(7, at: 1_000_000) == 7)
    }

    /// A wall clock stepped back must not lose or double-count bytes: they go into the newest second.
    @Test func aClockSteppedBackCountsIntoTheNewestSecond() {
        var recent = RecentBytes(seconds: 1)
        recent.add(10, at: 50)
        #expect(recent.add(5, at: 40) == 15)
        #expect(recent.add(1, at: 51) == 16)
        #expect(recent.add(0, at: 52) == 1, "the bytes counted at 40 went with second 50")
    }

    @Test func negativeSecondsAndTheSmallestWindowWork() {
        var recent = RecentBytes(seconds: 0)
        #expect(recent.seconds == 1)
        #expect(recent.add(3, at: -5) == 3)
        #expect(recent.add(4, at: -4) == 7)
        #expect(recent.add(0, at: -3) == 4)
    }

    @Test func theLimitIsTheRecentBytesBetweenTheFloorAndFourTimesIt() {
        var limits = RelayLimits()
        #expect(limits.viewerQueueLimit(recentBytes: 0) == 8 << 20)
        #expect(limits.viewerQueueLimit(recentBytes: 20 << 20) == 20 << 20)
        #expect(limits.viewerQueueLimit(recentBytes: 1 << 40) == 32 << 20)
        limits.viewerQueueBytes = 1 << 20
        #expect(limits.viewerQueueLimit(recentBytes: 1 << 40) == 4 << 20)
    }
}
