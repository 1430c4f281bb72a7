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

    /// The sessions whose last event is older than `cutoff` and that have something left to delete and
    /// no recording still in state `recording`: what `deleteIfEndedBefore` would delete now. Read
    /// only, so that a running server can first stop each one's downloads. Disk writer thread, or at
    /// start before the server listens.
    public func sessionsEndedBefore(_ cutoff: Date) -> [String] {
        let log = SessionEventLog(dataDir: paths.dataDir)
        return sessionIDs().filter { isDue(sessionID: $0, cutoff: cutoff, log: log) != nil }
    }

    /// Deletes one session's recordings and clips, as `deleteAll` does, if it is still due as above
    /// (checked again: someone may have joined since it was found); nil when it is not. The entry is
    /// for the caller to log (and to record in the session's event log).
    public func deleteIfEndedBefore(_ cutoff: Date, sessionID: String, at time: Date) -> RetentionDeletion? {
        guard let endedAt = isDue(sessionID: sessionID, cutoff: cutoff, log: SessionEventLog(dataDir: paths.dataDir)) else { return nil }
        var entry = RetentionDeletion(sessionID: sessionID, sessionEndedAt: endedAt, recordingIDs: [])
        do {
            entry.recordingIDs = try deleteAll(sessionID: sessionID, at: time)
        } catch {
            entry.failure = "\(error)"
        }
        return entry
    }

    /// When the session ended, if it ended before `cutoff`, no recording of it is running and
    /// something of it is left to delete.
    private func isDue(sessionID: String, cutoff: Date, log: SessionEventLog) -> Date? {
        guard let endedAt = log.lastEventTime(sessionID: sessionID), endedAt < cutoff else { return nil }
        let manifests = manifests(sessionID: sessionID)
        guard !manifests.contains(where: { $0.state == .recording }),
              manifests.contains(where: { $0.state != .deleted }) || hasFiles(sessionID: sessionID) else { return nil }
        return endedAt
    }
}
