import Testing
import VigRelayCore

struct ControlMessageTests {
    /// The decode error for a text, or nil when it decoded.
    func decodeError(_ text: [UInt8]) -> ControlMessage.DecodeError? {
        if case .failure(let error) = ControlMessage.decode(text) { error } else { nil }
    }

    @Test func decodesTypeIdAndFields() throws {
        let message = try ControlMessage.decode(utf8(#"{"type":"hello","token":"abc","id":"r1","n":3}"#)).get()
        #expect(message.type == "hello")
        #expect(message.id == .string("r1"))
        #expect(message.string("token") == "abc")
        #expect(message.string("n") == nil, "a number is not a string field")
        #expect(message.string("missing") == nil)
    }

    @Test(arguments: [(#"{"type":"x","id":7}"#, 7.0), (#"{"type":"x","id":-2.5}"#, -2.5), (#"{"type":"x","id":0}"#, 0)])
    func numericIdsAreKept(json: String, id: Double) throws {
        #expect(try ControlMessage.decode(utf8(json)).get().id == .number(id))
    }

    @Test(arguments: [#"{"type":"x","id":true}"#, #"{"type":"x","id":false}"#, #"{"type":"x","id":null}"#,
                      #"{"type":"x","id":[1]}"#, #"{"type":"x","id":{"a":1}}"#, #"{"type":"x"}"#])
    func otherIdsAreIgnored(json: String) throws {
        #expect(try ControlMessage.decode(utf8(json)).get().id == nil)
    }

    @Test(arguments: ["", "hello", "{", "[1,2]", "\"hello\"", "42", "null", "{\"type\":\"x\"} trailing"])
    func textThatIsNotAJSONObjectIsInvalid(text: String) {
        #expect(decodeError(utf8(text)) == .invalidJSON)
    }

    @Test func invalidUTF8IsInvalidJSON() {
        #expect(decodeError([0x7b, 0xff, 0xfe, 0x7d]) == .invalidJSON)
    }

    static let untyped: [(String, MessageID?)] = [(#"{"id":"q"}"#, .string("q")), (#"{"type":5,"id":9}"#, .number(9)), (#"{}"#, nil)]

    @Test(arguments: untyped)
    func objectWithoutAStringTypeKeepsItsId(json: String, id: MessageID?) {
        #expect(decodeError(utf8(json)) == .missingType(id: id))
    }

    @Test func encoderSortsKeysAndKeepsSlashes() {
        let bytes = ControlEncoder.encode(["type": "x", "url": "https://a/b", "b": 1, "ok": true, "no": false])
        #expect(String(decoding: bytes, as: UTF8.self) == #"{"b":1,"no":false,"ok":true,"type":"x","url":"https://a/b"}"#)
    }

    @Test(arguments: [(MessageID.string("r-1"), #""id":"r-1""#), (.number(7), #""id":7"#), (.number(-3), #""id":-3"#),
                      (.number(2.5), #""id":2.5"#)])
    func encoderEchoesIdsAsTheyCame(id: MessageID, fragment: String) {
        let text = String(decoding: ControlEncoder.encode(["type": "welcome"], id: id), as: UTF8.self)
        #expect(text.contains(fragment), "\(text)")
    }

    @Test func idsSurviveADecodeEncodeRoundTrip() throws {
        for json in [#"{"type":"x","id":12}"#, #"{"type":"x","id":"abc"}"#, #"{"type":"x","id":0.5}"#] {
            let id = try ControlMessage.decode(utf8(json)).get().id
            let echoed = try #require(jsonObject(ControlEncoder.encode(["type": "y"], id: id)))
            let original = try #require(jsonObject(utf8(json)))
            #expect("\(echoed["id"] ?? "none")" == "\(original["id"] ?? "missing")", "\(json)")
        }
    }

    @Test func errorHasTheDocumentedShape() {
        let text = String(decoding: ControlEncoder.error(.peerAbsent, "nobody home", id: .string("s1")), as: UTF8.self)
        #expect(text == #"{"code":"peer_absent","id":"s1","message":"nobody home","type":"error"}"#)
    }

    @Test func errorCodesAreTheDocumentedStrings() {
        let documented: Set = [
            "unauthorized", "forbidden", "session_not_found", "hello_required", "invalid_json", "hello_timeout",
            "too_large", "replaced", "unknown_type", "unexpected_hello", "peer_absent", "malformed_frame",
            "stream_not_allowed", "not_found", "method_not_allowed", "invalid_request",
        ]
        let codes = Set(RelayErrorCode.allCases.map(\.rawValue))
        #expect(documented.isSubset(of: codes), "missing: \(documented.subtracting(codes))")
    }

    @Test func closeCodesAreTheDocumentedNumbers() {
        #expect(RelayCloseCode.normal == 1000)
        #expect(RelayCloseCode.goingAway == 1001)
        #expect(RelayCloseCode.policyViolation == 1008)
        #expect(RelayCloseCode.messageTooBig == 1009)
        #expect(RelayCloseCode.replaced == 4001)
        #expect(RelayCloseCode.notFound == 4404)
    }
}
