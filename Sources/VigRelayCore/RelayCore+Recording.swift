import Foundation

/// Consent, record start/stop and marks: the family consents, the practitioner records; the disk
/// work goes out as `RecordingCommand`s and the replies that must wait for it come back here.
extension RelayCore {
    /// Longest note on a mark, in Unicode scalars (so at most 2,000 bytes: a grapheme may hold any
    /// number of combining marks, so `String.count` bounds nothing). A browser's `maxlength`
    /// counts UTF-16 units, never fewer, so what the page lets through is within it.
    static let maxMarkNoteLength = 500

    /// Recordings running now (one per session at most). A walk over the sessions: for a once-a-second
    /// tick, not for every frame.
    public var runningRecordingCount: Int {
        recordingStates.values.count { $0.tap.recordingID != nil }
    }

    func recordingMessage(_ conn: ConnectionID, sessionID: String, role: Role, _ message: ControlMessage) -> [RelayAction] {
        func reply(_ code: RelayErrorCode, _ text: String) -> [RelayAction] {
            [.send(conn, .error(code, text, id: message.id))]
        }
        var state = recordingStates[sessionID] ?? SessionRecordingState()
        defer { recordingStates[sessionID] = state }
        switch message.type {
        case "consent":
            guard role == .family else { return reply(.notAllowed, "only the family can give or withdraw consent to recording") }
            guard let recording = message.bool("recording") else {
                return reply(.invalidMessage, "consent needs \"recording\": true or false")
            }
            func agreed(_ field: String) -> Bool { recording && message.bool(field) == true }
            let childAgreed = agreed("childAgreed"), supervisorMayView = agreed("supervisorMayView")
            let notice = Self.consentNotice(recording: recording, childAgreed: childAgreed, supervisorMayView: supervisorMayView)
            if recording ? (state.consentKnown && state.consent && state.childAgreed == childAgreed && state.supervisorMayView == supervisorMayView)
                         : state.withdrawalSettled {
                // The same answer again (a page that resends it on reconnecting, or a flood): both
                // sides hear it, but nothing is logged or deleted again (each costs the shared disk
                // writer a sync). A withdrawal while recordings are still known (restored after a
                // restart) or after a failed deletion deletes them again.
                var actions = toBoth(sessionID, notice)
                if !recording, state.withdrawalsInFlight == 0 {
                    // Nothing is left and no deletion is on its way: the family, whose page waits for
                    // the answer to its withdrawal, is told at once that nothing of it is kept.
                    actions.append(.send(conn, .text(Self.deletedNotice([]))))
                }
                return actions
            }
            if !recording { return withdraw(&state, sessionID: sessionID) }
            state.consent = true
            state.childAgreed = childAgreed
            state.supervisorMayView = supervisorMayView
            state.consentKnown = true
            return toBoth(sessionID, notice) + [.recording(.consent(sessionID: sessionID, recording: true, childAgreed: childAgreed,
                                                                    supervisorMayView: supervisorMayView))]
        case "record":
            guard role == .practitioner else { return reply(.notAllowed, "only the practitioner can start or stop recording") }
            switch message.string("action") {
            case "start":
                guard state.consent else {
                    return reply(.consentRequired, "the family has not consented to recording; ask them to give consent on their page first")
                }
                if let current = state.tap.recordingID {
                    return reply(.alreadyRecording, "recording \(current) is already running; stop it first")
                }
                guard !diskSpaceLow else {
                    return reply(.diskSpaceLow, "the relay is low on disk space, so a new recording cannot start; the live video goes on. Ask whoever runs the relay to free space, then start recording again")
                }
                let id = Identifiers.randomHex(bytes: 8)
                state.tap.start(id: id)
                state.recordingIDs.insert(id)
                var actions: [RelayAction] = [.recording(.start(sessionID: sessionID, recordingID: id))]
                if connection(of: sessionID, role: .family) == nil {
                    // Nobody streams yet: the recording waits for the family as for one that left.
                    actions += startAwaiting(&state, sessionID: sessionID, recordingID: id, role: .family)
                }
                return actions + toBoth(sessionID, ControlEncoder.encode(["type": "recording", "state": "started", "recordingId": id]))
            case "stop":
                guard let id = state.tap.recordingID else { return reply(.notRecording, "no recording is running") }
                state.endRecording()
                sessionsAwaited.remove(sessionID)
                return [.recording(.stop(sessionID: sessionID, recordingID: id))]
            default:
                return reply(.invalidMessage, "record needs \"action\": \"start\" or \"stop\"")
            }
        case "unmark", "note":
            guard role == .practitioner else {
                return reply(.notAllowed, message.type == "unmark" ? "only the practitioner can remove marks" : "only the practitioner can change a mark's note")
            }
            guard let id = message.string("recordingId"), state.recordingIDs.contains(id) else {
                return reply(.recordingNotFound, "\(message.type) needs the \"recordingId\" of the mark's recording, a recording of this session that was not deleted")
            }
            guard let markID = message.string("markId"), Identifiers.isValidMarkID(markID) else {
                return reply(.invalidMessage, "\(message.type) needs \"markId\": the id the relay gave the mark in \"marked\" (16 lower-case hex characters)")
            }
            guard message.type == "note" else {
                return [.recording(.unmark(sessionID: sessionID, recordingID: id, markID: markID, replyID: message.id))]
            }
            guard let note = message.string("note"), note.unicodeScalars.count <= Self.maxMarkNoteLength else {
                return reply(.invalidMessage, "note needs \"note\": the mark's new note, at most \(Self.maxMarkNoteLength) characters (Unicode scalars); \"\" leaves it without one")
            }
            return [.recording(.renote(sessionID: sessionID, recordingID: id, markID: markID, note: note, replyID: message.id))]
        default:  // "mark"
            guard role == .practitioner else { return reply(.notAllowed, "only the practitioner can mark moments") }
            guard let id = message.string("recordingId"), state.recordingIDs.contains(id) else {
                return reply(.recordingNotFound, "mark needs the \"recordingId\" of a recording of this session")
            }
            guard let at = message.wholeNumber("atMs"), at >= 0 else {
                return reply(.invalidMessage, "mark needs \"atMs\": milliseconds from the recording's start (a whole number >= 0)")
            }
            let note = message.string("note") ?? ""
            guard note.unicodeScalars.count <= Self.maxMarkNoteLength else {
                return reply(.invalidMessage, "a mark's note may have at most \(Self.maxMarkNoteLength) characters (Unicode scalars); shorten it")
            }
            let markID = Identifiers.randomHex(bytes: 8)
            return [.recording(.mark(sessionID: sessionID, recordingID: id, markID: markID, atMs: Int64(at), note: note, replyID: message.id))]
        }
    }

