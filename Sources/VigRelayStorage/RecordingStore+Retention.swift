import Foundation
import VigRelayCore

/// Retention: deleting the recordings of cases whose last session ended long enough ago
/// (`RetentionCase`: a practitioner's `caseRef`, or a session without one on its own).
extension RecordingStore {
    /// What one retention pass did to one session.
    public struct RetentionDeletion: Sendable, Equatable {
        /// The session whose recordings were deleted.
        public var sessionID: String
        /// When its case was last active: the newest activity in any of the case's sessions' logs.
        public var caseLastActiveAt: Date
        /// The recordings marked `deleted` in this pass.
        public var recordingIDs: [String]
        /// Why deleting failed, if it did (the next pass tries again).
        public var failure: String?

        /// Makes an entry.
        public init(sessionID: String, caseLastActiveAt: Date, recordingIDs: [String], failure: String? = nil) {
            self.sessionID = sessionID
            self.caseLastActiveAt = caseLastActiveAt
            self.recordingIDs = recordingIDs
            self.failure = failure
        }
    }

    /// A session found due, with its case's sessions: the deletion checks the whole case again.
    public struct RetentionDue: Sendable, Equatable {
        public var sessionID: String
        /// Every session of its case, itself included, sorted.
        public var caseSessionIDs: [String]

        public init(sessionID: String, caseSessionIDs: [String]) {
            self.sessionID = sessionID
            self.caseSessionIDs = caseSessionIDs
        }
    }

    /// What a retention pass finds.
    public struct RetentionScan: Sendable, Equatable {
        /// Sessions whose case was last active before the cutoff, with something left to delete and
        /// no recording still in state `recording`: what `deleteIfCaseEndedBefore` would delete now.
        public var due: [RetentionDue] = []
        /// Sessions that would be due but for recordings still in state `recording` (running, or
        /// left so by a recovery that failed at start), with those recordings' ids: kept, and the
        /// operator must hear of it.
        public var heldByUnfinished: [String: [String]] = [:]

        /// Makes a scan's answer.
        public init(due: [RetentionDue] = [], heldByUnfinished: [String: [String]] = [:]) {
            self.due = due
            self.heldByUnfinished = heldByUnfinished
        }
    }

    /// The sessions due for deletion before `cutoff`, and those held back. Read only, so that a
    /// running server can first stop each one's downloads: the reader thread, or at start before
    /// the server listens; the writer's `deleteIfCaseEndedBefore` checks again.
    public func retentionScan(_ cutoff: Date) -> RetentionScan {
        let log = SessionEventLog(dataDir: paths.dataDir), records = SessionStore(dataDir: paths.dataDir)
        let sessions = sessionIDs().map { sid in
            let record = records.load(sessionID: sid)
            return RetentionCase.Session(id: sid, owner: record?.owner, caseRef: record?.caseRef,
                                         lastActiveAt: log.lastActivityTime(sessionID: sid))
        }
        let withLog = Set(sessions.filter { $0.lastActiveAt != nil }.map(\.id))
        var scan = RetentionScan()
        for group in RetentionCase.cases(of: sessions) {
            guard let last = group.lastActiveAt, last < cutoff else { continue }
            // A session without a log of its own never says when it ended: kept.
            for sid in group.sessionIDs where withLog.contains(sid) {
                switch leftToDelete(sessionID: sid) {
                case .something: scan.due.append(RetentionDue(sessionID: sid, caseSessionIDs: group.sessionIDs))
                case .heldBy(let recordingIDs): scan.heldByUnfinished[sid] = recordingIDs
                case .nothing: break
                }
            }
        }
        return scan
    }

    /// Deletes one session's recordings and clips, as `deleteAll` does, if it is still due as above
    /// (checked again, over the whole case: someone may have joined one of its sessions since it
    /// was found); nil when it is not. The entry is for the caller to log (and to record in the
    /// session's event log).
    public func deleteIfCaseEndedBefore(_ cutoff: Date, _ due: RetentionDue, at time: Date) -> RetentionDeletion? {
        let log = SessionEventLog(dataDir: paths.dataDir)
        let active = due.caseSessionIDs.map { (sessionID: $0, at: log.lastActivityTime(sessionID: $0)) }
        guard active.contains(where: { $0.sessionID == due.sessionID && $0.at != nil }),
              let caseActive = active.compactMap(\.at).max(), caseActive < cutoff,
              case .something = leftToDelete(sessionID: due.sessionID) else { return nil }
        var entry = RetentionDeletion(sessionID: due.sessionID, caseLastActiveAt: caseActive, recordingIDs: [])
        do {
            entry.recordingIDs = try deleteAll(sessionID: due.sessionID, at: time)
        } catch {
            entry.failure = "\(error)"
        }
        return entry
    }

    private enum LeftToDelete {
        case nothing
        case something
        /// These recordings are still in state `recording`: nothing may go.
        case heldBy([String])
    }

    private func leftToDelete(sessionID: String) -> LeftToDelete {
        let manifests = manifests(sessionID: sessionID)
        let unfinished = manifests.filter { $0.state == .recording }.map(\.recordingId)
        if !unfinished.isEmpty { return .heldBy(unfinished.sorted()) }
        return manifests.contains(where: { $0.state != .deleted }) || hasFiles(sessionID: sessionID) ? .something : .nothing
    }
}
