/// What to answer to an HTTP `Range` request header for one resource of known length (RFC 9110 §14).
///
/// The relay serves one range or the whole resource, never `multipart/byteranges`:
/// - no header, an empty one, another unit than `bytes`, or a syntactically invalid value (including
///   `bytes=5-2`, where last-pos < first-pos: RFC 9110 §14.1.1 calls that range-spec invalid, and
///   §14.2 lets a server ignore an invalid Range) -> `.full`, 200 with the whole resource;
/// - more than one range (`bytes=0-1,5-6`) -> `.full` too: §14.2 lets a server ignore Range, and one
///   200 is simpler and cheaper than a multipart body for a player that asked for several pieces;
/// - one satisfiable range -> `.partial`, 206 with `Content-Range: bytes a-b/len`
///   (`contentRangeHeader(_:total:)`); a last-pos past the end is clamped to the last byte, a suffix
///   longer than the resource means all of it;
/// - one unsatisfiable range (first-pos at or past the end, or `bytes=-0`) -> `.unsatisfiable`, 416 with
///   `Content-Range: bytes */len` (`unsatisfiedRangeHeader(total:)`).
///
/// A zero-length resource has no byte to point at: `bytes=0-` is unsatisfiable (416), and a suffix
/// range such as `bytes=-5`, satisfiable in RFC terms but impossible to state in a `Content-Range`,
/// gets the (empty) whole resource with 200.
///
/// Numbers of any length are accepted without trapping: a position too big for `Int64` is past the end
/// of any resource. `If-Range` is not handled here: recordings and clips do not change once written.
public enum HTTPByteRange: Sendable, Equatable {
    /// Answer 200 with the whole resource.
    case full
    /// Answer 206 with these bytes of the resource (never empty, always inside it).
    case partial(Range<Int64>)
    /// Answer 416 with `Content-Range: bytes */len` and no body.
    case unsatisfiable

    /// Decides the answer to the `Range` header value `header` (nil when absent) for a resource of
    /// `length` bytes (a negative length is taken as 0).
    public init(header: String?, length: Int64) {
        let length = max(length, 0)
        guard let header, let specs = Self.byteRangeSpecs(header) else {
            self = .full
            return
        }
        guard specs.count == 1, let spec = Self.rangeSpec(specs[0]) else {
            self = .full
            return
        }
        switch spec {
        case .from(let first, let last):
            guard first < length else {
                self = .unsatisfiable
                return
            }
            let end = min(last ?? .max, length - 1)
            self = .partial(first..<end + 1)
        case .suffix(let count):
            guard count > 0 else {
                self = .unsatisfiable
                return
            }
            guard length > 0 else {
                self = .full
                return
            }
            self = .partial(length - min(count, length)..<length)
        }
    }

    /// The HTTP status for this answer: 200, 206 or 416.
    public var statusCode: Int {
        switch self {
        case .full: 200
        case .partial: 206
        case .unsatisfiable: 416
        }
    }

    /// The `Content-Range` value of a 206 answer, e.g. `bytes 0-499/1234` for the range `0..<500`.
    public static func contentRangeHeader(_ range: Range<Int64>, total: Int64) -> String {
        "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(total)"
    }

    /// The `Content-Range` value of a 416 answer, e.g. `bytes */1234`.
    public static func unsatisfiedRangeHeader(total: Int64) -> String {
        "bytes */\(total)"
    }

    /// One range-spec: `first-last`, `first-`, or `-suffix`.
    private enum Spec {
        case from(Int64, Int64?)
        case suffix(Int64)
    }

    /// The non-empty range-specs of a `bytes=...` value, or nil for another unit or no `=`.
    private static func byteRangeSpecs(_ header: String) -> [Substring]? {
        let value = trimmed(Substring(header))
        guard let equals = value.firstIndex(of: "=") else { return nil }
        guard trimmed(value[..<equals]).lowercased() == "bytes" else { return nil }
        let specs = value[value.index(after: equals)...].split(separator: ",", omittingEmptySubsequences: false)
            .map(trimmed).filter { !$0.isEmpty }
        return specs.isEmpty ? nil : specs
    }

    /// Reads one range-spec; nil when it is not valid syntax or last-pos < first-pos.
    private static func rangeSpec(_ text: Substring) -> Spec? {
        guard let dash = text.firstIndex(of: "-") else { return nil }
        let firstText = trimmed(text[..<dash])
        let lastText = trimmed(text[text.index(after: dash)...])
        if firstText.isEmpty {
            return position(lastText).map(Spec.suffix)
        }
        guard let first = position(firstText) else { return nil }
        if lastText.isEmpty { return .from(first, nil) }
        guard let last = position(lastText), last >= first else { return nil }
        return .from(first, last)
    }

    /// A run of ASCII digits as a number, saturating at `Int64.max`; nil when empty or not all digits.
    private static func position(_ text: Substring) -> Int64? {
        guard !text.isEmpty else { return nil }
        var value: Int64 = 0
        for byte in text.utf8 {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            value = o1 || o2 ? .max : sum
        }
        return value
    }

    /// The text without leading and trailing spaces and tabs (HTTP's optional whitespace).
    private static func trimmed(_ text: Substring) -> Substring {
        let isOWS: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = text.firstIndex(where: { !isOWS($0) }),
              let last = text.lastIndex(where: { !isOWS($0) }) else { return text[text.endIndex...] }
        return text[start...last]
    }
}
