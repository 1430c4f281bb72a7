import Testing
import VigRelayCore

struct HTTPByteRangeTests {
    static let max = Int64.max

    /// (Range header, resource length, answer).
    static let table: [(String?, Int64, HTTPByteRange)] = [
        // No header, or nothing to act on: the whole resource.
        (nil, 100, .full), ("", 100, .full), ("   ", 100, .full),
        // One range.
        ("bytes=0-99", 100, .partial(0..<100)), ("bytes=0-0", 100, .partial(0..<1)),
        ("bytes=10-19", 100, .partial(10..<20)), ("bytes=99-99", 100, .partial(99..<100)),
        ("bytes=10-", 100, .partial(10..<100)), ("bytes=99-", 100, .partial(99..<100)),
        ("bytes=0-", 100, .partial(0..<100)),
        // A last-pos past the end is clamped.
        ("bytes=50-100", 100, .partial(50..<100)), ("bytes=50-1000", 100, .partial(50..<100)),
        // Suffix ranges: the last n bytes, all of them when n is larger.
        ("bytes=-10", 100, .partial(90..<100)), ("bytes=-1", 100, .partial(99..<100)),
        ("bytes=-100", 100, .partial(0..<100)), ("bytes=-1000", 100, .partial(0..<100)),
        // Unsatisfiable: first-pos at or past the end, or an empty suffix.
        ("bytes=100-", 100, .unsatisfiable), ("bytes=100-200", 100, .unsatisfiable),
        ("bytes=1000-", 100, .unsatisfiable), ("bytes=-0", 100, .unsatisfiable), ("bytes=-000", 100, .unsatisfiable),
        // last-pos < first-pos is an invalid range-spec: ignored.
        ("bytes=5-2", 100, .full), ("bytes=200-100", 100, .full),
        // Whitespace around the value, the '=', the '-' and list commas; the unit in any case.
        ("  bytes=10-19  ", 100, .partial(10..<20)), ("\tbytes=10-19\t", 100, .partial(10..<20)),
        ("bytes = 10 - 19", 100, .partial(10..<20)), ("Bytes=10-19", 100, .partial(10..<20)),
        ("BYTES=-5", 100, .partial(95..<100)),
        // Empty list elements are not ranges.
        ("bytes=10-19,", 100, .partial(10..<20)), ("bytes=, 10-19", 100, .partial(10..<20)),
        ("bytes=,,10-19,,", 100, .partial(10..<20)),
        // Several ranges: answered with the whole resource.
        ("bytes=0-1,5-6", 100, .full), ("bytes=0-1, -5", 100, .full), ("bytes=0-1,0-1", 100, .full),
        ("bytes=0-1,x", 100, .full), ("bytes=200-300,400-500", 100, .full),
        // Other units, and garbage: ignored.
        ("items=0-5", 100, .full), ("none", 100, .full), ("bytes 0-5", 100, .full), ("bytes=", 100, .full),
        ("bytes=,", 100, .full), ("bytes=-", 100, .full), ("bytes=--5", 100, .full), ("bytes=abc", 100, .full),
        ("bytes=1-2-3", 100, .full), ("bytes=+1-2", 100, .full), ("bytes=1-+2", 100, .full),
        ("bytes=0x10-20", 100, .full), ("bytes=1.5-2", 100, .full), ("bytes=1e2-", 100, .full),
        ("bytes=\u{0661}-\u{0662}", 100, .full), ("bytes=\u{FF11}-", 100, .full), ("bytesx=0-5", 100, .full),
        ("=0-5", 100, .full), ("bytes=1 2-3", 100, .full), ("bytes=0-5;q=1", 100, .full),
        // A zero-length resource: no byte to point at.
        (nil, 0, .full), ("bytes=0-", 0, .unsatisfiable), ("bytes=0-0", 0, .unsatisfiable),
        ("bytes=0-100", 0, .unsatisfiable), ("bytes=-5", 0, .full), ("bytes=-0", 0, .unsatisfiable),
        // A negative length counts as 0.
        ("bytes=0-5", -3, .unsatisfiable), (nil, -3, .full),
        // Huge numbers saturate instead of trapping.
        ("bytes=0-99999999999999999999999", 100, .partial(0..<100)),
        ("bytes=99999999999999999999999-", 100, .unsatisfiable),
        ("bytes=99999999999999999999999-99999999999999999999999", 100, .unsatisfiable),
        ("bytes=-99999999999999999999999", 100, .partial(0..<100)),
        ("bytes=9223372036854775807-", max, .unsatisfiable),
        ("bytes=9223372036854775806-", max, .partial(max - 1..<max)),
        ("bytes=0-", max, .partial(0..<max)), ("bytes=0-9223372036854775807", max, .partial(0..<max)),
        ("bytes=-1", max, .partial(max - 1..<max)), ("bytes=-9223372036854775808", max, .partial(0..<max)),
        ("bytes=0-" + String(repeating: "9", count: 10_000), 100, .partial(0..<100)),
    ]

    @Test(arguments: table)
    func answersOneRangeOrTheWholeResource(header: String?, length: Int64, expected: HTTPByteRange) {
        #expect(HTTPByteRange(header: header, length: length) == expected)
    }

    @Test func statusCodes() {
        #expect(HTTPByteRange.full.statusCode == 200)
        #expect(HTTPByteRange.partial(0..<1).statusCode == 206)
        #expect(HTTPByteRange.unsatisfiable.statusCode == 416)
    }

    @Test func contentRangeHeaderNamesTheFirstAndLastByteAndTheLength() {
        #expect(HTTPByteRange.contentRangeHeader(0..<100, total: 100) == "bytes 0-99/100")
        #expect(HTTPByteRange.contentRangeHeader(5..<6, total: 6) == "bytes 5-5/6")
        #expect(HTTPByteRange.contentRangeHeader(Self.max - 1..<Self.max, total: Self.max)
            == "bytes 9223372036854775806-9223372036854775806/9223372036854775807")
        #expect(HTTPByteRange.unsatisfiedRangeHeader(total: 1234) == "bytes */1234")
        #expect(HTTPByteRange.unsatisfiedRangeHeader(total: 0) == "bytes */0")
    }

    @Test func aPartialRangeIsNeverEmptyAndAlwaysInside() {
        let headers = ["bytes=0-", "bytes=-1", "bytes=3-", "bytes=-7", "bytes=2-5", "bytes=0-0", "bytes=6-100"]
        var partials = 0
        for length in Int64(0)...10 {
            for header in headers {
                if case .partial(let range) = HTTPByteRange(header: header, length: length) {
                    #expect(!range.isEmpty && range.lowerBound >= 0 && range.upperBound <= length, "\(header) of \(length)")
                    partials += 1
                }
            }
        }
        #expect(partials > 40, "most of these are partial ranges: the property was checked on them")
    }
}
