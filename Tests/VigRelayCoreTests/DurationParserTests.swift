import Testing
import VigRelayCore

struct DurationParserTests {
    static let valid: [(String, Int)] = [
        ("1s", 1), ("90s", 90), ("15m", 900), ("12h", 43_200), ("30d", 2_592_000), ("7d", 604_800),
        ("1d", 86_400), ("0090s", 90), ("36500d", 100 * 365 * 86_400),
    ]

    @Test(arguments: valid)
    func readsAWholeNumberAndAUnit(text: String, seconds: Int) {
        #expect(DurationParser.seconds(text) == seconds)
    }

    static let invalid = [
        "", "s", "d", "5", "30", "0s", "0d", "-5m", "-1s", "5x", "5S", "5M", "5ms", "1.5h", "1,5h", " 5s", "5s ",
        "5 s", "five s", "1e3s", "36501d", "876001h", "9223372036854775807s", "9223372036854775807d",
        "99999999999999999999d",
    ]

    @Test(arguments: invalid)
    func refusesAnythingElse(text: String) {
        #expect(DurationParser.seconds(text) == nil)
    }

    @Test func usageNamesTheOptionTheValueAndAnExample() {
        let message = DurationParser.usage(option: "--ttl", value: "3 weeks")
        #expect(message.contains("--ttl"))
        #expect(message.contains("'3 weeks'"))
        #expect(message.contains("30d"))
    }
}
