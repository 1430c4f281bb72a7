/// When a load-test viewer on a slow link asks the relay to skip it to the present
/// (`{"type":"catch_up"}`, docs/PROTOCOL.md "Slow viewers"), by the same rule as the web pages
/// (`LagWatch` and `CATCH_UP` in web/downlink.js), so that `load --slow-viewers` puts the relay
/// under what real practitioners on poor downloads ask of it.
///
/// A frame's arrival time less its media time is the clocks' offset plus how long it took; the
/// least of those since the stream's init segment is the quickest way through, and the excess is
/// how late the frame is. At `lateNanoseconds` (3 s) the viewer asks; again at once after a
/// `skipped` that dropped frames, `nothingWaitedRetryNanoseconds` (2 s) after one that said nothing
/// waited, and `retryNanoseconds` (10 s) after an ask not answered.
///
/// Pure value; owned by the viewer's side (`LoadPairSide`), on its lws thread.
struct CatchUpWatch: Sendable, Equatable {
    static let lateNanoseconds: UInt64 = 3_000_000_000
    static let retryNanoseconds: UInt64 = 10_000_000_000
    static let nothingWaitedRetryNanoseconds: UInt64 = 2_000_000_000

    /// Asks made.
    private(set) var asked = 0
    /// How late the newest frame arrived (ns).
    private(set) var lateNanoseconds: UInt64 = 0
    /// The least arrival-minus-media-time since the stream's start (ns; may be negative).
    private var least: Int64?
    /// The earliest time (monotonic ns) the relay may be asked again.
    private var nextAskAt: UInt64 = 0

    /// A frame with media time `mediaTimeMicros` (flagged init segment: a new stream, a new clock)
    /// arrived at `now`. Returns true when the relay should be asked to catch up now.
    mutating func frame(mediaTimeMicros: UInt64, initSegment: Bool, at now: UInt64) -> Bool {
        if initSegment { least = nil }
        let offset = Int64(bitPattern: now) &- Int64(bitPattern: mediaTimeMicros &* 1000)
        let quickest = min(least ?? offset, offset)
        least = quickest
        lateNanoseconds = UInt64(bitPattern: offset &- quickest)
        guard lateNanoseconds >= Self.lateNanoseconds, now >= nextAskAt else { return false }
        nextAskAt = now + Self.retryNanoseconds
        asked += 1
        return true
    }

    /// The relay answered at `now` (`skipped`, with the frames it skipped).
    mutating func skipped(frames: Int, at now: UInt64) {
        nextAskAt = frames > 0 ? now : min(nextAskAt, now + Self.nothingWaitedRetryNanoseconds)
    }
}
