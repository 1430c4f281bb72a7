/// Who a download of a recording or clip was granted to, kept while it streams so it can be cut off
/// when that grant ends. Made by `HTTPAPI` (`HTTPOutcome.media`), kept by the server's `Download`;
/// a plain value.
public struct DownloadGrant: Sendable, Equatable {
    /// The practitioner id of the token asked with: the session's owner, or its supervisor.
    public var practitionerID: String
    /// When that token was issued: a revocation covering it cuts the download off.
    public var tokenIssuedAtMs: Int64?
    /// Granted as the session's supervisor: cut off once the family no longer agrees
    /// (`RelayCore.supervisorMayView`) or the owner names another supervisor.
    public var asSupervisor: Bool

    public init(practitionerID: String, tokenIssuedAtMs: Int64?, asSupervisor: Bool = false) {
        self.practitionerID = practitionerID
        self.tokenIssuedAtMs = tokenIssuedAtMs
        self.asSupervisor = asSupervisor
    }
}
