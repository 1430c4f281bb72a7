import Foundation
import Testing
import VigRelayCore

/// Revocations reaching the core while connections are open, and the requests after them.
struct RelayCoreRevocationTests {
    let t0 = Fixture.t0
    var t0Ms: Int64 { Int64(t0.timeIntervalSince1970 * 1000) }

    func practitionerToken(_ id: String = Fixture.owner, issuedAt: Date) -> String {
        Fixture.authority.sign(.practitioner(id: id, expiresAt: t0.addingTimeInterval(3600)), issuedAt: issuedAt)
    }

    func revoking(_ kind: TokenRevocations.Kind, _ id: String, beforeMs: Int64) -> TokenRevocations {
        var revocations = TokenRevocations()
        revocations.revoke(kind, id: id, issuedBeforeMs: beforeMs)
        return revocations
    }

    @Test func aRevocationClosesThePractitionerItCoversAndTellsTheFamily() throws {
        let h = RelayHarness()
        _ = h.connect(1, first: RelayHarness.hello(practitionerToken(issuedAt: t0)))
        h.join(2, as: .family)
        _ = h.connect(3, session: Fixture.otherSessionID, first: RelayHarness.hello(practitionerToken(Fixture.otherOwner, issuedAt: t0)))
        let actions = h.core.revocationsChanged(revoking(.practitioner, Fixture.owner, beforeMs: t0Ms + 1))
        let refusal = try #require(actions.controls(to: 1).first)
        #expect(refusal["code"] as? String == "unauthorized" && (refusal["message"] as? String ?? "").contains("revoked"))
        #expect(actions.closedConnections == [1])
        #expect(actions.contains { if case .close(1, RelayCloseCode.policyViolation, _) = $0 { true } else { false } })
        #expect(actions.messages(to: 2) == [.text(utf8(#"{"event":"left","role":"practitioner","type":"peer"}"#))])
        #expect(actions.messages(to: 3).isEmpty, "another practitioner's connection stays")
        #expect(actions.events == [SessionEvent(.left, sessionID: Fixture.sessionID, role: .practitioner, connection: 1)])
        #expect(h.core.tokenRevocations.entries.count == 1)
    }

    @Test func aPractitionerJoinedWithATokenFromBeforeIssueTimesIsClosedByAnyRevocationOfItsId() {
        let token = signedWithTheRelaysSecret(#"{"v":1,"exp":1800003600,"kind":"practitioner","sub":"pr-1"}"#)
        let h = RelayHarness()
        #expect(h.connect(1, first: RelayHarness.hello(token)).controls(to: 1).first?["type"] as? String == "welcome")
        #expect(h.core.revocationsChanged(revoking(.practitioner, Fixture.owner, beforeMs: 0)).closedConnections == [1])
    }

    @Test func aPractitionerWhoseTokenWasIssuedAfterTheRevocationStays() {
        let h = RelayHarness()
        _ = h.connect(1, first: RelayHarness.hello(practitionerToken(issuedAt: t0.addingTimeInterval(5))))
        #expect(h.core.revocationsChanged(revoking(.practitioner, Fixture.owner, beforeMs: t0Ms)).isEmpty)
        #expect(h.core.revocationsChanged(revoking(.metrics, Fixture.owner, beforeMs: t0Ms + 60_000)).isEmpty,
                "a metrics revocation of the same id is another token's")
    }

    @Test func afterARevocationTheOldTokenCannotJoinAndANewOneCan() throws {
        let h = RelayHarness()
        _ = h.core.revocationsChanged(revoking(.practitioner, Fixture.owner, beforeMs: t0Ms + 1))
        let refused = h.connect(1, first: RelayHarness.hello(practitionerToken(issuedAt: t0)))
        #expect(try #require(refused.controls(to: 1).first)["code"] as? String == "unauthorized")
        #expect(refused.closedConnections == [1])
        let welcomed = h.connect(2, first: RelayHarness.hello(practitionerToken(issuedAt: t0.addingTimeInterval(1))))
        #expect(welcomed.controls(to: 2).first?["type"] as? String == "welcome")
    }

    @Test func aRevokedTokenIsRefusedOverHTTP() {
        let core = RelayCore(limits: RelayLimits(), authority: Fixture.authority, sessions: [],
                             revocations: revoking(.practitioner, Fixture.owner, beforeMs: t0Ms + 1), now: { Fixture.t0 })
        let api = HTTPAPI(authority: Fixture.authority, limits: RelayLimits(), publicURL: "https://relay.example")
        let old = HTTPRequest(method: "GET", path: "/v1/sessions", authorization: "Bearer \(practitionerToken(issuedAt: t0))")
        guard case .respond(let refused) = api.handle(old, core: core, now: t0) else { Issue.record("expected a response"); return }
        #expect(refused.status == 401 && refused.errorCode == .unauthorized)
        #expect(String(decoding: refused.body, as: UTF8.self).contains("revoked"))
        let new = HTTPRequest(method: "GET", path: "/v1/sessions", authorization: "Bearer \(practitionerToken(issuedAt: t0.addingTimeInterval(1)))")
        guard case .sessionList = api.handle(new, core: core, now: t0) else { Issue.record("a token issued after the revocation lists"); return }
        _ = core.revocationsChanged(revoking(.metrics, "prometheus", beforeMs: t0Ms + 1))
        let metrics = Fixture.authority.sign(.metrics(id: "prometheus", expiresAt: t0.addingTimeInterval(60)), issuedAt: t0)
        guard case .respond(let scrape) = api.handle(HTTPRequest(method: "GET", path: "/metrics", authorization: "Bearer \(metrics)"), core: core, now: t0)
        else { Issue.record("expected the revoked metrics token to be refused"); return }
        #expect(scrape.status == 401)
    }
}
