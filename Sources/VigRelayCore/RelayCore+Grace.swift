import Foundation

/// Reconnects during a recording, and recording state carried over a restart.
///
/// A side that leaves while a recording runs does not stop it: the recording waits for it for
/// `limits.reconnectGraceSeconds` (the `--reconnect-grace`, default 2 minutes). The family away
/// means no media (the recording is paused); the camera stream that follows its return begins with
/// an init segment and becomes the next part of the same recording (see `RecordingTap.streamEnded`).
/// The practitioner away means the family's camera is still recorded, unattended. A side not back
/// within the grace stops the recording exactly as the practitioner's `stop` would, with the reason
/// `grace expired`; `expireGracePeriods` checks this on the server's one-second tick. Lws thread only,
/// like the rest of `RelayCore`.
extension RelayCore {
    /// A side joined, or a newer connection of it replaced the old one. A family connection always
    /// starts a new camera stream; a family whose consent stands is told so (its page, opened again
    /// or reloaded, would otherwise show consent not given while the practitioner may record); the
    /// joiner is told of a running recording; a side that was away is back.
    func recordingSideJoined(_ conn: ConnectionID, sessionID: String, role: Role, replacing: Bool) -> [RelayAction] {
        guard var state = recordingStates[sessionID] else { return [] }
        defer { recordingStates[sessionID] = state }
        if role == .family && replacing { state.tap.streamEnded() }
        var actions: [RelayAction] = []
        if role == .family, state.consent {
            actions.append(.send(conn, .text(Self.consentNotice(recording: true, childAgreed: state.childAgreed,
                                                                supervisorMayView: state.supervisorMayView))))
        }
        guard let rid = state.tap.recordingID else { return actions }
        actions.append(.send(conn, .text(ControlEncoder.encode(["type": "recording", "state": "running", "recordingId": rid]))))
        if let since = state.awaySince.removeValue(forKey: role) {
            let awayMs = max(0, Int64((now().timeIntervalSince(since) * 1000).rounded()))
            actions.append(.recording(.back(sessionID: sessionID, recordingID: rid, role: role, awayMs: awayMs)))
        }
        if state.awaySince.isEmpty { sessionsAwaited.remove(sessionID) }
        return actions
    }

    /// A side's connection ended (not at shutdown). The family's camera stream ends with it; a
    /// running recording starts waiting for that side.
    func recordingSideLeft(sessionID: String, role: Role) -> [RelayAction] {
        guard !isShuttingDown, var state = recordingStates[sessionID] else { return [] }
        defer { recordingStates[sessionID] = state }
        if role == .family { state.tap.streamEnded() }
        guard let rid = state.tap.recordingID else { return [] }
        return startAwaiting(&state, sessionID: sessionID, recordingID: rid, role: role)
    }

    /// Notes that the recording waits for `role` from now on.
    func startAwaiting(_ state: inout SessionRecordingState, sessionID: String, recordingID: String, role: Role) -> [RelayAction] {
        guard state.awaySince[role] == nil else { return [] }
        state.awaySince[role] = now()
        sessionsAwaited.insert(sessionID)
        return [.recording(.away(sessionID: sessionID, recordingID: recordingID, role: role))]
    }

    /// Stops every recording that has waited longer than the grace for a side that has not come
    /// back, as a practitioner's stop would (the `stopped` notice follows once the writer has flushed
    /// and closed the file, with `"reason":"grace expired"`). The server calls it every second.
    public func expireGracePeriods() -> [RelayAction] {
        guard !sessionsAwaited.isEmpty else { return [] }
        let time = now()
        let grace = TimeInterval(limits.reconnectGraceSeconds)
        var actions: [RelayAction] = []
        for sessionID in sessionsAwaited.sorted() {
            guard var state = recordingStates[sessionID], let rid = state.tap.recordingID, !state.awaySince.isEmpty else {
                sessionsAwaited.remove(sessionID)
                continue
            }
            let expired = state.awaySince.filter { time.timeIntervalSince($0.value) >= grace }
            guard let first = expired.min(by: { ($0.value, $0.key.rawValue) < ($1.value, $1.key.rawValue) }) else { continue }
            let reason = RecordingStopReason.graceExpired(away: first.key)
            state.endRecording()
            state.stopReasons[rid] = reason.text
            recordingStates[sessionID] = state
            sessionsAwaited.remove(sessionID)
            actions.append(.recording(.stop(sessionID: sessionID, recordingID: rid, reason: reason)))
        }
        return actions
    }

    /// Restores what a previous run of the server knew about a session's recording (the server calls
    /// it at start, before listening): the family's last consent, and the recordings on disk that
    /// still have media (so marks may name them). Unknown sessions are ignored.
    public func restoreRecording(sessionID: String, consent: Bool, childAgreed: Bool, supervisorMayView: Bool = false,
                                 recordingIDs: [String]) {
        guard sessions[sessionID] != nil else { return }
        var state = recordingStates[sessionID] ?? SessionRecordingState()
        state.consent = consent
        state.childAgreed = consent && childAgreed
        state.supervisorMayView = consent && supervisorMayView
        // Restored "not given" may be a withdrawal, no answer or a damaged log: the list reads the log.
        state.consentKnown = consent
        state.recordingIDs.formUnion(recordingIDs)
        recordingStates[sessionID] = state
    }
}
