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
    /// event with the reason, so a restart reads it back the same way. When a supervisor is named
    /// where there was none, or none is left, the family's page hears it too (`supervision`), so it
    /// shows or hides its question during the call rather than at its next connection.
    func supervisorRenamed(sessionID: String, wasSupervised: Bool) -> [RelayAction] {
        var actions: [RelayAction] = []
        if var state = recordingStates[sessionID], state.consent, state.supervisorMayView {
            state.supervisorMayView = false
            recordingStates[sessionID] = state
            actions += toBoth(sessionID, Self.consentNotice(recording: true, childAgreed: state.childAgreed))
                + [.recording(.consent(sessionID: sessionID, recording: true, childAgreed: state.childAgreed, supervisorMayView: false,
                                       reason: Self.supervisorChangedReason))]
        }
        let supervised = sessions[sessionID]?.supervisor != nil
        if supervised != wasSupervised, let family = connection(of: sessionID, role: .family) {
            actions.append(.send(family, .text(ControlEncoder.encode(["type": "supervision", "supervised": supervised]))))
        }
        return actions
    }

    /// The `reason` of the `consent` event logged when a new supervisor ended the family's agreement.
    public static let supervisorChangedReason = "supervisor changed"
}
