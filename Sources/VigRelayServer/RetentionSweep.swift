import Foundation
import Logging
import VigRelayStorage

/// `--retention`: deletes the recordings and clips of sessions whose case was last active longer
/// ago than the retention period, and logs each deletion in the server log and in the session's
/// event log.
///
/// A case is a practitioner's `caseRef` (a session without one is its own case: `RetentionCase`); it
/// was last active at the newest `session.jsonl` event of any of its sessions, deletions and
/// withdrawals aside.
/// The server runs a sweep once at start, before it listens, and then every `intervalSeconds`: the
/// reader thread finds the sessions due, the service thread stops their downloads and fences new
/// ones, and the disk writer deletes each (never on the lws thread). A value type: safe to carry
/// to those threads.
struct RetentionSweep: Sendable {
    /// How long recordings are kept after their case was last active.
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

    /// Deletes everything due at `now` (at start, before the server listens: nothing can be in use);
    /// returns how many recordings were deleted.
    func runAll(now: Date) -> Int {
        dueSessions(now: now).reduce(0) { $0 + delete($1, now: now).count }
    }

    /// The sessions whose recordings are due for deletion at `now`. Sessions kept past their time
    /// because a recording is still marked as being recorded are logged at every sweep: that happens
    /// when its recovery failed at start (logged then), and only the operator can end it.
    func dueSessions(now: Date) -> [RecordingStore.RetentionDue] {
        let scan = store.retentionScan(cutoff(now))
        for (sessionID, recordingIDs) in scan.heldByUnfinished.sorted(by: { $0.key < $1.key }) {
            logger.warning("""
                retention: a session past its retention is kept because a recording of it is still marked as being recorded \
                (its recovery failed at start: see that error); repair or delete it (DELETE /v1/sessions/{id}/recordings)
                """,
                           metadata: ["session.id": "\(sessionID)", "recording.ids": "\(recordingIDs.joined(separator: ","))"])
        }
        return scan.due
    }

    /// Deletes one session's recordings if they are still due, and logs it; returns the recordings
    /// deleted (empty when none were, or deleting failed: the next sweep tries again).
    func delete(_ due: RecordingStore.RetentionDue, now: Date) -> [String] {
        guard let entry = store.deleteIfCaseEndedBefore(cutoff(now), due, at: now) else { return [] }
        log(entry, now: now)
        return entry.failure == nil ? entry.recordingIDs : []
    }

    private func cutoff(_ now: Date) -> Date { now.addingTimeInterval(-TimeInterval(retentionSeconds)) }

    private func log(_ entry: RecordingStore.RetentionDeletion, now: Date) {
        let metadata: Logger.Metadata = ["session.id": "\(entry.sessionID)",
                                         "recording.ids": "\(entry.recordingIDs.joined(separator: ","))",
                                         "case.last_active": "\(entry.caseLastActiveAt)"]
        if let failure = entry.failure {
            logger.error("retention: could not delete every recording file; the next sweep tries again",
                         metadata: metadata.merging(["error": "\(failure)"]) { $1 })
            return
        }
        logger.notice("retention: deleted the recordings of a session whose case was last active more than \(retentionSeconds) s ago",
                      metadata: metadata)
        events.append(sessionID: entry.sessionID, event: "recordings_deleted",
                      fields: ["recordingIds": entry.recordingIDs, "reason": "retention", "caseLastActiveAt": entry.caseLastActiveAt],
                      at: now, orLogTo: logger)
    }
}
