import Testing
import VigRelayCore

struct RequestBodyFramingTests {
    let api = HTTPAPI(authority: Fixture.authority, limits: RelayLimits(), publicURL: "https://relay.example:8443")

    /// The refusal's status and code; fails the test when the framing is not a refusal.
    func refusal(_ framing: RequestBodyFraming, sourceLocation: SourceLocation = #_sourceLocation) -> (Int, String?) {
        guard case .refuse(let response) = framing else {
            Issue.record("expected a refusal, got \(framing)", sourceLocation: sourceLocation)
            return (0, nil)
        }
        return (response.status, jsonObject(response.body)?["code"] as? String)
    }

    @Test func noHeadersMeansNoBody() {
        #expect(api.bodyFraming(contentLength: nil, transferEncoding: nil) == .none)
        #expect(api.bodyFraming(contentLength: "0", transferEncoding: nil) == .none)
    }

    @Test func aPlainLengthIsRead() {
        #expect(api.bodyFraming(contentLength: "15", transferEncoding: nil) == .length(15))
        #expect(api.bodyFraming(contentLength: " 15 ", transferEncoding: nil) == .length(15))
        #expect(api.bodyFraming(contentLength: "65536", transferEncoding: nil) == .length(65536))
    }

    /// lws reads such values with `atoll` and would disagree with us on where the body ends.
    @Test(arguments: ["-1", "+2", "abc", "0x10", "1.5", "2 3", "2, 2", ""])
    func aLengthThatIsNotDigitsIsRefused(value: String) {
        let (status, code) = refusal(api.bodyFraming(contentLength: value, transferEncoding: nil))
        #expect(status == 400)
        #expect(code == "invalid_request")
    }

    @Test(arguments: ["65537", "9223372036854775807", "99999999999999999999"])
    func aLengthPastTheLimitIsTooLarge(value: String) {
        let (status, code) = refusal(api.bodyFraming(contentLength: value, transferEncoding: nil))
        #expect(status == 413)
        #expect(code == "too_large")
    }

    /// lws 4.1 does not decode chunked request bodies, with or without a Content-Length beside them.
    @Test(arguments: [nil, "2"] as [String?])
    func anyTransferEncodingNeedsALength(contentLength: String?) {
        let framing = api.bodyFraming(contentLength: contentLength, transferEncoding: "chunked")
        let (status, code) = refusal(framing)
        #expect(status == 411)
        #expect(code == "length_required")
        guard case .refuse(let response) = framing else { return }
        #expect((jsonObject(response.body)?["message"] as? String)?.contains("Content-Length") == true)
    }

    @Test func aBodyTooSlowIs408AndSaysTheLimit() {
        var limits = RelayLimits()
        limits.requestBodySeconds = 12
        let slow = HTTPAPI(authority: Fixture.authority, limits: limits, publicURL: "https://relay.example:8443").bodyTooSlow
        #expect(slow.status == 408)
        #expect(jsonObject(slow.body)?["code"] as? String == "request_timeout")
        #expect((jsonObject(slow.body)?["message"] as? String)?.contains("12 s") == true)
    }
}
