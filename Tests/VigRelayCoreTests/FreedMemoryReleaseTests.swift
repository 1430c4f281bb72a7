import Testing
import VigRelayCore

struct FreedMemoryReleaseTests {
    static let MiB = 1 << 20

    /// What `queued` answered for each figure, in turn.
    static func answers(_ release: inout FreedMemoryRelease, _ figures: [Int]) -> [Bool] {
        figures.map { release.queued($0) }
    }

    @Test func aSteadyLoadNeverReleasesHoweverOftenItsQueuesEmpty() {
        var release = FreedMemoryRelease()
        // Up to just under a burst and down to nothing, again and again: never a burst.
        let figures = (0..<600).map { $0 % 2 == 0 ? FreedMemoryRelease.burstBytes - 1 : 0 }
        #expect(!Self.answers(&release, figures).contains(true))
    }

    @Test func aBurstIsReleasedOnceItHasDrainedToAQuarter() {
        var release = FreedMemoryRelease()
        let answers = Self.answers(&release, [10, 200, 3_700, 1_600, 930, 900, 300, 100, 0, 0].map { $0 * Self.MiB })
        // 3,700 MiB at the peak: 930 is still over a quarter of it, 900 is not. From 900, 300 is not
        // yet a quarter, 100 is; from 100 (still a burst), 0 is; then nothing is left to release.
        #expect(answers == [false, false, false, false, false, true, false, true, true, false])
        #expect(release.peakBytes == 0)
    }

    @Test func theNextBurstIsMeasuredFromWhatWasLeftAtTheRelease() {
        var release = FreedMemoryRelease()
        let answers = Self.answers(&release, [400, 80].map { $0 * Self.MiB })
        #expect(answers == [false, true], "80 MiB left of a 400 MiB peak")
        #expect(release.peakBytes == 80 * Self.MiB)
        // From 80 MiB (a burst by size), down to 20 MiB, a quarter: released again; then 20 MiB is no
        // burst, so draining to nothing releases nothing.
        #expect(Self.answers(&release, [20 * Self.MiB, 0]) == [true, false])
    }
}
