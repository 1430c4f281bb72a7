import Foundation
import VigRelayCore

/// `vigrelay-client family`: join with an invite, send the camera stream, say `bye`.
public struct FamilyRun: Sendable {
    /// The session and the family's invite token.
    public var invite: InviteLink
    /// What to send as the camera stream, and how fast.
    public var camera: SendPlan
    /// Where screen payloads from the practitioner go (`-`: stdout), or nil to discard them.
    public var outputPath: String?
    /// Wait (up to this long) for the practitioner before sending; nil sends at once.
    public var waitForPeerSeconds: Double?
    /// Consent to recording given before sending and/or withdrawn after; nil leaves it as it is.
    public var consent: ConsentPlan?
    /// Deadline for connecting and getting `welcome`.
    public var welcomeTimeoutSeconds = 10.0

    public init(invite: InviteLink, camera: SendPlan, outputPath: String?, waitForPeerSeconds: Double?, consent: ConsentPlan? = nil) {
        self.invite = invite
        self.camera = camera
        self.outputPath = outputPath
        self.waitForPeerSeconds = waitForPeerSeconds
        self.consent = consent
    }

    /// Sends until the input or the duration ends (or Ctrl-C), then end of stream and `bye`; returns
    /// once the relay closed the connection, i.e. everything was written and read.
    public func run(loop: ClientLoop, log: @escaping @Sendable (String) -> Void) throws(ClientError) {
        let (source, pacing) = try camera.makeSource()  // a missing file fails before connecting
        let sink = try outputPath.map { path throws(ClientError) in try PayloadSink(path: path) }
        sink?.setOnDrained { loop.wake() }
        try checkLink(loop: loop)
        let receiver = StreamReceiver(stream: .screen, sink: sink) { log("family: \($0)") }
        let session = SessionConnection(loop: loop, role: .family, sessionID: invite.sessionID, token: invite.token, observer: receiver)
        session.start()
        _ = try session.waitForWelcome(seconds: welcomeTimeoutSeconds)
        if let wait = waitForPeerSeconds,
           Interruption.wait(for: receiver.peerJoined, until: Date().addingTimeInterval(wait)) == nil {
            throw .protocolError("the practitioner did not join within \(Int(wait)) s")
        }
        let consenter = ConsentGiver(session: session, events: receiver.recordingEvents, log: log)
        if let consent, consent.give {
            try consenter.give(childAgreed: consent.childAgreed, supervisorMayView: consent.supervisorMayView)
            if let wait = consent.waitForRecordingSeconds { _ = try consenter.waitForRecording(seconds: wait) }
        }
        let sender = MediaSender(session: session, stream: .camera, source: source, pacing: pacing, durationSeconds: camera.durationSeconds)
        sender.start()
        guard let sent = sender.finished.wait(until: .distantFuture) else { throw .protocolError("the camera sender did not stop") }
        var failure = sent.error
        if failure == nil, consent?.withdrawAtEnd == true {
            do throws(ClientError) { try consenter.withdraw() } catch { failure = error }
        }
        if failure == nil {
            session.sendBye()
            switch session.waitForEnd(seconds: 10) {
            case .normal?: break
            case .failed(let error)?: failure = error
            case nil: failure = .protocolError("the relay did not close the connection within 10 s of bye; the end of the stream may not have reached it")
            }
        }
        do throws(ClientError) { try sink?.finish() } catch { failure = failure ?? error }
        let seconds = Double(MonotonicClock.nanoseconds() - sent.startNanoseconds) / 1e9
        log("family: sent \(sent.frames) camera frame(s), \(sent.payloadBytes) payload bytes in \(String(format: "%.2f", seconds)) s"
            + (outputPath == nil ? "" : "; received \(receiver.counts.frames) screen frame(s), \(receiver.counts.payloadBytes) payload bytes"))
        if let failure { throw failure }
    }

    /// Asks whether the link still joins before connecting, as the family's page does
    /// (`GET /v1/sessions/{id}/invite?from=family`): a link that expired or was replaced is refused
    /// here (exit 3), and the practitioner in the session is told. Any other answer, or none within
    /// 5 s, leaves it to the hello.
    private func checkLink(loop: ClientLoop) throws(ClientError) {
        do {
            _ = try RecordingAPI.request(loop, "GET", "/v1/sessions/\(invite.sessionID)/invite?from=family", token: invite.token,
                                         timeoutSeconds: 5)
        } catch {
            if case .tokenRefused = error { throw error }
        }
    }
}
