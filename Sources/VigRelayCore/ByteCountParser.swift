import Foundation

/// Reads sizes written like `2G`, `500M`, `1.5GB`, `512MiB` or a plain number of bytes: what an
/// operator types for `--min-free-space` and `--recording-quota`.
///
/// k, M, G and T (with or without a trailing B) are powers of 1,000, as disks are sold; KiB, MiB,
/// GiB and TiB powers of 1,024; case does not matter.
public enum ByteCountParser {
    /// Bytes in `text`, or nil for no number, a negative or fractional byte count, an unknown unit,
    /// or more than `Int64.max`.
    public static func bytes(_ text: String) -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let unitStart = trimmed.firstIndex { !($0.isASCII && ($0.isNumber || $0 == ".")) } ?? trimmed.endIndex
        let number = trimmed[..<unitStart]
        guard let scale = scales[trimmed[unitStart...].lowercased()] else { return nil }
        if let whole = Int64(number) {  // exact, to the last byte
            let (product, overflow) = whole.multipliedReportingOverflow(by: scale)
            return overflow ? nil : product
        }
        guard let fraction = Double(number), fraction >= 0 else { return nil }
        let value = fraction * Double(scale)
        guard value < 0x1p63, value == value.rounded(.down) else { return nil }
        return Int64(value)
    }

    /// The error message for a size that did not parse, naming the option.
    public static func usage(option: String, value: String) -> String {
        "\(option) '\(value)' is not a size: write a number of bytes, or a number and a unit, e.g. 500M, 2G or 1.5GiB"
    }

    private static let scales: [String: Int64] = [
        "": 1, "b": 1,
        "k": 1_000, "kb": 1_000, "m": 1_000_000, "mb": 1_000_000, "g": 1_000_000_000, "gb": 1_000_000_000,
        "t": 1_000_000_000_000, "tb": 1_000_000_000_000,
        "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
    ]
}
