import Testing
import VigRelayCore

struct Base64URLTests {
    @Test func roundTripsEveryLengthWithoutPaddingOrUnsafeCharacters() {
        var rng = SystemRandomNumberGenerator()
        for length in 0...70 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let text = Base64URL.encode(bytes)
            #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"), "\(text)")
            #expect(Base64URL.decode(Substring(text)) == bytes, "length \(length)")
        }
    }

    @Test func usesTheURLAlphabet() {
        #expect(Base64URL.encode([0xfb, 0xff, 0xbf]) == "-_-_")
        #expect(Base64URL.encode([0xff]) == "_w")
        #expect(Base64URL.decode("-_-_") == [0xfb, 0xff, 0xbf])
    }

    @Test(arguments: ["+w", "/w", "_w==", "a", "abcde", "ab cd", "é", "ab.c", "ab\n"])
    func refusesTextOutsideTheAlphabetOrWithABadLength(text: String) {
        #expect(Base64URL.decode(Substring(text)) == nil)
    }
}
