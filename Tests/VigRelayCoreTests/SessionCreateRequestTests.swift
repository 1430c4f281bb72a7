import Testing
import VigRelayCore

struct SessionCreateRequestTests {
    func parse(_ text: String) -> Result<SessionCreateRequest, SessionCreateRequest.InvalidField> {
        SessionCreateRequest.parse(utf8(text))
    }

    @Test(arguments: ["", " ", "\n", " \r\n\t "])
    func emptyBodyMeansNoLabels(body: String) {
        #expect(parse(body) == .success(SessionCreateRequest()))
    }

    @Test func readsEveryField() {
        #expect(parse(#"{"caseRef":"fam-042","cycle":3,"purpose":"review"}"#)
            == .success(SessionCreateRequest(caseRef: "fam-042", cycle: 3, purpose: .review)))
    }

    /// The example body from docs/PROTOCOL.md.
    @Test func acceptsTheDocumentedExample() {
        #expect(parse(#"{"caseRef":"fam-042","cycle":1,"purpose":"filming"}"#)
            == .success(SessionCreateRequest(caseRef: "fam-042", cycle: 1, purpose: .filming)))
    }

    @Test(arguments: [1, 2, 42, 98, 99])
    func acceptsEveryCycleFrom1To99(cycle: Int) {
        #expect(parse(#"{"cycle":\#(cycle)}"#) == .success(SessionCreateRequest(cycle: cycle)))
    }

    @Test(arguments: ["a", "0", "fam-042", "Fam.042_b", String(repeating: "z", count: 64)])
    func acceptsSafeCaseRefs(caseRef: String) {
        #expect(parse(#"{"caseRef":"\#(caseRef)"}"#) == .success(SessionCreateRequest(caseRef: caseRef)))
    }

    @Test(arguments: SessionPurpose.allCases)
    func acceptsEachPurpose(purpose: SessionPurpose) {
        #expect(parse(#"{"purpose":"\#(purpose.rawValue)"}"#) == .success(SessionCreateRequest(purpose: purpose)))
    }

    @Test func nullFieldsAreAbsent() {
        #expect(parse(#"{"caseRef":null,"cycle":null,"purpose":null}"#) == .success(SessionCreateRequest()))
        #expect(parse("{}") == .success(SessionCreateRequest()))
    }

    static let badBodies = ["[]", "[1]", "\"fam\"", "1", "true", "null", "not json", "{", "{\"cycle\":1", "\u{0}"]

    @Test(arguments: badBodies)
    func bodyMustBeAJSONObject(body: String) {
        guard case .failure(let invalid) = parse(body) else {
            Issue.record("\(body) was accepted")
            return
        }
        #expect(invalid.message.contains("JSON object"))
    }

    /// Each bad value as a JSON fragment, and the field the message must name.
    static let badFields: [(String, String)] = [
        (#""caseRef":"""#, "caseRef"),
        (#""caseRef":"-fam""#, "caseRef"),
        (#""caseRef":".fam""#, "caseRef"),
        (#""caseRef":"_fam""#, "caseRef"),
        (#""caseRef":"Jane Smith""#, "caseRef"),
        (#""caseRef":"fam/042""#, "caseRef"),
        (#""caseRef":"famé""#, "caseRef"),
        (#""caseRef":"\#(String(repeating: "z", count: 65))""#, "caseRef"),
        (#""caseRef":42"#, "caseRef"),
        (#""caseRef":true"#, "caseRef"),
        (#""caseRef":["fam"]"#, "caseRef"),
        (#""cycle":0"#, "cycle"),
        (#""cycle":100"#, "cycle"),
        (#""cycle":-1"#, "cycle"),
        (#""cycle":1.5"#, "cycle"),
        (#""cycle":"1""#, "cycle"),
        (#""cycle":true"#, "cycle"),
        (#""cycle":false"#, "cycle"),
        (#""cycle":{}"#, "cycle"),
        (#""cycle":1e300"#, "cycle"),
        (#""purpose":"Filming""#, "purpose"),
        (#""purpose":"therapy""#, "purpose"),
        (#""purpose":"""#, "purpose"),
        (#""purpose":1"#, "purpose"),
        (#""purpose":["review"]"#, "purpose"),
    ]

    @Test(arguments: badFields)
    func eachBadFieldIsRefusedByName(fragment: String, field: String) {
        guard case .failure(let invalid) = parse("{\(fragment)}") else {
            Issue.record("{\(fragment)} was accepted")
            return
        }
        #expect(invalid.message.hasPrefix(field), "\(invalid.message)")
    }

    @Test func aBadFieldSpoilsAnOtherwiseGoodBody() {
        guard case .failure(let invalid) = parse(#"{"caseRef":"fam-042","cycle":2,"purpose":"party"}"#) else {
            Issue.record("accepted")
            return
        }
        #expect(invalid.message.contains("filming"))
    }

    @Test func caseRefMessageWarnsAgainstNames() {
        guard case .failure(let invalid) = parse(#"{"caseRef":"Jane Smith"}"#) else {
            Issue.record("accepted")
            return
        }
        #expect(invalid.message.contains("never a name"))
    }
}
