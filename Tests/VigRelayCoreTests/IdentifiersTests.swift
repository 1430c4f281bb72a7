import Testing
import VigRelayCore

struct IdentifiersTests {
    @Test func newSessionIDsAreValidAndDistinct() {
        let ids = (0..<200).map { _ in Identifiers.newSessionID() }
        #expect(ids.allSatisfy { Identifiers.isValidSessionID($0) })
        #expect(Set(ids).count == ids.count)
    }

    @Test func randomHexHasTwoDigitsPerByte() {
        #expect(Identifiers.randomHex(bytes: 0) == "")
        let hex = Identifiers.randomHex(bytes: 5)
        #expect(hex.count == 10)
        #expect(hex.allSatisfy { "0123456789abcdef".contains($0) })
    }

    @Test(arguments: [
        ("0123456789abcdef0123456789abcdef", true),
        ("00000000000000000000000000000000", true),
        ("0123456789ABCDEF0123456789abcdef", false),
        ("0123456789abcdef0123456789abcde", false),
        ("0123456789abcdef0123456789abcdef0", false),
        ("0123456789abcdeg0123456789abcdef", false),
        ("../../../../../../../../../../..", false),
        ("", false),
    ])
    func sessionIDsAre32LowerCaseHex(id: String, valid: Bool) {
        #expect(Identifiers.isValidSessionID(id) == valid)
    }

    @Test(arguments: [
        ("a", true), ("pr-1", true), ("Dr.Smith_01", true), ("9", true), (String(repeating: "x", count: 64), true),
        ("", false), ("-a", false), (".a", false), ("_a", false), ("a b", false), ("a/b", false), ("é", false),
        ("ab\u{0}", false), (String(repeating: "x", count: 65), false),
    ])
    func practitionerIDsAreSafeNames(id: String, valid: Bool) {
        #expect(Identifiers.isValidPractitionerID(id) == valid)
    }
}
