/// A pair a `LoadWorker`'s driver thread steps: `LoadPair` (vigrelay protocol) or `MirrorPair`
/// (any relay that mirrors two sockets).
///
/// Thread: every member is called on the owning worker's driver thread only. Pairs tell the driver
/// about events from lws threads through the `poke` closure they are given.
protocol LoadPairDriving: AnyObject {
    /// Runs the pair's next steps; returns when to be called again (monotonic ns), nil once done.
    func advance(now: UInt64) -> UInt64?
    /// Ctrl-C: a streaming pair ends its streams now and finishes cleanly; one not streaming yet is cancelled.
    func windDown(now: UInt64)
    /// The run's hard deadline passed: an unfinished pair fails with `deadline`.
    func abort(now: UInt64)
    /// What happened to the pair (complete once `advance` returned nil or after `abort`).
    func outcome() -> LoadPairOutcome
}