    /// The space left on the data directory's file system was measured (at start, then by the disk
    /// writer once a second). When this moved it across `limits.minFreeSpaceBytes`, in either
    /// direction, returns what every joined practitioner is told (`recording_space`), so that one
    /// about to film knows before pressing Start; nil otherwise. The server logs each change once.
    public func diskSpaceMeasured(availableBytes: Int64) -> [RelayAction]? {
        let low = availableBytes < limits.minFreeSpaceBytes
        guard low != diskSpaceLow else { return nil }
        diskSpaceLow = low
        let notice = Self.recordingSpaceNotice(low: low)
        return joinedPractitioners.map { .send($0, .text(notice)) }
    }

    /// `{"type":"recording_space","low":true|false}`: whether a recording can start for lack of disk
    /// space, to practitioners (after `welcome` when it cannot, and when that changes).
    static func recordingSpaceNotice(low: Bool) -> [UInt8] {
        ControlEncoder.encode(["type": "recording_space", "low": low])
    }

    /// Passes every camera frame through the session's recording tap, recording or not: a recording
    /// started later needs the stream's init segment and its cluster positions.
    /// Frames without payload (an end-of-stream marker) add nothing to a recording. What to append goes on `actions`.
    func tapCamera(sessionID: String, header: MediaFrameHeader, _ bytes: [UInt8], into actions: inout [RelayAction]) {
        guard bytes.count > MediaFrameHeader.size || header.flags.contains(.initSegment) else { return }
        for chunk in recordingStates[sessionID, default: SessionRecordingState()].tap.frame(header, bytes) {
            actions.append(.recording(.append(sessionID: sessionID, chunk)))
        }
    }

    /// The writer flushed and closed a recording: tell both sides (the file is complete on disk now).
    /// A stop for another reason than the practitioner's (the grace expired) says so in `reason`.
    public func recordingStopped(sessionID: String, recordingID: String, bytes: Int64, frames: Int, durationMs: Int64) -> [RelayAction] {
        var notice: [String: Any] = ["type": "recording", "state": "stopped", "recordingId": recordingID,
                                     "bytes": bytes, "frames": frames, "durationMs": durationMs]
        if let reason = recordingStates[sessionID]?.stopReasons.removeValue(forKey: recordingID) { notice["reason"] = reason }
        return toBoth(sessionID, ControlEncoder.encode(notice))
    }

    /// Consent withdrawn (the family's `consent` false, or its `POST .../withdrawal`): both sides
    /// hear it, it is logged, any recording stops and every recording and clip of the session is
    /// deleted; none may be marked any more.
    func withdraw(_ state: inout SessionRecordingState, sessionID: String) -> [RelayAction] {
        state.consent = false
        state.childAgreed = false
        state.supervisorMayView = false
        state.consentKnown = true
        state.endRecording()
        state.recordingIDs.removeAll()
        state.deletionFailed = false
        state.withdrawalsInFlight += 1
        sessionsAwaited.remove(sessionID)
        return toBoth(sessionID, Self.consentNotice(recording: false, childAgreed: false)) + [
            .recording(.consent(sessionID: sessionID, recording: false, childAgreed: false)),
            .recording(.deleteAll(sessionID: sessionID)),
        ]
    }

