import Foundation
import Testing
import VigRelayCore

struct TokenAuthorityTests {
    let authority = Fixture.authority
    let t0 = Fixture.t0

    @Test func practitionerTokenRoundTrips() throws {
        let expiry = t0.addingTimeInterval(30 * 86400)
        let token = authority.sign(.practitioner(id: "dr.smith_01", expiresAt: expiry))
        #expect(try authority.verify(token, now: t0, revocations: TokenRevocations()).claims == .practitioner(id: "dr.smith_01", expiresAt: expiry))
    }

    @Test func inviteTokenRoundTrips() throws {
        let expiry = t0.addingTimeInterval(7 * 86400)
        let token = authority.sign(.invite(sessionID: Fixture.sessionID, expiresAt: expiry))
        let claims = try authority.verify(token, now: t0, revocations: TokenRevocations()).claims
        #expect(claims == .invite(sessionID: Fixture.sessionID, expiresAt: expiry))
        #expect(claims.expiresAt == expiry)
    }

    @Test func metricsTokenRoundTripsAndIsNoPractitioner() throws {
        let expiry = t0.addingTimeInterval(365 * 86400)
        let token = authority.sign(.metrics(id: "prometheus", expiresAt: expiry))
        #expect(try authority.verify(token, now: t0, revocations: TokenRevocations()).claims == .metrics(id: "prometheus", expiresAt: expiry))
        #expect(TokenAuthority.unverifiedClaims(of: token) != .practitioner(id: "prometheus", expiresAt: expiry))
        #expect(throws: TokenAuthority.VerifyError.expired) { try authority.verify(token, now: expiry, revocations: TokenRevocations()) }
    }

    @Test func expiryIsKeptToTheWholeSecondBelow() throws {
        let token = authority.sign(.practitioner(id: "pr-1", expiresAt: t0.addingTimeInterval(10.9)))
        #expect(try authority.verify(token, now: t0, revocations: TokenRevocations()).claims.expiresAt == t0.addingTimeInterval(10))
    }

    @Test func tokenIsTwoBase64URLPartsSafeInAURLFragment() {
        let token = Fixture.inviteToken()
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        #expect(parts.count == 2)
        #expect(Base64URL.decode(parts[1])?.count == 32, "HMAC-SHA256 is 32 bytes")
        #expect(token.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
    }

    @Test func signingIsDeterministicAndDependsOnTheSecret() {
        let claims = TokenClaims.practitioner(id: "pr-1", expiresAt: t0)
        #expect(authority.sign(claims, issuedAt: t0) == authority.sign(claims, issuedAt: t0))
        #expect(authority.sign(claims, issuedAt: t0) != Fixture.forger.sign(claims, issuedAt: t0))
    }

    @Test func tokenFromAnotherSecretHasABadSignature() {
        let token = Fixture.forger.sign(.practitioner(id: "pr-1", expiresAt: t0.addingTimeInterval(60)))
        #expect(throws: TokenAuthority.VerifyError.badSignature) { try authority.verify(token, now: t0, revocations: TokenRevocations()) }
    }

    @Test func forgedSignatureIsRefused() {
        let payload = Fixture.practitionerToken().split(separator: ".")[0]
        let forged = payload + "." + Base64URL.encode([UInt8](repeating: 0, count: 32))
        #expect(throws: TokenAuthority.VerifyError.badSignature) { try authority.verify(forged, now: t0, revocations: TokenRevocations()) }
    }

    @Test func signatureWithOneByteChangedIsRefused() throws {
        let parts = Fixture.practitionerToken().split(separator: ".")
        var signature = try #require(Base64URL.decode(parts[1]))
        signature[5] ^= 0x01
        let forged = parts[0] + "." + Base64URL.encode(signature)
        #expect(throws: TokenAuthority.VerifyError.badSignature) { try authority.verify(forged, now: t0, revocations: TokenRevocations()) }
    }

