import CCrypto
import Foundation

/// What a valid token says about its bearer.
public enum TokenClaims: Sendable, Equatable {
    /// A practitioner, identified by the id an operator gave them.
    case practitioner(id: String, expiresAt: Date)
    /// The family invited to one session.
    case invite(sessionID: String, expiresAt: Date)
    /// A monitoring system (e.g. Prometheus) allowed to read `GET /metrics` and nothing else.
    case metrics(id: String, expiresAt: Date)

    public var expiresAt: Date {
        switch self {
        case .practitioner(_, let e), .invite(_, let e), .metrics(_, let e): return e
        }
    }

    /// The kind and id an operator revokes these claims by; nil for an invite (replaced by a new link instead).
    public var revocable: (kind: TokenRevocations.Kind, id: String)? {
        switch self {
        case .practitioner(let id, _): return (.practitioner, id)
        case .metrics(let id, _): return (.metrics, id)
        case .invite: return nil
        }
    }
}

/// A token that passed every check: its claims, and when it was issued (nil: a token made before
/// tokens carried the time; any revocation of its id covers it).
public struct VerifiedToken: Sendable, Equatable {
    public let claims: TokenClaims
    public let issuedAtMs: Int64?
}

/// Signs and checks tokens with HMAC-SHA256 under the server's secret.
///
/// A token is `base64url(claims JSON) "." base64url(HMAC-SHA256(secret, first part))`. Any node holding
/// the secret can check it without shared state but the operator's revocations (`TokenRevocations`),
/// which the caller passes in. Immutable, so safe on any thread.
public struct TokenAuthority: Sendable {
    /// Longest token accepted; anything longer is refused before any parsing.
    public static let maxTokenLength = 4096
    private let secret: [UInt8]

    /// - Parameter secret: at least 32 random bytes.
    public init(secret: [UInt8]) {
        precondition(secret.count >= 32, "token secret must be at least 32 bytes")
        self.secret = secret
    }

    /// Why a token was refused. Every case maps to the `unauthorized` error code.
    public enum VerifyError: Error, Equatable, CustomStringConvertible {
        case malformed
        case badSignature
        case expired
        case revoked

        public var description: String {
            switch self {
            case .malformed: return "token is malformed; get a new one"
            case .badSignature: return "token signature is not valid for this server; get a new one"
            case .expired: return "token has expired; get a new one"
            case .revoked: return "token was revoked by this relay's operator; ask them for a new one"
            }
        }
    }

    /// Makes a token carrying the claims and the time it is issued (ms since 1970, `iat`), which a
    /// revocation compares.
    public func sign(_ claims: TokenClaims, issuedAt: Date = Date()) -> String {
        sign(claims, issuedAtMs: Self.milliseconds(issuedAt))
    }

    /// `sign` with the issue time in ms exactly (a new family link names the same ms in its session
    /// record, so no rounding may come between).
    public func sign(_ claims: TokenClaims, issuedAtMs: Int64) -> String {
        var object: [String: Any] = ["v": 1, "exp": Int64(claims.expiresAt.timeIntervalSince1970.rounded(.down)), "iat": issuedAtMs]
        switch claims {
        case .practitioner(let id, _): object["kind"] = "practitioner"; object["sub"] = id
        case .invite(let sid, _): object["kind"] = "invite"; object["sid"] = sid
        case .metrics(let id, _): object["kind"] = "metrics"; object["sub"] = id
        }
        let payload = Base64URL.encode(ControlEncoder.encode(object))
        return payload + "." + Base64URL.encode(mac(Array(payload.utf8)))
    }

    /// Checks the signature, the expiry and `revocations`, and returns the claims with the token's
    /// issue time (kept by a WebSocket or a download, to be cut off if the token is revoked, or the
    /// invite replaced, while it is open). With `inviteMayBeExpired`, an invite past its expiry is
    /// accepted too: for the one thing a family may do at any time, withdrawing consent
    /// (`POST /v1/sessions/{id}/withdrawal`).
    public func verify(_ token: String, now: Date, revocations: TokenRevocations,
                       inviteMayBeExpired: Bool = false) throws(VerifyError) -> VerifiedToken {
        guard token.utf8.count <= Self.maxTokenLength else { throw .malformed }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let signature = Base64URL.decode(parts[1]) else { throw .malformed }
        guard constantTimeEqual(signature, mac(Array(parts[0].utf8))) else { throw .badSignature }
        guard let payload = Base64URL.decode(parts[0]),
              let verified = Self.readToken(payload)
        else { throw .malformed }
        if let (kind, id) = verified.claims.revocable, revocations.revokes(kind, id: id, issuedAtMs: verified.issuedAtMs) {
            throw .revoked
        }
        if case .invite = verified.claims, inviteMayBeExpired { return verified }
        guard verified.claims.expiresAt > now else { throw .expired }
        return verified
    }

    /// Reads the claims of a token without checking its signature: for clients, which hold no secret,
    /// to learn e.g. which session an invite is for. Never use the result to grant access.
    public static func unverifiedClaims(of token: String) -> TokenClaims? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let payload = Base64URL.decode(parts[0]) else { return nil }
        return readToken(payload)?.claims
    }

    private static func readToken(_ payload: [UInt8]) -> VerifiedToken? {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(payload))) as? [String: Any],
              (object["v"] as? Int) == 1,
              let exp = object["exp"] as? Int64
        else { return nil }
        let expiresAt = Date(timeIntervalSince1970: TimeInterval(exp))
        let issuedAtMs: Int64?
        switch object["iat"] {
        case nil: issuedAtMs = nil
        case let iat as Int64: issuedAtMs = iat
        default: return nil
        }
        let claims: TokenClaims
        switch object["kind"] as? String {
        case "practitioner":
            guard let sub = object["sub"] as? String, Identifiers.isValidPractitionerID(sub) else { return nil }
            claims = .practitioner(id: sub, expiresAt: expiresAt)
        case "invite":
            guard let sid = object["sid"] as? String, Identifiers.isValidSessionID(sid) else { return nil }
            claims = .invite(sessionID: sid, expiresAt: expiresAt)
        case "metrics":
            guard let sub = object["sub"] as? String, Identifiers.isValidPractitionerID(sub) else { return nil }
            claims = .metrics(id: sub, expiresAt: expiresAt)
        default:
            return nil
        }
        return VerifiedToken(claims: claims, issuedAtMs: issuedAtMs)
    }

    /// `date` in whole ms since 1970, as `iat` carries it.
    public static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }

    /// HMAC-SHA256 of `data` under the secret (internal: tests sign payloads the current `sign` no longer makes).
    func mac(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        let ok = secret.withUnsafeBytes { key in
            vr_hmac_sha256(key.baseAddress, Int32(key.count), data, data.count, &out)
        }
        precondition(ok == 1, "HMAC-SHA256 failed in libcrypto")
        return out
    }

    private func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return CRYPTO_memcmp(a, b, a.count) == 0
    }
}
