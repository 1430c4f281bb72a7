import Foundation

/// Consent and recording state of one session, kept by `RelayCore` on the lws thread (a value in
/// `RelayCore.recordingStates`; never shared).
struct SessionRecordingState {
    /// The family's last word on recording (restored from `session.jsonl` at start).
    var consent = false
    var childAgreed = false
    /// The family agreed that the session's supervisor (`SessionRecord.supervisor`) may watch the
    /// recordings too; only with `consent`. What `RelayCore.supervisorMayView` decides by.
    var supervisorMayView = false
    /// True once the family answered since the server started, or when consent was restored as
    /// given: `consent` is then a known answer, not just "not given" (the session list shows it).
    var consentKnown = false
    var tap = RecordingTap()
    /// Recordings of this session the relay knows and that still have media (marks may name only
    /// these): made since start, or restored from their manifests at start; emptied when consent is
    /// withdrawn (every recording is deleted then).
    var recordingIDs: Set<String> = []
    /// The last deletion of this session's recordings failed (a disk error): a withdrawal repeated
    /// runs it again.
    var deletionFailed = false
    /// Withdrawals whose deletion the writer has not yet answered (`RelayCore.withdrawalDeleted` or
    /// `recordingsDeletionFailed`): while any is on its way, a withdrawal repeated is not answered
    /// `deleted` (the files may still be there); the answer to the first one comes to both sides.
    var withdrawalsInFlight = 0
    /// HTTP withdrawals (`POST .../withdrawal`) waiting for the deletion under way: answered with its
    /// outcome (`RelayCore.takeWithdrawalWaiters`).
    var withdrawalWaiters: [ConnectionID] = []
    /// While a recording runs: when each side that is not connected left (or, for a family that was
    /// not there when recording started, when it started). A side away longer than
    /// `RelayLimits.reconnectGraceSeconds` stops the recording (`RelayCore.expireGracePeriods`).
    var awaySince: [Role: Date] = [:]
    /// Recordings asked to stop for another reason than the practitioner's `stop`, by id: the text
    /// goes into the `stopped` notice as `reason` once the writer confirms.
    var stopReasons: [String: String] = [:]

    /// Consent is withdrawn and nothing of the session is left to delete (none known, the last
    /// deletion did not fail): a withdrawal repeated now needs no disk work.
    var withdrawalSettled: Bool {
        consentKnown && !consent && recordingIDs.isEmpty && !deletionFailed
    }

    /// Forgets the running recording: nothing more is recorded and nobody is waited for.
    mutating func endRecording() {
        tap.stop()
        awaySince.removeAll()
    }
}
