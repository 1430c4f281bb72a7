import Foundation

/// Identifies one connection for the relay's lifetime; the server maps it to its `struct lws *`.
public typealias ConnectionID = UInt64

/// What the relay core decided; the server carries it out in order.
public enum RelayAction: Equatable, Sendable {
    /// Queue a message for a connection.
    case send(ConnectionID, OutboundMessage)
    /// Close a connection with a WebSocket close code and a short reason (after what is queued is sent).
    case close(ConnectionID, code: UInt16, reason: String)
    /// The viewer on a connection asked to be skipped to the present (`catch_up`): its send queue
    /// drops the frames of `stream` waiting in it (`OutboundQueue.catchUp`). `starts`: the init
    /// segments of the stream the viewer had received when it asked (nil: not said).
    case catchUp(ConnectionID, stream: MediaStream, starts: Int?)
    /// Something worth a line in the server log and, later, the session's event log.
    case event(SessionEvent)
    /// Work for the recording writer (disk thread); replies that must wait for the disk come back
    /// through `RelayCore.recordingStopped` / `recordingsDeleted` / `recordingFailed`.
    case recording(RecordingCommand)

    /// How many of `actions` close a connection (what the server logs after closing several at once).
    public static func closes(in actions: [RelayAction]) -> Int {
        actions.filter { if case .close = $0 { true } else { false } }.count
    }
}

/// What the recording writer must do, in order, for one session.
public enum RecordingCommand: Equatable, Sendable {
    /// The family gave or withdrew consent (logged; withdrawal is followed by `deleteAll`). `reason`:
    /// set when the relay changed the answer, not the family (a new supervisor ended their agreement).
    case consent(sessionID: String, recording: Bool, childAgreed: Bool, supervisorMayView: Bool = false, reason: String? = nil)
    case start(sessionID: String, recordingID: String)
    case append(sessionID: String, RecordingChunk)
    /// Flush and close; then `RelayCore.recordingStopped`.
    case stop(sessionID: String, recordingID: String, reason: RecordingStopReason = .requested)
    /// A side left (or was not there) while the recording runs; logged. The family away pauses the
    /// media; the practitioner away leaves the recording unattended. Either way it goes on for up
    /// to `RelayLimits.reconnectGraceSeconds`.
    case away(sessionID: String, recordingID: String, role: Role)
    /// A side that was away is back within the grace after `awayMs`; logged.
    case back(sessionID: String, recordingID: String, role: Role, awayMs: Int64)
    /// Stop any active recording and delete every recording and clip of the session after a consent
    /// withdrawal; then `RelayCore.withdrawalDeleted` (or `recordingsDeletionFailed`).
    case deleteAll(sessionID: String)
    /// As `deleteAll`, asked by `DELETE /v1/sessions/{id}/recordings` on connection `requester`
    /// (logged with reason `request`; the HTTP reply waits for it).
    case deleteAllOnRequest(sessionID: String, requester: ConnectionID)
    /// The practitioner marks a moment: logged (`mark`) and the note kept beside the recording; then
    /// `RelayCore.markChanged` (`marked` once it is saved, so the summary read after it has it),
    /// echoing `replyID`.
    case mark(sessionID: String, recordingID: String, markID: String, atMs: Int64, note: String, replyID: MessageID?)
    /// The practitioner removes a mark (a stray one, or to mark again with another note): logged
    /// (`mark_removed`) and its note erased; then `RelayCore.markChanged`, echoing `replyID`.
    case unmark(sessionID: String, recordingID: String, markID: String, replyID: MessageID?)
    /// The practitioner changes a mark's note (a typo, or more to say): logged (`mark_noted`, ids
    /// only) and the note replaced; then `RelayCore.markChanged`, echoing `replyID`.
    case renote(sessionID: String, recordingID: String, markID: String, note: String, replyID: MessageID?)
    /// The session's supervisor started a download of a recording part or a clip: logged in the
    /// session's log (`supervisor_download`), so whoever reads it sees who watched what and when.
    case supervisorDownload(sessionID: String, supervisor: String, resource: MediaRequest.Resource)
    /// The family started a download of a copy given to them, from its first byte: logged
    /// (`family_copy_downloaded`), so the log shows that a copy left the service, and when; then
    /// `RelayCore.familyCopyFetched` tells the practitioner.
    case familyCopyDownload(sessionID: String, clipID: String)
}

/// Why a recording stops.
public enum RecordingStopReason: Equatable, Sendable {
    /// The practitioner's `record` `stop`.
    case requested
    /// That side stayed away longer than the reconnect grace.
    case graceExpired(away: Role)

    /// The `reason` written in the log and the `stopped` notice; nil for a requested stop.
    public var text: String? {
        switch self {
        case .requested: nil
        case .graceExpired: "grace expired"
        }
    }
}

/// A session-level happening. Carries ids and roles only: never tokens, names or media.
public struct SessionEvent: Equatable, Sendable {
    public enum Kind: String, Sendable {
        case joined, left, replaced, refused
        /// The family and the practitioner are both in: the session was held (logged once per
        /// run of the server, at the first such moment; `GET /v1/cycles` counts the first).
        case held
    }
    public var kind: Kind
    public var sessionID: String
    public var role: Role?
    public var connection: ConnectionID
    /// For `refused`: the error code sent.
    public var code: RelayErrorCode?
    /// When it happened, for an event whose time the core also keeps (`held`); nil: when logged.
    public var at: Date?

    public init(_ kind: Kind, sessionID: String, role: Role?, connection: ConnectionID, code: RelayErrorCode? = nil, at: Date? = nil) {
        self.kind = kind
        self.sessionID = sessionID
        self.role = role
        self.connection = connection
        self.code = code
        self.at = at
    }
}
