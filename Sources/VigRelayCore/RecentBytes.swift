/// The bytes a stream carried over its last few seconds, by the relay's clock: how far behind a
/// live viewer may fall before frames are skipped (`RelayLimits.viewerQueueLimit`), so the limit
/// follows the stream's rate ("a few seconds of media") instead of one size for every stream.
///
/// Counted in one-second buckets, so the total covers between `seconds` and `seconds + 1` seconds.
/// A clock that steps back counts into the newest bucket; one that leaps forward past the window
/// starts over. Owned by the lws thread, inside `RelayCore`.
public struct RecentBytes: Sendable {
    /// Whole seconds the total covers.
    public let seconds: Int
    /// Bytes per second, the bucket of second `s` at `s % buckets.count`.
    private var buckets: [Int]
    private var newestSecond: Int64?
    /// Bytes over the window.
    public private(set) var total = 0

    public init(seconds: Int) {
        self.seconds = max(1, seconds)
        buckets = Array(repeating: 0, count: self.seconds + 1)
    }

    /// Counts `count` bytes carried during `second` (the relay's clock in whole seconds) and returns
    /// the bytes over the window ending there.
    @discardableResult
    public mutating func add(_ count: Int, at second: Int64) -> Int {
        advance(to: second)
        buckets[bucket(newestSecond!)] += count
        total += count
        return total
    }

    private mutating func advance(to second: Int64) {
        guard let newest = newestSecond else {
            newestSecond = second
            return
        }
        guard second > newest else { return }
        if second - newest >= Int64(buckets.count) {
            for i in buckets.indices { buckets[i] = 0 }
            total = 0
        } else {
            for s in (newest + 1)...second {
                total -= buckets[bucket(s)]
                buckets[bucket(s)] = 0
            }
        }
        newestSecond = second
    }

    private func bucket(_ second: Int64) -> Int {
        let n = Int64(buckets.count)
        return Int(((second % n) + n) % n)
    }
}
