import Foundation
import Logging
import VigRelayCore

/// What a session's recording state was when the server last ran: the family's last consent and
/// the recordings that still have media. Loaded at start (after `RecordingRecovery`, before
/// listening) and handed to `RelayCore.restoreRecording`, so consent and marks survive a restart.
///
/// Consent comes from the newest `consent` event of `session.jsonl`, read backwards from the end of
/// the file (so the cost is what follows it, not the session's whole history); a newer
/// `recordings_deleted` event of a withdrawal counts as the withdrawal (its `consent` line may not
/// have reached the disk when the disk was full, and the deletion freed room). It fails closed: a
/// damaged line newer than that event which might itself be a `consent` event (a crash tore it, or
/// its event name is unreadable), or a `consent` event without a boolean `recording`, means no
/// consent until the family gives it again. Other damaged lines are skipped with a warning.
/// Recording ids come from the manifests (`RecordingStore.manifests`); `deleted` ones are left out.
/// A plain value; `load` runs on the thread starting the server, never on the lws thread.
public struct PersistedRecordingState: Sendable, Equatable {
    public var sessionID: String
    public var consent: Bool
    public var childAgreed: Bool
    /// The family agreed that the session's supervisor may watch the recordings (only with `consent`).
    public var supervisorMayView = false
    /// Recordings whose media is kept (every state but `deleted`), oldest first.
    public var recordingIDs: [String]
    /// The family's newest readable word is a withdrawal (a `consent` event, or a deletion after
    /// one), yet media, index or clip files are left: the deletion that follows a withdrawal did not
    /// finish (a crash, or a disk error). The server finishes it at start.
    public var withdrawalUnfinished = false

    public init(sessionID: String, consent: Bool, childAgreed: Bool, recordingIDs: [String]) {
        self.sessionID = sessionID
        self.consent = consent
        self.childAgreed = childAgreed
        self.recordingIDs = recordingIDs
    }

    /// The state of each session in `sessionIDs` that has a consent or a recording on disk.
    public static func load(dataDir: String, sessionIDs: [String],
                            logger: Logger = Logger(label: "vigrelay.restore", factory: { _ in SwiftLogNoOpLogHandler() })) -> [PersistedRecordingState] {
        let log = SessionEventLog(dataDir: dataDir)
        let store = RecordingStore(dataDir: dataDir)
        var states: [PersistedRecordingState] = []
        for sessionID in sessionIDs where Identifiers.isValidSessionID(sessionID) {
            let meta: Logger.Metadata = ["session.id": "\(sessionID)"]
            let lookup = log.lastEvent(namedAnyOf: ["consent", "recordings_deleted"], sessionID: sessionID) {
                $0["event"] as? String == "consent" || $0["reason"] as? String == Self.withdrawalReason
            }
            var consent = false, childAgreed = false, supervisorMayView = false, withdrawn = false
            if let event = lookup.event, event["event"] as? String == "recordings_deleted" {
                withdrawn = true
            } else if let event = lookup.event {
                if let recording = event["recording"] as? Bool, Self.isBoolean(event["recording"]) {
                    consent = recording
                    withdrawn = !recording
                    childAgreed = recording && (event["childAgreed"] as? Bool ?? false) && Self.isBoolean(event["childAgreed"])
                    supervisorMayView = recording && (event["supervisorMayView"] as? Bool ?? false) && Self.isBoolean(event["supervisorMayView"])
                } else {
                    logger.warning("the last consent event in session.jsonl has no boolean \"recording\"; consent is treated as not given until the family gives it again", metadata: meta)
                }
            }
            if lookup.unreadableLines > 0 {
                logger.warning("session.jsonl has damaged lines (a crash mid-write?); they were skipped", metadata: meta.merging(["lines": "\(lookup.unreadableLines)"]) { $1 })
            }
            if lookup.mayHaveMissedNewer && consent {
                consent = false
                childAgreed = false
                supervisorMayView = false
                logger.warning("a damaged line in session.jsonl may have been a newer consent event; consent is treated as not given until the family gives it again", metadata: meta)
            }
            let ids = store.manifests(sessionID: sessionID).filter { $0.state != .deleted }.map(\.recordingId)
            let unfinished = withdrawn && !lookup.mayHaveMissedNewer && store.hasFiles(sessionID: sessionID)
            if consent || !ids.isEmpty || unfinished {
                var state = PersistedRecordingState(sessionID: sessionID, consent: consent, childAgreed: childAgreed, recordingIDs: ids)
                state.supervisorMayView = supervisorMayView
                state.withdrawalUnfinished = unfinished
                states.append(state)
            }
        }
        return states
    }

    /// The `reason` of the `recordings_deleted` event a withdrawal's deletion logs.
    public static let withdrawalReason = "consent withdrawn"

    /// JSONSerialization gives booleans as NSNumber, like 0 and 1: only a real JSON boolean counts.
    private static func isBoolean(_ value: Any?) -> Bool {
        (value as? NSNumber).map { String(cString: $0.objCType) == "c" } ?? false
    }
}
