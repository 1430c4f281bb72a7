/// What the HTTP API asks of the core about recordings: which one is running, and deletion on
/// request. Kept apart from the WebSocket recording messages (RelayCore+Recording.swift); lws thread.
extension RelayCore {
    /// The recording of a session being written now (or waiting for its first keyframe), if any.
    public func activeRecordingID(sessionID: String) -> String? {
        recordingStates[sessionID]?.tap.recordingID
    }

    /// `DELETE /v1/sessions/{id}/recordings`: stops any running recording and has the writer delete
    /// every recording and clip of the session, as consent withdrawal does, but consent stays as it
    /// is. The writer reports back (`recordingsDeleted` for the peers, the reply to `requester`).
    public func recordingsDeletionRequested(sessionID: String, requester: ConnectionID) -> [RelayAction] {
        // As on withdrawal: nothing more is recorded, nobody is waited for, and no deleted
        // recording may be marked.
        recordingStates[sessionID]?.endRecording()
        recordingStates[sessionID]?.recordingIDs.removeAll()
        sessionsAwaited.remove(sessionID)
        return [.recording(.deleteAllOnRequest(sessionID: sessionID, requester: requester))]
    }

    /// `POST /v1/sessions/{id}/withdrawal`: the family withdraws consent without joining, as its
    /// `consent` false does. `answerNow`: consent is withdrawn, nothing is left and no deletion is
    /// under way, so the request is answered at once with nothing deleted, and costs the shared disk
    /// writer nothing (a flood of them neither). Otherwise `requester` waits for the deletion under
    /// way, or the one these actions start (`takeWithdrawalWaiters`).
    public func withdrawalRequested(sessionID: String, requester: ConnectionID) -> (actions: [RelayAction], answerNow: Bool) {
        var state = recordingStates[sessionID] ?? SessionRecordingState()
        defer { recordingStates[sessionID] = state }
        if state.withdrawalSettled, state.withdrawalsInFlight == 0 { return ([], true) }
        state.withdrawalWaiters.append(requester)
        return (state.withdrawalSettled ? [] : withdraw(&state, sessionID: sessionID), false)
    }

    /// The HTTP withdrawals waiting for this session's deletion, now that the writer has answered
    /// it (`withdrawalDeleted` or `recordingsDeletionFailed`): the caller answers each.
    public func takeWithdrawalWaiters(sessionID: String) -> [ConnectionID] {
        defer { recordingStates[sessionID]?.withdrawalWaiters.removeAll() }
        return recordingStates[sessionID]?.withdrawalWaiters ?? []
    }
}
