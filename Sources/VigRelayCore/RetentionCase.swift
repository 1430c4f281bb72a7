import Foundation

/// The sessions of one case, as retention counts them: their recordings are kept until the case's
/// last session ended longer ago than the retention period, not each session's own.
///
/// VIG services erase the videos "within about two months of the end of the work": a filming in
/// cycle 1 is still part of the work while cycle 3 goes on. A case is a practitioner's `caseRef`
/// (the same reference from another practitioner is another family); a session without one is a
/// case of its own. Pure: the storage layer reads the records and logs, this decides.
public struct RetentionCase: Sendable, Equatable {
    /// The case's sessions, sorted.
    public var sessionIDs: [String]
    /// When the case was last active: the latest activity of any of its sessions (nil when none has any).
    public var lastActiveAt: Date?

    public init(sessionIDs: [String], lastActiveAt: Date?) {
        self.sessionIDs = sessionIDs
        self.lastActiveAt = lastActiveAt
    }

    /// One session as retention sees it.
    public struct Session: Sendable, Equatable {
        public var id: String
        /// The practitioner who created it; nil when its record cannot be read.
        public var owner: String?
        public var caseRef: String?
        /// Its newest event other than a deletion (see `SessionEventLog.lastActivityTime`).
        public var lastActiveAt: Date?

        public init(id: String, owner: String?, caseRef: String?, lastActiveAt: Date?) {
            self.id = id
            self.owner = owner
            self.caseRef = caseRef
            self.lastActiveAt = lastActiveAt
        }
    }

    /// The cases of `sessions`, each session in exactly one, sorted by their first session id.
    public static func cases(of sessions: [Session]) -> [RetentionCase] {
        var byKey: [String: RetentionCase] = [:]
        for session in sessions {
            // A record that cannot be read, or has no caseRef, makes a case of its own.
            let key = session.owner.flatMap { owner in session.caseRef.map { "case\u{0}\(owner)\u{0}\($0)" } } ?? "session\u{0}\(session.id)"
            var group = byKey[key] ?? RetentionCase(sessionIDs: [], lastActiveAt: nil)
            group.sessionIDs.append(session.id)
            if let active = session.lastActiveAt, group.lastActiveAt.map({ active > $0 }) ?? true {
                group.lastActiveAt = active
            }
            byKey[key] = group
        }
        return byKey.values
            .map { RetentionCase(sessionIDs: $0.sessionIDs.sorted(), lastActiveAt: $0.lastActiveAt) }
            .sorted { $0.sessionIDs[0] < $1.sessionIDs[0] }
    }
}
