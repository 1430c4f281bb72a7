/// What the core knows in memory about sessions, for `GET /v1/sessions`: who is connected, consent
/// given since start, the running recording, the family's page turned away on an old link. Lws
/// thread, like the rest of `RelayCore`.
extension RelayCore {
    /// One page of `owner`'s sessions, newest first, after the session `before` (from the newest
    /// when nil); nil when `before` is not one of `owner`'s sessions. Looks at every session the
    /// relay knows (one pass, no I/O) and sorts the owner's.
    public func sessionList(owner: String, limit: Int, before: String?) -> SessionListPage? {
        SessionListPage.make(of: sessions.values.filter { $0.owner == owner }, limit: limit, before: before,
                             retentionSeconds: limits.retentionSeconds) {
            liveState(of: $0.id)
        }
    }

    /// One page of the sessions `supervisor` may watch now (named their supervisor, and the family
    /// agreed: `supervisorMayView`), as `sessionList(owner:)`; nil when `before` is not one of them.
    public func sessionList(supervisor: String, limit: Int, before: String?) -> SessionListPage? {
        SessionListPage.make(of: sessions.values.filter { $0.supervisor == supervisor && supervisorMayView(sessionID: $0.id) },
                             limit: limit, before: before, retentionSeconds: limits.retentionSeconds) {
            liveState(of: $0.id)
        }
    }

    /// Every session `owner` created, in no order, each with when it was first held since the server
    /// started, for the cycle log (one pass, no I/O; the reader thread adds what the event logs say
    /// of earlier runs).
    public func cycleLogSessions(owner: String) -> [CycleLog.Session] {
        sessions.values.filter { $0.owner == owner }.map { CycleLog.Session(record: $0, heldAt: sessionsHeldAt[$0.id]) }
    }

    /// The in-memory state of one session (all empty for a session nobody touched since start).
    public func liveState(of sessionID: String) -> SessionLiveState {
        let state = recordingStates[sessionID]
        let recordingID = state?.tap.recordingID
        return SessionLiveState(
            connected: [Role.family, .practitioner].filter { connection(of: sessionID, role: $0) != nil },
            joinedSinceStart: sessionsJoined.contains(sessionID),
            consent: state.flatMap { $0.consentKnown ? ConsentAnswer(recording: $0.consent, childAgreed: $0.childAgreed,
                                                                                       supervisorMayView: $0.supervisorMayView) : nil },
            recordingID: recordingID,
            awaiting: recordingID == nil ? [] : (state?.awaitingRoles ?? []),
            familyLinkRefusal: recentFamilyLinkRefusal(sessionID: sessionID, now: now()))
    }
}

extension SessionRecordingState {
    /// The sides `awaitingSince` names, `family` before `practitioner`.
    var awaitingRoles: [Role] { [Role.family, .practitioner].filter { awaySince[$0] != nil } }
}
