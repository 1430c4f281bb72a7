/// The session's supervisor and the family's agreement that they may watch its recordings
/// (docs/RECORDING.md, "Who may watch"). Lws thread, like the rest of `RelayCore`.
extension RelayCore {
    /// Whether the session's supervisor may watch its recordings now: the family's consent to
    /// recording stands and includes them (given since start, or restored as given from the log).
    public func supervisorMayView(sessionID: String) -> Bool {
        guard let state = recordingStates[sessionID] else { return false }
        return state.consent && state.supervisorMayView
    }

    /// The practitioner named another supervisor (or one where there was none, or none). The family
    /// agreed that the supervisor named when they answered may watch, so that agreement ends here:
    /// nobody the family did not agree to watches. Both sides hear the consent as it now stands (the
    /// family's page unticks its box; they may tick it again), and the writer logs it as a `consent`
    /// event with the reason, so a restart reads it back the same way.
    func supervisorRenamed(sessionID: String) -> [RelayAction] {
        guard var state = recordingStates[sessionID], state.consent, state.supervisorMayView else { return [] }
        state.supervisorMayView = false
        recordingStates[sessionID] = state
        return toBoth(sessionID, Self.consentNotice(recording: true, childAgreed: state.childAgreed))
            + [.recording(.consent(sessionID: sessionID, recording: true, childAgreed: state.childAgreed, supervisorMayView: false,
                                   reason: Self.supervisorChangedReason))]
    }

    /// The `reason` of the `consent` event logged when a new supervisor ended the family's agreement.
    public static let supervisorChangedReason = "supervisor changed"
}
