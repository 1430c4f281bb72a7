import Foundation

/// One session as `GET /v1/sessions` lists it: what the core knows in memory (who is connected,
/// consent given since start, the running recording) combined with what is on disk (recordings,
/// clips, the event log). Memory wins where both know something: it is newer than the disk, whose
/// events the writer thread appends a moment later. Pure value.
public struct SessionListEntry: Sendable, Equatable {
    /// Where the session stands.
    public enum State: String, Sendable {
        /// Nobody has joined yet.
        case new
        /// At least one side is connected now.
        case live
        /// Nobody is connected now, but someone was.
        case ended
    }

    /// The family's consent at a glance.
    public enum Consent: String, Sendable {
        /// Never answered (or a damaged log leaves it in doubt: the relay does not record then).
        case none
        case given
        case withdrawn
    }

    /// Recording at a glance.
    public enum Recording: String, Sendable {
        /// Nothing recorded, or everything recorded was deleted.
        case idle
        /// A recording is running (or waiting for a side that left, or for the first keyframe).
        case recording
        /// Not recording; recordings are kept.
        case stopped
    }

    public var session: SessionRecord
    public var state: State
    public var connected: [Role]
    public var consent: Consent
    public var childAgreed: Bool
    /// The family agreed that the session's supervisor may watch the recordings.
    public var supervisorMayView: Bool
    public var recording: Recording
    /// The running recording.
    public var recordingID: String?
    /// Sides the running recording waits for.
    public var awaiting: [Role]
    /// Recordings kept (the running one included even before its manifest is on disk).
    public var recordingCount: Int
    public var recordingBytes: Int64
    public var deletedRecordingCount: Int
    public var clipCount: Int
    public var lastActivityAt: Date?
    /// The family's page turned away on an old link within the hour, and when.
    public var familyLinkRefusal: RefusedFamilyLink?

    /// Combines a page item with the facts the reader thread found.
    public init(_ item: SessionListPage.Item, facts: SessionDiskFacts) {
        let live = item.live
        session = item.session
        connected = live.connected
        state = !live.connected.isEmpty ? .live : (live.joinedSinceStart || facts.joined) ? .ended : .new
        let answer = live.consent ?? facts.consent
        consent = answer.map { $0.recording ? .given : .withdrawn } ?? .none
        childAgreed = answer?.childAgreed ?? false
        supervisorMayView = answer?.supervisorMayView ?? false
        recordingID = live.recordingID
        awaiting = live.recordingID == nil ? [] : live.awaiting
        var kept = Set(facts.recordingIDs)
        if let running = live.recordingID { kept.insert(running) }
        recordingCount = kept.count
        recordingBytes = facts.recordingBytes
        deletedRecordingCount = facts.deletedRecordings
        clipCount = facts.clips
        recording = live.recordingID != nil ? .recording : kept.isEmpty ? .idle : .stopped
        lastActivityAt = facts.lastEventAt
        familyLinkRefusal = live.familyLinkRefusal
    }

    /// The entry as JSON (docs/PROTOCOL.md, `GET /v1/sessions`).
    public var json: [String: Any] {
        var out: [String: Any] = [
            "sessionId": session.id,
            "createdAt": UTCTime.format(session.createdAt),
            // When the family's newest link stops working: the page says when a new one is needed.
            "inviteExpiresAt": UTCTime.format(session.inviteExpiresAt),
            "state": state.rawValue,
            "connected": connected.map(\.rawValue),
            "consent": consent.rawValue,
            "childAgreed": childAgreed,
            "supervisorMayView": supervisorMayView,
            "recordingState": recording.rawValue,
            "recordingCount": recordingCount,
            "recordingBytes": recordingBytes,
            "deletedRecordingCount": deletedRecordingCount,
            "clipCount": clipCount,
        ]
        if let c = session.caseRef { out["caseRef"] = c }
        if let c = session.cycle { out["cycle"] = c }
        if let p = session.purpose { out["purpose"] = p.rawValue }
        if let s = session.supervisor { out["supervisor"] = s }
        out["practitioner"] = session.owner
        if let id = recordingID { out["recordingId"] = id }
        if !awaiting.isEmpty { out["awaiting"] = awaiting.map(\.rawValue) }
        if let at = lastActivityAt { out["lastActivityAt"] = UTCTime.format(at) }
        if let refusal = familyLinkRefusal {
            out["familyLinkRefused"] = refusal.reason.rawValue
            out["familyLinkRefusedAt"] = UTCTime.format(refusal.at)
        }
        return out
    }
}
