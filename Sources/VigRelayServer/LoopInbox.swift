import CLibWebSockets
import Foundation
import VigRelayCore
import VigRelayStorage

/// Something another thread asks of the service thread.
enum LoopEvent: Sendable {
    /// The disk writer finished persisting a new session (nil error: success).
    case sessionPersisted(ConnectionID, SessionRecord, HTTPResponse, failure: String?)
    /// The writer saved a session's new family link (the record as saved), or could not: answer
    /// `ConnectionID` with the response, or with a 500.
    case inviteSaved(ConnectionID, sessionID: String, Result<SessionRecord, any Error>, HTTPResponse)
    /// The writer saved a session's new labels (the record as saved), or could not: answer `ConnectionID`.
    case labelsSaved(ConnectionID, sessionID: String, Result<SessionRecord, any Error>)
    /// SIGTERM/SIGINT or a caller asked the server to stop.
    case shutdown
    /// SIGHUP: read the certificate and key again (`ServiceLoop.reloadCertificate`).
    case reloadCertificate
    /// The reader thread read them (or could not): the service thread installs them.
    case certificateLoaded(Result<ServingCertificate, CertificateError>)
    case recordingStopped(sessionID: String, manifest: RecordingManifest)
    /// The writer deleted a session's recordings: after a consent withdrawal, or for retention.
    case recordingsDeleted(sessionID: String, recordingIDs: [String], afterWithdrawal: Bool)
    /// The disk writer dealt with a `mark`, an `unmark` or a `note` (`RelayCore.markChanged`).
    case markChanged(sessionID: String, recordingID: String, markID: String, edit: MarkEdit, replyID: MessageID?, outcome: MarkChange)
    /// Deleting a session's recordings after a consent withdrawal failed.
    case recordingsDeletionFailed(sessionID: String)
    /// The operator's token revocations changed (`RevocationWatch`).
    case revocationsChanged(TokenRevocations)
    /// A retention sweep found these sessions' recordings due for deletion.
    case retentionDue([RecordingStore.RetentionDue])
    case recordingFailed(sessionID: String, recordingID: String, reason: String)
    /// The writer measured the space left on the data directory's file system (once a second).
    case diskSpaceMeasured(availableBytes: Int64)
    /// A response decided off the lws thread (a summary, a refused download, a stored clip).
    case respond(ConnectionID, HTTPResponse)
    /// The reader opened download `download`, reading the files of session `filesOf`: write this
    /// head, then the body as chunks arrive.
    case downloadHead(ConnectionID, download: UInt64, MediaHead, filesOf: String)
    /// The next bytes of download `download`'s body, in order.
    case downloadChunk(ConnectionID, download: UInt64, [UInt8])
    /// The reader could not read on: the connection is closed (its body cannot be completed).
    case downloadFailed(ConnectionID, download: UInt64, reason: String)
    /// The reader planned a clip; the writer stores it next.
    case clipPlanned(ConnectionID, ClipRecord)
    /// The writer gave the family a copy of a clip, or took it back: answer `ConnectionID`, tell the
    /// family's page, and, taken back, stop the family's downloads of it.
    case familyCopyChanged(ConnectionID, sessionID: String, clipID: String, given: Bool, HTTPResponse)
    /// The writer logged that the family started fetching a copy: the practitioner hears it
    /// (`RelayCore.familyCopyFetched`), and the summary they then read shows it.
    case familyCopyFetched(sessionID: String, clipID: String)
    /// The writer has run a session's deletion (whether or not it succeeded): downloads may start again.
    case deletionFinished(sessionID: String)
    /// `DELETE .../recordings` from connection `requester` is done (nil failure) or failed.
    case recordingsDeletedOnRequest(ConnectionID, sessionID: String, recordingIDs: [String], failure: String?)
}

/// The only way into the service thread from outside: append an event and wake lws (or, for the
/// recording writer's progress, add to a count the service thread collects as it goes).
///
/// Thread-safe (`lock` guards all state). `lws_cancel_service` is called only while the context is
/// alive: `close()` gates it before the context is destroyed.
final class LoopInbox: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [LoopEvent] = []
    private var drainedBytes = 0
    private var wakeOnDrain = false
    // Guarded by `lock`; set once the context exists, cleared before it is destroyed.
    private nonisolated(unsafe) var context: OpaquePointer?

    /// Called by the service thread once the lws context exists.
    func open(context: OpaquePointer) {
        lock.lock(); defer { lock.unlock() }
        self.context = context
    }

    /// Called by the service thread before destroying the context: later posts only queue.
    func close() {
        lock.lock(); defer { lock.unlock() }
        context = nil
    }

    /// Writer thread: commands worth `bytes` of queued media are done. Counted without waking the
    /// service thread (a wake-up per camera payload was two thread switches per frame), unless it
    /// asked to be woken because a sender waits for the writer to catch up.
    func recordingDrained(bytes: Int) {
        lock.lock(); defer { lock.unlock() }
        drainedBytes += bytes
        if wakeOnDrain, let context { lws_cancel_service(context) }
    }

    /// Service thread: takes the media bytes drained since the last call; while `thenWakeOnDrain`,
    /// each later drain wakes the service thread.
    func takeDrainedBytes(thenWakeOnDrain: Bool) -> Int {
        lock.lock(); defer { lock.unlock() }
        let taken = drainedBytes
        drainedBytes = 0
        wakeOnDrain = thenWakeOnDrain
        return taken
    }

    /// Queues an event and wakes the service thread. Any thread.
    func post(_ event: LoopEvent) {
        lock.lock(); defer { lock.unlock() }
        events.append(event)
        if let context { lws_cancel_service(context) }
    }

    /// Takes every queued event. Service thread.
    func drain() -> [LoopEvent] {
        lock.lock(); defer { lock.unlock() }
        let taken = events
        events.removeAll()
        return taken
    }
}
