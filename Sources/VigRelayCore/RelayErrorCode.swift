/// Stable error codes sent as `{"type":"error","code":...}` on the WebSocket and in HTTP error bodies.
///
/// Clients branch on the code; the message beside it is for people and may change.
public enum RelayErrorCode: String, Sendable, CaseIterable {
    case unauthorized
    case forbidden
    case sessionNotFound = "session_not_found"
    case helloRequired = "hello_required"
    case helloTimeout = "hello_timeout"
    case unexpectedHello = "unexpected_hello"
    case replaced
    /// The family's invite was replaced by a newer link from the practitioner (close 1008).
    case inviteReplaced = "invite_replaced"
    case peerAbsent = "peer_absent"
    case streamNotAllowed = "stream_not_allowed"
    case malformedFrame = "malformed_frame"
    case invalidJSON = "invalid_json"
    case unknownType = "unknown_type"
    case invalidMessage = "invalid_message"
    case tooLarge = "too_large"
    /// The connection's address already holds `--max-connections-per-address` connections
    /// (HTTP 429; on a WebSocket, before `hello`, with close 1013).
    case tooManyConnections = "too_many_connections"
    // Recording.
    case notAllowed = "not_allowed"
    case consentRequired = "consent_required"
    case alreadyRecording = "already_recording"
    case notRecording = "not_recording"
    case recordingNotFound = "recording_not_found"
    case recordingFailed = "recording_failed"
    /// The data directory's file system has less than `RelayLimits.minFreeSpaceBytes` left, so no
    /// recording starts until the operator frees space (the live relay goes on).
    case diskSpaceLow = "disk_space_low"
    /// HTTP: an encrypted recording this relay cannot decrypt (no or another `--recording-key`; 503).
    case recordingKeyUnavailable = "recording_key_unavailable"
    /// HTTP: the session's supervisor asked for its recordings, and the family has not agreed that the
    /// supervisor may watch them (403).
    case supervisionNotAgreed = "supervision_not_agreed"
    /// HTTP: a clip of a recording that is still being written (stop it first).
    case recordingInProgress = "recording_in_progress"
    /// No such mark on that recording (never made, or removed already).
    case markNotFound = "mark_not_found"
    /// HTTP: no such clip in the session (or its recording was deleted).
    case clipNotFound = "clip_not_found"
    /// HTTP: a family copy of a clip asked of a relay whose operator does not give them
    /// (`RelayLimits.familyCopies`, 403).
    case familyCopiesOff = "family_copies_off"
    /// HTTP: a `Range` that starts at or past the end of the file (416).
    case rangeNotSatisfiable = "range_not_satisfiable"
    // HTTP-only codes.
    case notFound = "not_found"
    case methodNotAllowed = "method_not_allowed"
    case invalidRequest = "invalid_request"
    /// HTTP: a request body sent without `Content-Length` (chunked), which the relay cannot read (411).
    case lengthRequired = "length_required"
    /// HTTP: a request body that took longer than `RelayLimits.requestBodySeconds` to arrive (408).
    case requestTimeout = "request_timeout"
    case internalError = "internal_error"
}

/// WebSocket close codes the relay uses, in one place.
public enum RelayCloseCode {
    public static let normal: UInt16 = 1000
    public static let goingAway: UInt16 = 1001
    public static let policyViolation: UInt16 = 1008
    public static let messageTooBig: UInt16 = 1009
    /// "Try Again Later" (RFC 6455 registry): refused for now, not for good (the pages reconnect).
    public static let tryAgainLater: UInt16 = 1013
    /// Another connection of the same role took this one's place.
    public static let replaced: UInt16 = 4001
    /// The URL or the session does not exist.
    public static let notFound: UInt16 = 4404
}
