import Foundation
import Testing
import VigRelayCore

/// `GET /metrics`: read with a metrics token only, and that token opens nothing else.
extension HTTPAPITests {
    func metricsRequest(_ method: String = "GET", path: String = "/metrics", token: String?) -> HTTPRequest {
        HTTPRequest(method: method, path: path, authorization: token.map { "Bearer \($0)" })
    }

    @Test(arguments: ["GET", "HEAD"])
    func aMetricsTokenReadsTheMetrics(method: String) {
        #expect(api().handle(metricsRequest(method, token: Fixture.metricsToken()), core: emptyCore(), now: now) == .metrics)
    }

    @Test func theMetricsNeedAToken() {
        let message = expectError(api().handle(metricsRequest(token: nil), core: emptyCore(), now: now), 401, "unauthorized")
        #expect(message.contains("vigrelay token metrics"))
        expectError(api().handle(metricsRequest(token: Fixture.metricsToken(expiresAt: Fixture.t0)), core: emptyCore(), now: now),
                    401, "unauthorized")
    }

    @Test func aPractitionerOrAFamilyCannotReadTheMetrics() {
        for token in [Fixture.practitionerToken(), Fixture.inviteToken()] {
            let message = expectError(api().handle(metricsRequest(token: token), core: emptyCore(), now: now), 403, "forbidden")
            #expect(message.contains("metrics token"))
        }
    }

    @Test func theMetricsAreOnlyRead() {
        expectError(api().handle(metricsRequest("POST", token: Fixture.metricsToken()), core: emptyCore(), now: now), 405, "method_not_allowed")
    }

    @Test func aMetricsTokenOpensNothingElse() {
        let core = emptyCore()
        core.addSession(SessionRecord(id: Fixture.sessionID, owner: Fixture.owner, createdAt: Fixture.t0,
                                      inviteExpiresAt: Fixture.t0.addingTimeInterval(3600)))
        let sid = Fixture.sessionID
        for (method, path) in [("POST", "/v1/sessions"), ("GET", "/v1/sessions"), ("GET", "/v1/sessions/\(sid)"),
                               ("DELETE", "/v1/sessions/\(sid)/recordings"), ("POST", "/v1/sessions/\(sid)/withdrawal")] {
            let message = expectError(api().handle(metricsRequest(method, path: path, token: Fixture.metricsToken()), core: core, now: now),
                                      403, "forbidden")
            #expect(message.contains("only reads GET /metrics"), "\(method) \(path)")
        }
    }

    @Test func errorResponsesCarryTheirCodeForCounting() {
        #expect(HTTPResponse.error(429, .tooManyConnections, "x").errorCode == .tooManyConnections)
        #expect(HTTPResponse.json(200, ["status": "ok"]).errorCode == nil)
        #expect(OutboundMessage.error(.peerAbsent, "x").errorCode == .peerAbsent)
        #expect(OutboundMessage.error(.peerAbsent, "x").bytes == ControlEncoder.error(.peerAbsent, "x"))
        #expect(OutboundMessage.text(utf8("{}")).errorCode == nil)
    }
}
