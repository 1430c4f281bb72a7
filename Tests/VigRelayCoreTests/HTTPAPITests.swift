import Foundation
import Testing
import VigRelayCore

struct HTTPAPITests {
    /// 2027-01-15T08:00:00.750Z: the created session's times are whole seconds.
    let now = Fixture.t0.addingTimeInterval(0.75)
    let publicURL = "https://relay.example:8443"

    func api(_ limits: RelayLimits = RelayLimits(), publicURL: String? = nil) -> HTTPAPI {
        HTTPAPI(authority: Fixture.authority, limits: limits, publicURL: publicURL ?? self.publicURL)
    }

    func emptyCore() -> RelayCore {
        RelayCore(limits: RelayLimits(), authority: Fixture.authority, sessions: [], now: { Fixture.t0 })
    }

    func response(_ outcome: HTTPOutcome) -> HTTPResponse {
        switch outcome {
        case .respond(let r): r
        case .persistSession(_, let r): r
        default: HTTPResponse(status: 0, body: utf8("not a response: \(outcome)"))
        }
    }

    func createRequest(token: String? = Fixture.practitionerToken(), body: String = "") -> HTTPRequest {
        HTTPRequest(method: "POST", path: "/v1/sessions", authorization: token.map { "Bearer \($0)" }, body: utf8(body))
    }

    /// Checks an error response: status, JSON error shape and code. Returns the message.
    @discardableResult
    func expectError(_ outcome: HTTPOutcome, _ status: Int, _ code: String,
                     sourceLocation: SourceLocation = #_sourceLocation) -> String {
        guard case .respond(let r) = outcome else {
            Issue.record("expected a plain response, got \(outcome)", sourceLocation: sourceLocation)
            return ""
        }
        #expect(r.status == status, sourceLocation: sourceLocation)
        #expect(r.contentType == "application/json", sourceLocation: sourceLocation)
        let body = jsonObject(r.body)
        #expect(body?["type"] as? String == "error", sourceLocation: sourceLocation)
        #expect(body?["code"] as? String == code, sourceLocation: sourceLocation)
        return body?["message"] as? String ?? ""
    }

    // MARK: healthz

    @Test(arguments: ["GET", "HEAD"])
    func healthzReportsTheConnectionCount(method: String) throws {
        let core = emptyCore()
        _ = core.opened(1, path: "/v1/sessions/\(Fixture.sessionID)/ws")
        _ = core.opened(2, path: "/v1/sessions/\(Fixture.sessionID)/ws")
        let outcome = api().handle(HTTPRequest(method: method, path: "/healthz"), core: core, now: now)
        guard case .respond(let r) = outcome else { Issue.record("\(outcome)"); return }
        #expect(r.status == 200)
        #expect(r.contentType == "application/json")
        #expect(String(decoding: r.body, as: UTF8.self) == #"{"connections":2,"status":"ok"}"#)
    }

    @Test(arguments: ["POST", "PUT", "DELETE"])
    func healthzRefusesOtherMethods(method: String) {
        let message = expectError(api().handle(HTTPRequest(method: method, path: "/healthz"), core: emptyCore(), now: now),
                                  405, "method_not_allowed")
        #expect(message.contains("GET"))
    }

    // MARK: routing

    /// `/` and `/join` are the web app's pages now (WebSiteTests).
    @Test(arguments: ["/v1", "/v1/sessions/", "/v1/sessions//recordings", "/v1/sessions/\(Fixture.sessionID)/",
                      "/v1/sessions/\(Fixture.sessionID)/nope", "/v1/sessions/\(Fixture.sessionID)/recordings/00112233445566aa/x",
                      "/healthz/", "/join/", "/apps/x.js", "/V1/SESSIONS"])
    func otherPathsAreNotFound(path: String) {
        for method in ["GET", "POST"] {
            let message = expectError(api().handle(HTTPRequest(method: method, path: path, authorization: "Bearer \(Fixture.practitionerToken())"),
                                                   core: emptyCore(), now: now), 404, "not_found")
            #expect(message.contains(path))
        }
    }

    /// GET lists sessions (SessionListTests); nothing but GET, HEAD and POST is served.
    @Test(arguments: ["PUT", "DELETE", "PATCH", "post", "get"])
    func sessionsTakesOnlyGETAndPOST(method: String) {
        let core = emptyCore()
        let request = HTTPRequest(method: method, path: "/v1/sessions", authorization: "Bearer \(Fixture.practitionerToken())")
        let message = expectError(api().handle(request, core: core, now: now), 405, "method_not_allowed")
        #expect(message.contains("POST"))
        #expect(core.sessions.isEmpty)
    }

    // MARK: authorization

    static let badAuthorizations: [String?] = [
        nil, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc", "Bearer not-a-token",
        "Bearer " + Fixture.forger.sign(.practitioner(id: Fixture.owner, expiresAt: Fixture.t0.addingTimeInterval(3600))),
        "Bearer " + Fixture.practitionerToken(expiresAt: Fixture.t0),
        "Bearer " + Fixture.practitionerToken() + "x",
        Fixture.practitionerToken(),
    ]

