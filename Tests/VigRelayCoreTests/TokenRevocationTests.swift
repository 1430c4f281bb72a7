import Foundation
import Testing
@testable import VigRelayCore

/// A token of the claims `json`, signed with `Fixture.authority`'s secret: for claims the current
/// `sign` no longer writes (no `iat`) or never would.
func signedWithTheRelaysSecret(_ json: String) -> String {
    let payload = Base64URL.encode(Array(json.utf8))
    return payload + "." + Base64URL.encode(Fixture.authority.mac(Array(payload.utf8)))
}

/// Revoking tokens by kind and id (`TokenRevocations`), as `TokenAuthority.check` applies it.
struct TokenRevocationTests {
    let authority = Fixture.authority
    let t0 = Fixture.t0
    var t0Ms: Int64 { Int64(t0.timeIntervalSince1970 * 1000) }

    @Test func anEntryRevokesTokensOfItsKindAndIdIssuedBeforeIt() {
        var revocations = TokenRevocations()
        revocations.revoke(.practitioner, id: "pr-1", issuedBeforeMs: 1_000)
        #expect(revocations.revokes(.practitioner, id: "pr-1", issuedAtMs: 999))
        #expect(!revocations.revokes(.practitioner, id: "pr-1", issuedAtMs: 1_000))
        #expect(!revocations.revokes(.practitioner, id: "pr-2", issuedAtMs: 0))
        #expect(!revocations.revokes(.metrics, id: "pr-1", issuedAtMs: 0))
        #expect(revocations.revokes(.practitioner, id: "pr-1", issuedAtMs: nil), "a token from before tokens carried iat")
    }

    @Test func aLaterRevocationWidensAndAnEarlierOneNeverNarrows() {
        var revocations = TokenRevocations()
        revocations.revoke(.metrics, id: "prometheus", issuedBeforeMs: 2_000)
        revocations.revoke(.metrics, id: "prometheus", issuedBeforeMs: 1_000)
        #expect(revocations.entries == [.init(kind: .metrics, id: "prometheus", issuedBeforeMs: 2_000)])
        revocations.revoke(.metrics, id: "prometheus", issuedBeforeMs: 3_000)
        revocations.revoke(.practitioner, id: "a", issuedBeforeMs: 5)
        #expect(revocations.entries == [.init(kind: .metrics, id: "prometheus", issuedBeforeMs: 3_000),
                                        .init(kind: .practitioner, id: "a", issuedBeforeMs: 5)])
        #expect(TokenRevocations(entries: revocations.entries.reversed()) == revocations)
    }

    @Test func aRevokedTokenIsRefusedAndOneIssuedAfterIsNot() throws {
        let expiry = t0.addingTimeInterval(3600)
        let old = authority.sign(.practitioner(id: "pr-1", expiresAt: expiry), issuedAt: t0)
        let new = authority.sign(.practitioner(id: "pr-1", expiresAt: expiry), issuedAt: t0.addingTimeInterval(1))
        #expect(try authority.verify(old, now: t0, revocations: TokenRevocations()).issuedAtMs == t0Ms)
        var revocations = TokenRevocations()
        revocations.revoke(.practitioner, id: "pr-1", issuedBeforeMs: t0Ms + 1)
        #expect(throws: TokenAuthority.VerifyError.revoked) { try authority.verify(old, now: t0, revocations: revocations) }
        #expect(try authority.verify(new, now: t0, revocations: revocations).claims == .practitioner(id: "pr-1", expiresAt: expiry))
        let metrics = authority.sign(.metrics(id: "pr-1", expiresAt: expiry), issuedAt: t0)
        #expect(try authority.verify(metrics, now: t0, revocations: revocations).claims == .metrics(id: "pr-1", expiresAt: expiry),
                "the same id as a metrics token is another token")
    }

    @Test func aTokenFromBeforeIssueTimesIsRevokedByAnyEntryForItsId() throws {
        let token = signedWithTheRelaysSecret(#"{"v":1,"exp":1800003600,"kind":"practitioner","sub":"pr-1"}"#)
        #expect(try authority.verify(token, now: t0, revocations: TokenRevocations()).issuedAtMs == nil)
        var revocations = TokenRevocations()
        revocations.revoke(.practitioner, id: "pr-1", issuedBeforeMs: 0)
        #expect(throws: TokenAuthority.VerifyError.revoked) { try authority.verify(token, now: t0, revocations: revocations) }
    }

    @Test func anIssueTimeThatIsNoNumberIsMalformed() {
        let token = signedWithTheRelaysSecret(#"{"v":1,"exp":1800003600,"iat":"today","kind":"practitioner","sub":"pr-1"}"#)
        #expect(throws: TokenAuthority.VerifyError.malformed) { try authority.verify(token, now: t0, revocations: TokenRevocations()) }
    }

    @Test func invitesAreNotRevocable() throws {
        let invite = Fixture.inviteToken()
        #expect(TokenAuthority.unverifiedClaims(of: invite)?.revocable == nil)
        #expect(try authority.verify(invite, now: t0, revocations: TokenRevocations()).claims.revocable == nil)
    }
}
