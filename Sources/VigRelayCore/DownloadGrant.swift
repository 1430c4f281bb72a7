/// Who a download of a recording or clip was granted to, kept while it streams so it can be cut off
/// when that grant ends. Made by `HTTPAPI` (`HTTPOutcome.media`), kept by the server's `Download`;
/// a plain value.
public struct DownloadGrant: Sendable, Equatable {
    /// The practitioner id of the token asked with: the session's owner, or its supervisor; nil for
    /// the family, fetching a copy the practitioner gave them with their link.
    public var practitionerID: String?
    /// When that token (or the family's invite) was issued: a revocation covering a practitioner's
    /// token, or a newer family link replacing the invite, cuts the download off.
    public var tokenIssuedAtMs: Int64?
    /// Granted as the session's supervisor: cut off once the family no longer agrees
    /// (`RelayCore.supervisorMayView`) or the owner names another supervisor.
    public var asSupervisor: Bool

    public init(practitionerID: String?, tokenIssuedAtMs: Int64?, asSupervisor: Bool = false) {
        self.practitionerID = practitionerID
        self.tokenIssuedAtMs = tokenIssuedAtMs
        self.asSupervisor = asSupervisor
    }

    /// A family's download of a copy given to them, with an invite issued at `inviteIssuedAtMs`.
    public static func family(inviteIssuedAtMs: Int64?) -> DownloadGrant {
        DownloadGrant(practitionerID: nil, tokenIssuedAtMs: inviteIssuedAtMs)
    }

    /// Granted to the family with their link.
    public var toFamily: Bool { practitionerID == nil }
}
