import Foundation
import VigRelayCore

/// The session and token a family joins with, read from an invite token or a `joinUrl`
/// (`https://HOST:PORT/join#session=ID&invite=TOKEN`).
public struct InviteLink: Sendable, Equatable {
    /// The session the invite is for.
    public let sessionID: String
    /// The invite token sent in `hello`.
    public let token: String

    /// Reads `--invite`. The session id comes from the URL fragment, or from the token's claims
    /// (read without the secret: the relay still checks the token).
    public init(parsing text: String) throws(ClientError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if let hash = trimmed.firstIndex(of: "#") {
            var fields: [String: String] = [:]
            for pair in trimmed[trimmed.index(after: hash)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2 { fields[String(parts[0])] = String(parts[1]).removingPercentEncoding ?? String(parts[1]) }
            }
            guard let token = fields["invite"], !token.isEmpty else { throw .malformedInvite("the join URL has no invite= in its #fragment") }
            let session = fields["session"] ?? Self.sessionID(of: token)
            guard let session, Identifiers.isValidSessionID(session) else { throw .malformedInvite("the join URL has no valid session= in its #fragment") }
            self.sessionID = session
            self.token = token
            return
        }
        guard let session = Self.sessionID(of: trimmed) else {
            if case .practitioner? = TokenAuthority.unverifiedClaims(of: trimmed) {
                throw .malformedInvite("this is a practitioner token, not a family invite")
            }
            throw .malformedInvite("it is not a token issued by vigrelay")
        }
        self.sessionID = session
        self.token = trimmed
    }

    private static func sessionID(of token: String) -> String? {
        guard case .invite(let session, _)? = TokenAuthority.unverifiedClaims(of: token) else { return nil }
        return session
    }
}
