import Histogram

/// Percentiles of a histogram of microseconds, in milliseconds: what `pair` and `load` print.
///
/// Pure value; the histograms themselves belong to whoever records (see `LoadStats`, `VerifyingReceiver`).
public struct LatencySummary: Sendable, Equatable {
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var p999: Double
    public var max: Double
    /// Values recorded.
    public var count: UInt64

    /// An empty histogram of microseconds up to an hour, three significant digits (about 180 KB).
    public static func makeHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
    }

    /// Reads a histogram of microseconds; all zero when it is empty.
    public init(microseconds histogram: Histogram<UInt64>) {
        let ms = { (micros: UInt64) in Double(micros) / 1000 }
        let empty = histogram.totalCount == 0
        p50 = empty ? 0 : ms(histogram.valueAtPercentile(50))
        p90 = empty ? 0 : ms(histogram.valueAtPercentile(90))
        p99 = empty ? 0 : ms(histogram.valueAtPercentile(99))
        p999 = empty ? 0 : ms(histogram.valueAtPercentile(99.9))
        max = empty ? 0 : ms(histogram.max)
        count = histogram.totalCount
    }

    public init(p50: Double, p90: Double, p99: Double, p999: Double, max: Double, count: UInt64) {
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
        self.p999 = p999
        self.max = max
        self.count = count
    }

    /// Label and value pairs in print order: p50, p90, p99, p99.9, max.
    public var labelled: [(label: String, value: Double)] {
        [("p50", p50), ("p90", p90), ("p99", p99), ("p99.9", p999), ("max", max)]
    }
}