    @Test(arguments: badAuthorizations)
    func missingMalformedForgedOrExpiredTokensAre401(authorization: String?) {
        let core = emptyCore()
        let request = HTTPRequest(method: "POST", path: "/v1/sessions", authorization: authorization)
        expectError(api().handle(request, core: core, now: now), 401, "unauthorized")
        #expect(core.sessions.isEmpty)
    }

    @Test func missingTokenSaysHowToGetOne() {
        let message = expectError(api().handle(createRequest(token: nil), core: emptyCore(), now: now), 401, "unauthorized")
        #expect(message.contains("vigrelay token practitioner"))
    }

    @Test func expiredTokenSaysItExpired() {
        let message = expectError(api().handle(createRequest(token: Fixture.practitionerToken(expiresAt: now)), core: emptyCore(), now: now),
                                  401, "unauthorized")
        #expect(message.contains("expired"))
    }

    @Test func anInviteCannotCreateSessions() {
        let core = emptyCore()
        let message = expectError(api().handle(createRequest(token: Fixture.inviteToken()), core: core, now: now), 403, "forbidden")
        #expect(message.contains("practitioner token"))
        #expect(core.sessions.isEmpty)
    }

    @Test(arguments: ["bearer ", "BEARER ", "Bearer  ", "bEaReR "])
    func bearerSchemeIsCaseInsensitive(prefix: String) {
        let request = HTTPRequest(method: "POST", path: "/v1/sessions", authorization: prefix + Fixture.practitionerToken() + " ")
        #expect(response(api().handle(request, core: emptyCore(), now: now)).status == 201)
    }

    // MARK: body

    static let badBodies: [(String, String)] = [
        ("[]", "JSON object"), ("not json", "JSON object"), ("\"fam\"", "JSON object"),
        (#"{"caseRef":"Jane Smith"}"#, "caseRef"), (#"{"caseRef":""}"#, "caseRef"), (#"{"caseRef":7}"#, "caseRef"),
        (#"{"cycle":0}"#, "cycle"), (#"{"cycle":100}"#, "cycle"), (#"{"cycle":"2"}"#, "cycle"), (#"{"cycle":2.5}"#, "cycle"),
        (#"{"purpose":"party"}"#, "purpose"), (#"{"purpose":null,"cycle":-4}"#, "cycle"),
    ]

    @Test(arguments: badBodies)
    func badBodiesAre400NamingTheField(body: String, field: String) {
        let core = emptyCore()
        let message = expectError(api().handle(createRequest(body: body), core: core, now: now), 400, "invalid_request")
        #expect(message.contains(field), "\(message)")
        #expect(core.sessions.isEmpty)
    }

    @Test func bodyOverTheLimitIs413() {
        var limits = RelayLimits()
        limits.maxRequestBodyBytes = 100
        let api = api(limits)
        let core = emptyCore()
        let body = #"{"caseRef":"fam-042","pad":"\#(String(repeating: "x", count: 80))"}"#
        #expect(body.utf8.count > 100)
        let outcome = api.handle(createRequest(body: body), core: core, now: now)
        #expect(outcome == .respond(api.payloadTooLarge))
        expectError(outcome, 413, "too_large")
        #expect(core.sessions.isEmpty)
    }

    @Test func oneByteOverTheLimitIs413() {
        var limits = RelayLimits()
        limits.maxRequestBodyBytes = 100
        let api = api(limits)
        let body = #"{"caseRef":"fam-042"}"# + String(repeating: " ", count: 101 - 21)
        #expect(body.utf8.count == 101)
        #expect(api.handle(createRequest(body: body), core: emptyCore(), now: now) == .respond(api.payloadTooLarge))
    }

    @Test func bodyExactlyAtTheLimitIsRead() {
        var limits = RelayLimits()
        limits.maxRequestBodyBytes = 100
        let body = #"{"caseRef":"fam-042"}"# + String(repeating: " ", count: 100 - 21)
        #expect(body.utf8.count == 100)
        #expect(response(api(limits).handle(createRequest(body: body), core: emptyCore(), now: now)).status == 201)
    }

    @Test func payloadTooLargeNamesTheLimit() {
        let tooLarge = api().payloadTooLarge
        #expect(tooLarge.status == 413)
        #expect(jsonObject(tooLarge.body)?["code"] as? String == "too_large")
        #expect((jsonObject(tooLarge.body)?["message"] as? String)?.contains("\(64 << 10)") == true)
    }

    @Test func tooManyConnectionsIs429AndSaysWhatToDo() {
        let refused = api().tooManyConnections(ConnectionQuota(limit: 7))
        #expect(refused.status == 429)
        #expect(jsonObject(refused.body)?["code"] as? String == "too_many_connections")
        #expect((jsonObject(refused.body)?["message"] as? String)?.contains("--max-connections-per-address") == true)
    }

    @Test func connectAndUnknownMethodsAreRefusedAsNotAProxy() {
        let refused = api().methodNotServed
        #expect(refused.status == 405)
        #expect(refused.contentType == "application/json")
        #expect(jsonObject(refused.body)?["code"] as? String == "method_not_allowed")
        #expect((jsonObject(refused.body)?["message"] as? String)?.contains("not a proxy") == true)
    }
}
