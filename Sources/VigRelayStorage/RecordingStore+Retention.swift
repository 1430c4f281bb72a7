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

    /// What a retention pass finds.
    public struct RetentionScan: Sendable, Equatable {
        /// Sessions whose last event is older than the cutoff, with something left to delete and no
        /// recording still in state `recording`: what `deleteIfEndedBefore` would delete now.
        public var due: [String] = []
        /// Sessions that would be due but for recordings still in state `recording` (running, or
        /// left so by a recovery that failed at start), with those recordings' ids: kept, and the
        /// operator must hear of it.
        public var heldByUnfinished: [String: [String]] = [:]

        /// Makes a scan's answer.
        public init(due: [String] = [], heldByUnfinished: [String: [String]] = [:]) {
            self.due = due
            self.heldByUnfinished = heldByUnfinished
        }
    }

    /// The sessions due for deletion before `cutoff`, and those held back. Read only, so that a
    /// running server can first stop each one's downloads. Disk writer thread, or at start before
    /// the server listens.
    public func retentionScan(_ cutoff: Date) -> RetentionScan {
        let log = SessionEventLog(dataDir: paths.dataDir)
        var scan = RetentionScan()
        for sessionID in sessionIDs() {
            switch retention(sessionID: sessionID, cutoff: cutoff, log: log) {
            case .due: scan.due.append(sessionID)
            case .heldBy(let recordingIDs): scan.heldByUnfinished[sessionID] = recordingIDs
            case .notDue: break
            }
        }
        return scan
    }

    /// Deletes one session's recordings and clips, as `deleteAll` does, if it is still due as above
    /// (checked again: someone may have joined since it was found); nil when it is not. The entry is
    /// for the caller to log (and to record in the session's event log).
    public func deleteIfEndedBefore(_ cutoff: Date, sessionID: String, at time: Date) -> RetentionDeletion? {
        guard case .due(let endedAt) = retention(sessionID: sessionID, cutoff: cutoff, log: SessionEventLog(dataDir: paths.dataDir)) else {
            return nil
        }
        var entry = RetentionDeletion(sessionID: sessionID, sessionEndedAt: endedAt, recordingIDs: [])
        do {
            entry.recordingIDs = try deleteAll(sessionID: sessionID, at: time)
        } catch {
            entry.failure = "\(error)"
        }
        return entry
    }

    private enum Retention {
        case notDue
        /// Ended then, before the cutoff, with something left to delete.
        case due(endedAt: Date)
        /// Would be due, but these recordings are still in state `recording`.
        case heldBy([String])
    }

    private func retention(sessionID: String, cutoff: Date, log: SessionEventLog) -> Retention {
        guard let endedAt = log.lastEventTime(sessionID: sessionID), endedAt < cutoff else { return .notDue }
        let manifests = manifests(sessionID: sessionID)
        let unfinished = manifests.filter { $0.state == .recording }.map(\.recordingId)
        if !unfinished.isEmpty { return .heldBy(unfinished.sorted()) }
        guard manifests.contains(where: { $0.state != .deleted }) || hasFiles(sessionID: sessionID) else { return .notDue }
        return .due(endedAt: endedAt)
    }
}
