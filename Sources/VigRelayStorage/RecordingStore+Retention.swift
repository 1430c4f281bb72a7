import Foundation

/// Retention: deleting the recordings of sessions that ended long enough ago.
extension RecordingStore {
    /// What one retention pass did to one session.
    public struct RetentionDeletion: Sendable, Equatable {
        /// The session whose recordings were deleted.
        public var sessionID: String
        /// When the session ended: the time of its last `session.jsonl` event.
        public var sessionEndedAt: Date
        /// The recordings marked `deleted` in this pass.
        public var recordingIDs: [String]
        /// Why deleting failed, if it did (the next pass tries again).
        public var failure: String?

        /// Makes an entry.
        public init(sessionID: String, sessionEndedAt: Date, recordingIDs: [String], failure: String? = nil) {
            self.sessionID = sessionID
            self.sessionEndedAt = sessionEndedAt
            self.recordingIDs = recordingIDs
            self.failure = failure
        }
    }

    /// Deletes the recordings and clips of every session whose last event is older than `cutoff`,
    /// as `deleteAll` does; returns one entry per session touched, for the caller to log (and to
    /// record in the session's event log). Sessions with no event log, with nothing left to delete,
    /// with a recording still in state `recording`, or in `excluding` (sessions with someone connected:
    /// not ended) are skipped. Runs on the disk writer thread, or at start before the server listens.
    public func deleteRecordingsOfSessionsEndedBefore(_ cutoff: Date, at time: Date,
                                                      excluding live: Set<String> = []) -> [RetentionDeletion] {
        let log = SessionEventLog(dataDir: paths.dataDir)
        var done: [RetentionDeletion] = []
        for sessionID in sessionIDs() where !live.contains(sessionID) {
            guard let endedAt = log.lastEventTime(sessionID: sessionID), endedAt < cutoff else { continue }
            let manifests = manifests(sessionID: sessionID)
            guard !manifests.contains(where: { $0.state == .recording }),
                  manifests.contains(where: { $0.state != .deleted }) || hasFiles(sessionID: sessionID) else { continue }
            var entry = RetentionDeletion(sessionID: sessionID, sessionEndedAt: endedAt, recordingIDs: [])
            do {
                entry.recordingIDs = try deleteAll(sessionID: sessionID, at: time)
            } catch {
                entry.failure = "\(error)"
            }
            done.append(entry)
        }
        return done
    }
}
