/// Reads bitrates written like `2.5M`, `800k`, `64000` or `0` (no limit), in bits per second.
public enum Bitrate {
    /// Bits per second, or nil when the text is not a non-negative number with an optional k/M/G suffix.
    public static func bitsPerSecond(_ text: String) -> Double? {
        guard let last = text.last else { return nil }
        var scale = 1.0
        var number = Substring(text)
        switch last {
        case "k", "K": scale = 1e3; number = number.dropLast()
        case "m", "M": scale = 1e6; number = number.dropLast()
        case "g", "G": scale = 1e9; number = number.dropLast()
        default: break
        }
        guard let value = Double(number), value.isFinite, value >= 0 else { return nil }
        let bits = value * scale
        return bits <= 100e9 ? bits : nil
    }

    /// The error message for a bitrate that did not parse, naming the option.
    public static func usage(option: String, value: String) -> String {
        "\(option) '\(value)' is not a bitrate: write bits per second with an optional k, M or G, e.g. 2.5M, 800k, or 0 for as fast as possible"
    }
}