    @Test(arguments: [("\"pr-1\"", "\"pr-2\""), ("\"practitioner\"", "\"invite\",\"sid\":\"0123456789abcdef0123456789abcdef\"")])
    func tamperedPayloadIsRefused(original: String, replacement: String) throws {
        let parts = Fixture.practitionerToken().split(separator: ".")
        let json = String(decoding: try #require(Base64URL.decode(parts[0])), as: UTF8.self)
        #expect(json.contains(original))
        let tampered = Base64URL.encode(Array(json.replacingOccurrences(of: original, with: replacement).utf8)) + "." + parts[1]
        #expect(TokenAuthority.unverifiedClaims(of: tampered) != nil, "the tampered payload still reads as claims")
        #expect(throws: TokenAuthority.VerifyError.badSignature) { try authority.verify(tampered, now: t0, revocations: TokenRevocations()) }
    }

    @Test func tamperedExpiryIsRefused() throws {
        let token = Fixture.practitionerToken(expiresAt: t0.addingTimeInterval(-60))
        let parts = token.split(separator: ".")
        let json = String(decoding: try #require(Base64URL.decode(parts[0])), as: UTF8.self)
        let later = json.replacingOccurrences(of: "\(Int(t0.timeIntervalSince1970) - 60)", with: "\(Int(t0.timeIntervalSince1970) + 86400)")
        #expect(later != json)
        let tampered = Base64URL.encode(Array(later.utf8)) + "." + parts[1]
        #expect(throws: TokenAuthority.VerifyError.badSignature) { try authority.verify(tampered, now: t0, revocations: TokenRevocations()) }
    }

    @Test func expiresAtItsExpiryInstant() throws {
        let expiry = t0.addingTimeInterval(100)
        let token = Fixture.practitionerToken(expiresAt: expiry)
        #expect(try authority.verify(token, now: expiry.addingTimeInterval(-1), revocations: TokenRevocations()).claims == .practitioner(id: "pr-1", expiresAt: expiry))
        #expect(throws: TokenAuthority.VerifyError.expired) { try authority.verify(token, now: expiry, revocations: TokenRevocations()) }
        #expect(throws: TokenAuthority.VerifyError.expired) { try authority.verify(token, now: expiry.addingTimeInterval(86400), revocations: TokenRevocations()) }
    }

    @Test func signatureIsCheckedBeforeExpiry() {
        let token = Fixture.forger.sign(.practitioner(id: "pr-1", expiresAt: t0.addingTimeInterval(-1)))
        #expect(throws: TokenAuthority.VerifyError.badSignature) { try authority.verify(token, now: t0, revocations: TokenRevocations()) }
    }

    static let malformed: [String] = [
        "", "abc", "a.b.c", "abc.def.", ".abc.", "abc.!!!!", "abc.a", "abc.ab=c", "abc.a+bc", "abc.a/bc",
        "abc.é", "abc. abc", String(repeating: "a", count: 4097),
        String(repeating: "a", count: 4000) + "." + String(repeating: "b", count: 100),
    ]

    @Test(arguments: malformed)
    func malformedTokensAreRefused(token: String) {
        #expect(throws: TokenAuthority.VerifyError.malformed) { try authority.verify(token, now: Fixture.t0, revocations: TokenRevocations()) }
    }

    @Test func validTokenWithExtraPartIsMalformed() {
        let token = Fixture.practitionerToken()
        #expect(throws: TokenAuthority.VerifyError.malformed) { try authority.verify(token + ".", now: t0, revocations: TokenRevocations()) }
        #expect(throws: TokenAuthority.VerifyError.malformed) { try authority.verify(token + "." + token, now: t0, revocations: TokenRevocations()) }
    }

    @Test(arguments: [".", "abc.", ".abc", "YQ.YQ"])
    func emptyOrShortSignaturesNeverVerify(token: String) {
        #expect(throws: TokenAuthority.VerifyError.self) { try authority.verify(token, now: Fixture.t0, revocations: TokenRevocations()) }
    }

    @Test func everyRefusalSaysToGetANewToken() {
        for error in [TokenAuthority.VerifyError.malformed, .badSignature, .expired] {
            #expect(error.description.contains("get a new one"))
        }
        #expect(TokenAuthority.VerifyError.revoked.description.contains("ask them for a new one"))
        #expect(TokenAuthority.VerifyError.expired.description.contains("expired"))
    }

    @Test func unverifiedClaimsReadWithoutTheSecretOrTheClock() {
        let expired = Fixture.forger.sign(.invite(sessionID: Fixture.sessionID, expiresAt: t0.addingTimeInterval(-3600)))
        #expect(TokenAuthority.unverifiedClaims(of: expired) == .invite(sessionID: Fixture.sessionID, expiresAt: t0.addingTimeInterval(-3600)))
        #expect(TokenAuthority.unverifiedClaims(of: Fixture.practitionerToken()) == .practitioner(id: "pr-1", expiresAt: t0.addingTimeInterval(3600)))
    }

    static let claimPayloads: [(String, Bool)] = [
        (#"{"v":1,"exp":1800000000,"kind":"practitioner","sub":"pr-1"}"#, true),
        (#"{"v":1,"exp":1800000000,"kind":"invite","sid":"0123456789abcdef0123456789abcdef"}"#, true),
        (#"{"v":2,"exp":1800000000,"kind":"practitioner","sub":"pr-1"}"#, false),
        (#"{"exp":1800000000,"kind":"practitioner","sub":"pr-1"}"#, false),
        (#"{"v":1,"kind":"practitioner","sub":"pr-1"}"#, false),
        (#"{"v":1,"exp":"soon","kind":"practitioner","sub":"pr-1"}"#, false),
        (#"{"v":1,"exp":1800000000,"kind":"admin","sub":"pr-1"}"#, false),
        (#"{"v":1,"exp":1800000000,"sub":"pr-1"}"#, false),
        (#"{"v":1,"exp":1800000000,"kind":"practitioner"}"#, false),
        (#"{"v":1,"exp":1800000000,"kind":"practitioner","sub":"pr 1"}"#, false),
        (#"{"v":1,"exp":1800000000,"kind":"practitioner","sub":"../etc"}"#, false),
        (#"{"v":1,"exp":1800000000,"kind":"invite","sid":"0123456789ABCDEF0123456789ABCDEF"}"#, false),
        (#"{"v":1,"exp":1800000000,"kind":"invite","sid":"../../x"}"#, false),
        (#"{"v":1,"exp":1800000000,"kind":"invite"}"#, false),
        (#"[1,2]"#, false),
        (#"not json"#, false),
    ]

    @Test(arguments: claimPayloads)
    func unverifiedClaimsCheckTheClaimFields(json: String, readable: Bool) {
        let token = Base64URL.encode(Array(json.utf8)) + "." + Base64URL.encode([UInt8](repeating: 1, count: 32))
        #expect((TokenAuthority.unverifiedClaims(of: token) != nil) == readable)
    }

    @Test(arguments: ["", "abc", "a.b.c", "!!.abc"])
    func unverifiedClaimsOfGarbageAreNil(token: String) {
        #expect(TokenAuthority.unverifiedClaims(of: token) == nil)
    }

    @Test func practitionerIdLongerThan64IsNotAClaim() {
        let long = String(repeating: "a", count: 65)
        let token = authority.sign(.practitioner(id: long, expiresAt: t0.addingTimeInterval(60)))
        #expect(TokenAuthority.unverifiedClaims(of: token) == nil)
        #expect(throws: TokenAuthority.VerifyError.malformed) { try authority.verify(token, now: t0, revocations: TokenRevocations()) }
    }
}
