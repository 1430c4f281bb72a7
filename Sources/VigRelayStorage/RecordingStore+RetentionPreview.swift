import Foundation
import VigRelayCore

/// What a retention pass would delete now, case by case, without deleting anything
/// (`vigrelay retention`): for an operator choosing or shortening `--retention`, or looking for
/// space, before a relay started with it deletes at once.
extension RecordingStore {
    /// One case with recordings or clips a retention pass would delete now.
    public struct RetentionPreviewCase: Sendable, Equatable {
        /// The practitioner and `caseRef` of its sessions (nil: a session without a case reference,
        /// a case of its own, or a record that cannot be read).
        public var owner: String?
        public var caseRef: String?
        /// When the case was last active (the newest activity in any of its sessions' logs).
        public var lastActiveAt: Date
        /// Its sessions with something to delete, sorted.
        public var sessionIDs: [String]
        /// Their recordings not deleted yet, and the media bytes those hold.
        public var recordings: Int
        public var bytes: Int64

        public init(owner: String?, caseRef: String?, lastActiveAt: Date, sessionIDs: [String], recordings: Int, bytes: Int64) {
            self.owner = owner
            self.caseRef = caseRef
            self.lastActiveAt = lastActiveAt
            self.sessionIDs = sessionIDs
            self.recordings = recordings
            self.bytes = bytes
        }
    }

    /// A pass's preview: the cases due, oldest first, and the sessions that would be due but are
    /// held by a recording still marked as being recorded (as `RetentionScan` says).
    public struct RetentionPreview: Sendable, Equatable {
        public var cases: [RetentionPreviewCase]
        public var heldByUnfinished: [String: [String]]

        public init(cases: [RetentionPreviewCase], heldByUnfinished: [String: [String]]) {
            self.cases = cases
            self.heldByUnfinished = heldByUnfinished
        }

        /// The totals over every case.
        public var sessions: Int { cases.reduce(0) { $0 + $1.sessionIDs.count } }
        public var recordings: Int { cases.reduce(0) { $0 + $1.recordings } }
        public var bytes: Int64 { cases.reduce(0) { $0 + $1.bytes } }
    }

    /// What `deleteIfCaseEndedBefore(cutoff, ...)` would delete for every session due now. Reads only.
    public func retentionPreview(_ cutoff: Date) -> RetentionPreview {
        let scan = retentionScan(cutoff)
        let records = SessionStore(dataDir: paths.dataDir), log = SessionEventLog(dataDir: paths.dataDir)
        let cases = Dictionary(grouping: scan.due, by: \.caseSessionIDs).map { caseSessionIDs, due in
            let record = records.load(sessionID: due[0].sessionID)
            let kept = due.flatMap { manifests(sessionID: $0.sessionID) }.filter { $0.state != .deleted }
            return RetentionPreviewCase(
                owner: record?.owner, caseRef: record?.caseRef,
                // The scan found it last active before the cutoff; a log read since may say later.
                lastActiveAt: caseSessionIDs.compactMap { log.lastActivityTime(sessionID: $0) }.max() ?? cutoff,
                sessionIDs: due.map(\.sessionID).sorted(), recordings: kept.count, bytes: kept.reduce(0) { $0 + $1.bytes })
        }
        return RetentionPreview(cases: cases.sorted { ($0.lastActiveAt, $0.sessionIDs[0]) < ($1.lastActiveAt, $1.sessionIDs[0]) },
                                heldByUnfinished: scan.heldByUnfinished)
    }
}
