import Foundation
import Logging
import VigRelayStorage

/// `--retention`: deletes the recordings and clips of sessions that ended longer ago than the
/// retention period, and logs each deletion in the server log and in the session's event log.
///
/// A session has ended when nobody is connected to it; it ended at its last `session.jsonl` event.
/// The server runs a sweep once at start, before it listens, and then every `intervalSeconds` on the
/// disk writer thread (never on the lws thread). A value type: safe to carry to that thread.
struct RetentionSweep: Sendable {
    /// How long recordings are kept after their session ended.
    let retentionSeconds: Int
    let store: RecordingStore
    let events: SessionEventLog
    let logger: Logger

    init(retentionSeconds: Int, dataDir: String, logger: Logger) {
        self.retentionSeconds = retentionSeconds
        self.store = RecordingStore(dataDir: dataDir)
        self.events = SessionEventLog(dataDir: dataDir)
        self.logger = logger
    }

    /// Time between sweeps: a quarter of the retention period, at least a second and at most an hour,
    /// so a recording outlives its retention by at most a quarter of it.
    var intervalSeconds: Int { min(max(retentionSeconds / 4, 1), 3600) }

    /// Deletes what is due at `now`, skipping the sessions in `live`; returns what it deleted.
    func run(now: Date, excluding live: Set<String>) -> [RecordingStore.RetentionDeletion] {
        let cutoff = now.addingTimeInterval(-TimeInterval(retentionSeconds))
        let done = store.deleteRecordingsOfSessionsEndedBefore(cutoff, at: now, excluding: live)
        for entry in done {
            let metadata: Logger.Metadata = ["session.id": "\(entry.sessionID)",
                                             "recording.ids": "\(entry.recordingIDs.joined(separator: ","))",
                                             "session.ended": "\(entry.sessionEndedAt)"]
            if let failure = entry.failure {
                logger.error("retention: could not delete every recording file; the next sweep tries again",
                             metadata: metadata.merging(["error": "\(failure)"]) { $1 })
                continue
            }
            logger.notice("retention: deleted the recordings of a session that ended more than \(retentionSeconds) s ago", metadata: metadata)
            events.append(sessionID: entry.sessionID, event: "recordings_deleted",
                          fields: ["recordingIds": entry.recordingIDs, "reason": "retention", "sessionEndedAt": entry.sessionEndedAt],
                          at: now, orLogTo: logger)
        }
        return done
    }
}
