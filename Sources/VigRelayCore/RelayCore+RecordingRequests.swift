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
    /// `consent` false does; even a repeat runs the deletion, whose result answers `requester`.
    public func withdrawalRequested(sessionID: String, requester: ConnectionID) -> [RelayAction] {
        var state = recordingStates[sessionID] ?? SessionRecordingState()
        defer { recordingStates[sessionID] = state }
        return withdraw(&state, sessionID: sessionID, requester: requester)
    }
}
