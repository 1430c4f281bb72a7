/// Reads durations written like `90s`, `15m`, `12h`, `30d` (a whole number and one unit).
public enum DurationParser {
    /// Seconds in the duration, or nil with no unit, a zero or negative number, or an unknown unit.
    public static func seconds(_ text: String) -> Int? {
        guard let unit = text.last, let n = Int(text.dropLast()), n > 0 else { return nil }
        let scale: Int
        switch unit {
        case "s": scale = 1
        case "m": scale = 60
        case "h": scale = 3600
        case "d": scale = 86400
        default: return nil
        }
        let (product, overflow) = n.multipliedReportingOverflow(by: scale)
        return overflow || product > 100 * 365 * 86400 ? nil : product
    }

    /// The error message for a duration that did not parse, naming the option.
    public static func usage(option: String, value: String) -> String {
        "\(option) '\(value)' is not a duration: write a whole number above 0 and a unit, e.g. 90s, 15m, 12h or 30d"
    }
}
