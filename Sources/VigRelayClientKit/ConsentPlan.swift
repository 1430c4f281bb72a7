import Foundation

/// What `family --consent` / `--withdraw-consent` do: the family's consent to recording.
public struct ConsentPlan: Sendable, Equatable {
    /// Consent to recording before sending the camera stream.
    public var give: Bool
    /// With `give`: a child aged 12 or over in the film agreed too.
    public var childAgreed: Bool
    /// With `give`: the practitioner's supervisor may watch the recordings too.
    public var supervisorMayView: Bool
    /// After the camera stream ends: withdraw consent and wait until the relay has deleted every
    /// recording of the session.
    public var withdrawAtEnd: Bool
    /// With `give`: before sending, wait up to this long for the practitioner to start recording, so
    /// the recording holds the whole stream.
    public var waitForRecordingSeconds: Double?

    public init(give: Bool, childAgreed: Bool = false, supervisorMayView: Bool = false, withdrawAtEnd: Bool = false,
                waitForRecordingSeconds: Double? = nil) {
        self.give = give
        self.childAgreed = childAgreed
        self.supervisorMayView = supervisorMayView
        self.withdrawAtEnd = withdrawAtEnd
        self.waitForRecordingSeconds = waitForRecordingSeconds
    }
}

/// The family's side of consent: send it, and wait for the relay's confirmation.
///
/// Thread: the command's thread; answers arrive on the lws thread through `RecordingEvents`.
struct ConsentGiver {
    let session: SessionConnection
    let events: RecordingEvents
    let log: @Sendable (String) -> Void
    var answerSeconds = 15.0

    /// Consents to recording; returns once both sides were told.
    func give(childAgreed: Bool, supervisorMayView: Bool) throws(ClientError) {
        var message: [String: Any] = ["type": "consent", "recording": true]
        if childAgreed { message["childAgreed"] = true }
        if supervisorMayView { message["supervisorMayView"] = true }
        try send(message, "consent")
        try expect(.consent(recording: true), "consent")
        log("family: consent to recording given")
    }

    /// Waits until the practitioner started a recording; returns its id.
    func waitForRecording(seconds: Double) throws(ClientError) -> String {
        let started = events.next(until: Date().addingTimeInterval(seconds)) {
            if case .started = $0 { return true } else { return false }
        }
        guard case .started(let id)? = started else {
            throw .protocolError("the practitioner did not start recording within \(Int(seconds)) s; nothing was sent")
        }
        log("family: recording \(id) started; sending")
        return id
    }

    /// Withdraws consent; returns once the relay says every recording of the session is deleted.
    func withdraw() throws(ClientError) {
        try send(["type": "consent", "recording": false], "the consent withdrawal")
        try expect(.consent(recording: false), "the consent withdrawal")
        let deleted = events.next(until: Date().addingTimeInterval(answerSeconds)) {
            if case .deleted = $0 { return true } else { return false }
        }
        guard case .deleted(let ids)? = deleted else {
            throw .protocolError("the relay did not confirm within \(Int(answerSeconds)) s that the recordings were deleted")
        }
        log("family: consent withdrawn; the relay deleted \(ids.count) recording(s)" + (ids.isEmpty ? "" : ": \(ids.joined(separator: ", "))"))
    }

    private func send(_ message: [String: Any], _ what: String) throws(ClientError) {
        guard session.sendControl(message) else {
            throw session.ended.current?.error ?? .protocolError("the family connection ended before \(what) was sent")
        }
    }

    private func expect(_ event: RecordingEvent, _ what: String) throws(ClientError) {
        let answer = events.next(until: Date().addingTimeInterval(answerSeconds)) {
            if case .error = $0 { return true }
            return $0 == event
        }
        switch answer {
        case .error(let code, let message)?: throw .protocolError("the relay refused \(what) (\(code)): \(message)")
        case nil: throw .protocolError("no answer from the relay to \(what) within \(Int(answerSeconds)) s")
        default: return
        }
    }
}