    /// The writer deleted every recording of the session (a request, retention).
    public func recordingsDeleted(sessionID: String, recordingIDs: [String]) -> [RelayAction] {
        // A deleted recording can no longer be marked.
        recordingStates[sessionID]?.recordingIDs.subtract(recordingIDs)
        return toBoth(sessionID, Self.deletedNotice(recordingIDs))
    }

    /// The writer deleted every recording of the session after a consent withdrawal.
    public func withdrawalDeleted(sessionID: String, recordingIDs: [String]) -> [RelayAction] {
        withdrawalAnswered(sessionID)
        return recordingsDeleted(sessionID: sessionID, recordingIDs: recordingIDs)
    }

    /// `{"type":"recording","state":"deleted","recordingIds":[...]}`: these recordings (and every
    /// other of the session) are gone.
    static func deletedNotice(_ recordingIDs: [String]) -> [UInt8] {
        ControlEncoder.encode(["type": "recording", "state": "deleted", "recordingIds": recordingIDs.sorted()])
    }

    private func withdrawalAnswered(_ sessionID: String) {
        if let inFlight = recordingStates[sessionID]?.withdrawalsInFlight, inFlight > 0 {
            recordingStates[sessionID]?.withdrawalsInFlight = inFlight - 1
        }
    }

    /// The disk writer has dealt with a `mark`, an `unmark` or a `note`: the practitioner is told
    /// (`marked`, `unmarked` or `noted`, or why not), with the id of their message. Nothing if they
    /// are not connected: the summary shows the marks.
    public func markChanged(sessionID: String, recordingID: String, markID: String, edit: MarkEdit, replyID: MessageID?,
                            outcome: MarkChange) -> [RelayAction] {
        guard let practitioner = connection(of: sessionID, role: .practitioner) else { return [] }
        let message: OutboundMessage
        switch (outcome, edit) {
        case (.done, _):
            let type = switch edit { case .made: "marked"; case .removed: "unmarked"; case .renoted: "noted" }
            message = .text(ControlEncoder.encode(["type": type, "markId": markID, "recordingId": recordingID], id: replyID))
        case (.notFound, .made):
            message = .error(.recordingNotFound, "recording \(recordingID) was deleted before the mark could be kept: nothing was marked", id: replyID)
        case (.notFound, _):
            message = .error(.markNotFound, "recording \(recordingID) has no mark \(markID) (it was removed already, or the id is not one from \"marked\"); the session's summary lists the marks", id: replyID)
        case (.failed, _):
            let what = switch edit { case .made: "saved"; case .removed: "removed"; case .renoted: "given its new note" }
            let again = edit == .made ? "mark the moment again" : "try again"
            message = .error(.internalError, "mark \(markID) could not be \(what) (a disk error on the relay); \(again), and tell the operator if it persists", id: replyID)
        }
        return [.send(practitioner, message)]
    }

    /// Deleting the session's recordings after a withdrawal failed (a disk error): both sides are told,
    /// and the family's next withdrawal tries again. Nothing is recorded meanwhile (consent stays withdrawn).
    public func recordingsDeletionFailed(sessionID: String) -> [RelayAction] {
        withdrawalAnswered(sessionID)
        recordingStates[sessionID, default: SessionRecordingState()].deletionFailed = true
        let text = "the recordings of this session could not all be deleted (a disk error on the relay; the operator's log says which); "
            + "withdraw consent again to retry, and tell the operator if it persists"
        return connections(of: sessionID).map { .send($0, .error(.internalError, text)) }
    }

    /// A write failed: recording stops, the live relay goes on, what was written stays readable.
    public func recordingFailed(sessionID: String, recordingID: String, reason: String) -> [RelayAction] {
        if recordingStates[sessionID]?.tap.recordingID == recordingID {
            recordingStates[sessionID]?.endRecording()
            sessionsAwaited.remove(sessionID)
        }
        recordingStates[sessionID]?.stopReasons[recordingID] = nil
        var actions = toBoth(sessionID, ControlEncoder.encode(["type": "recording", "state": "failed", "recordingId": recordingID]))
        if let practitioner = connection(of: sessionID, role: .practitioner) {
            actions.append(.send(practitioner, .error(.recordingFailed,
                "recording \(recordingID) stopped: \(reason); what was written is kept. The live video goes on.")))
        }
        return actions
    }

    /// `{"type":"consent","recording":...[,"childAgreed":true][,"supervisorMayView":true]}`: the
    /// family's answer as both sides hear it, and as a family joining again hears the answer that stands.
    static func consentNotice(recording: Bool, childAgreed: Bool, supervisorMayView: Bool = false) -> [UInt8] {
        var notice: [String: Any] = ["type": "consent", "recording": recording]
        if childAgreed { notice["childAgreed"] = true }
        if supervisorMayView { notice["supervisorMayView"] = true }
        return ControlEncoder.encode(notice)
    }

    func toBoth(_ sessionID: String, _ bytes: [UInt8]) -> [RelayAction] {
        connections(of: sessionID).map { .send($0, .text(bytes)) }
    }
}
