import Foundation

/// Times as the relay writes them everywhere (event logs, API answers): ISO 8601, UTC, with
/// milliseconds, e.g. `2027-01-15T08:00:00.123Z`.
public enum UTCTime {
    /// `date` to the nearest millisecond.
    ///
    /// Why not Foundation's formatter alone: it truncates the binary fraction, so a time read back
    /// from a log (`.981` parses to .98099999...) was printed `.980`, while the same moment still
    /// in memory was printed `.981`: one held session showed two times, depending on whether the
    /// writer had logged it yet. Rounding to whole milliseconds first makes the text a function of
    /// the millisecond.
    public static func format(_ date: Date) -> String {
        let ms = (date.timeIntervalSince1970 * 1000).rounded()
        let seconds = (ms / 1000).rounded(.down)
        let whole = Date(timeIntervalSince1970: seconds).formatted(Date.ISO8601FormatStyle())  // ...T08:00:00Z
        let fraction = Int(ms - seconds * 1000)
        return whole.dropLast() + "." + String(repeating: "0", count: fraction < 10 ? 2 : fraction < 100 ? 1 : 0) + "\(fraction)Z"
    }
}
