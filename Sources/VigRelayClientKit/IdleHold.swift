/// When the pairs of `load --idle` stop holding: `--duration` after every pair has connected (both
/// sides welcomed) or given up, so that all connections are up together for the whole duration
/// even when connecting them takes longer (a connect window, a slow relay). If some pairs are
/// still connecting `connectLimitSeconds` after the ramp, the hold starts anyway.
///
/// Thread-safe: the command's thread releases the hold (`releaseIfDue`); driver threads read `end`.
final class IdleHold: Sendable {
    /// When every holding pair says bye (monotonic ns), once released.
    let end = Latch<UInt64>()
    private let connectDeadline: UInt64
    private let holdNanoseconds: UInt64
    private let pairs: Int

    /// A hold for `pairs` pairs whose connections start at `t0` (monotonic ns).
    init(t0: UInt64, plan: LoadPlan) {
        connectDeadline = t0 + UInt64((plan.rampSeconds + plan.idleConnectLimitSeconds) * 1e9)
        holdNanoseconds = UInt64(plan.durationSeconds * 1e9)
        pairs = plan.pairs
    }

    /// Releases the hold when every pair has settled (holding, or failed or cancelled before) or
    /// the connect deadline passed; returns the end it set, nil if not released now. Command's thread.
    func releaseIfDue(now: UInt64, settled: Int) -> UInt64? {
        guard end.current == nil,
              let at = Self.releaseTime(now: now, settled: settled, pairs: pairs, connectDeadline: connectDeadline,
                                        holdNanoseconds: holdNanoseconds)
        else { return nil }
        end.fulfil(at)
        return at
    }

    /// The end of the hold if it is to start now, else nil. Pure.
    static func releaseTime(now: UInt64, settled: Int, pairs: Int, connectDeadline: UInt64, holdNanoseconds: UInt64) -> UInt64? {
        guard settled >= pairs || now >= connectDeadline else { return nil }
        return now + holdNanoseconds
    }
}
