/// Identifies one connection for the relay's lifetime; the server maps it to its `struct lws *`.
public typealias ConnectionID = UInt64

/// What the relay core decided; the server carries it out in order.
public enum RelayAction: Equatable, Sendable {
    /// Queue a message for a connection.
    case send(ConnectionID, OutboundMessage)
    /// Close a connection with a WebSocket close code and a short reason (after what is queued is sent).
    case close(ConnectionID, code: UInt16, reason: String)
    /// Something worth a line in the server log and, later, the session's event log.
    case event(SessionEvent)
    /// Work for the recording writer (disk thread); replies that must wait for the disk come back
    /// through `RelayCore.recordingStopped` / `recordingsDeleted` / `recordingFailed`.
    case recording(RecordingCommand)
}

/// What the recording writer must do, in order, for one session.
public enum RecordingCommand: Equatable, Sendable {
    /// The family gave or withdrew consent (logged; withdrawal is followed by `deleteAll`).
    case consent(sessionID: String, recording: Bool, childAgreed: Bool)
    case start(sessionID: String, recordingID: String)
    case append(sessionID: String, RecordingChunk)
    /// Flush and close; then `RelayCore.recordingStopped`.
    case stop(sessionID: String, recordingID: String)
    /// Stop any active recording and delete every recording and clip of the session; then
    /// `RelayCore.recordingsDeleted`.
    case deleteAll(sessionID: String)
    case mark(sessionID: String, recordingID: String, markID: String, atMs: Int64, note: String)
}

/// A session-level happening. Carries ids and roles only: never tokens, names or media.
public struct SessionEvent: Equatable, Sendable {
    public enum Kind: String, Sendable {
        case joined, left, replaced, refused
    }
    public var kind: Kind
    public var sessionID: String
    public var role: Role?
    public var connection: ConnectionID
    /// For `refused`: the error code sent.
    public var code: RelayErrorCode?

    public init(_ kind: Kind, sessionID: String, role: Role?, connection: ConnectionID, code: RelayErrorCode? = nil) {
        self.kind = kind
        self.sessionID = sessionID
        self.role = role
        self.connection = connection
        self.code = code
    }
}
