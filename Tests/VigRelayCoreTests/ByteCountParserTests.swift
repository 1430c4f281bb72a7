import Testing
import VigRelayCore

struct ByteCountParserTests {
    static let valid: [(String, Int64)] = [
        ("0", 0), ("1", 1), ("4096", 4096), ("12B", 12), ("1k", 1_000), ("1K", 1_000), ("500M", 500_000_000),
        ("500mb", 500_000_000), ("2G", 2_000_000_000), ("1.5GB", 1_500_000_000), ("0.5g", 500_000_000), (".5G", 500_000_000),
        ("1T", 1_000_000_000_000), ("1KiB", 1_024), ("512MiB", 512 << 20), ("2GiB", 2 << 30), ("1.5gib", 3 << 29),
        ("1TiB", 1 << 40), (" 2G ", 2_000_000_000), ("9223372036854775807", .max), ("9007199254740993", 9_007_199_254_740_993),
    ]

    @Test(arguments: valid)
    func readsANumberAndAUnit(text: String, bytes: Int64) {
        #expect(ByteCountParser.bytes(text) == bytes)
    }

    static let invalid = [
        "", "G", "GiB", "-1", "-2G", "1.5", "0.1B", "2X", "2 G", "2Gi", "2GBs", "1e9", "inf", "nan", "1..5G", "1,5G",
        "9223372036854775808", "9300000000000000000", "10000000T", "9223372036854775807k", "½G", "+5G",
    ]

    @Test(arguments: invalid)
    func refusesAnythingElse(text: String) {
        #expect(ByteCountParser.bytes(text) == nil)
    }

    @Test func usageNamesTheOptionTheValueAndAnExample() {
        let message = ByteCountParser.usage(option: "--min-free-space", value: "lots")
        #expect(message.contains("--min-free-space") && message.contains("'lots'") && message.contains("2G"))
    }
}
