import Foundation
import Testing
import VigRelayClientKit
import VigRelayCore

/// `--invite`: an invite token or a join URL, read without the secret. Its session id goes into
/// request paths (the family's link check, the WebSocket): a token's claims are read only with a
/// session id shaped as the relay makes them (`TokenAuthority.unverifiedClaims`), so none other gets there.
struct InviteLinkTests {
    let sid = String(repeating: "ab", count: 16)
    let authority = TokenAuthority(secret: Array(repeating: 7, count: 32))

    func invite(_ session: String) -> String {
        authority.sign(.invite(sessionID: session, expiresAt: Date(timeIntervalSince1970: 2_000_000_000)), issuedAtMs: 1)
    }

    @Test func aTokenAndAJoinURLGiveTheSessionAndToken() throws {
        let token = invite(sid)
        #expect(try InviteLink(parsing: token) == InviteLink(parsing: "https://relay.example/join#session=\(sid)&invite=\(token)"))
        let link = try InviteLink(parsing: " \(token)\n")
        #expect(link.sessionID == sid && link.token == token)
    }

    @Test func aTokenWhoseSessionIsNoSessionIdIsNotRead() {
        for session in ["../../metrics", "AB", sid + "0"] {
            #expect(throws: ClientError.malformedInvite("it is not a token issued by vigrelay")) { try InviteLink(parsing: invite(session)) }
            #expect(throws: ClientError.self) { try InviteLink(parsing: "https://relay.example/join#invite=\(invite(session))") }
        }
    }
}
