import Foundation
import VigRelayCore

/// `vigrelay-client practitioner`: join a session as its practitioner, save the family's camera,
/// optionally send a screen stream.
public struct PractitionerRun: Sendable {
    /// Practitioner token of the session's creator.
    public var token: String
    /// The session to join (32 lower-case hex characters).
    public var sessionID: String
    /// Where camera payloads go (`-`: stdout), or nil to discard them.
    public var outputPath: String?
    /// Stop after this long even if the camera stream has not ended.
    public var durationSeconds: Double?
    /// A screen stream to send to the family.
    public var screen: SendPlan?
    /// Record the family's camera while joined (needs the family's consent), with marks.
    public var record: RecordPlan?
    /// Deadline for connecting and getting `welcome`.
    public var welcomeTimeoutSeconds = 10.0

    public init(token: String, sessionID: String, outputPath: String?, durationSeconds: Double?, screen: SendPlan?,
                record: RecordPlan? = nil) {
        self.token = token
        self.sessionID = sessionID
        self.outputPath = outputPath
        self.durationSeconds = durationSeconds
        self.screen = screen
        self.record = record
    }

    /// Runs until the camera stream ends, the duration passes, Ctrl-C, or the connection fails.
    /// `log` gets one line per event (from several threads). With `record`, returns what was recorded
    /// once the relay says the file is complete.
    @discardableResult
    public func run(loop: ClientLoop, log: @escaping @Sendable (String) -> Void) throws(ClientError) -> RecordingSummary? {
        guard Identifiers.isValidSessionID(sessionID) else {
            throw .usage("--session '\(sessionID)' is not a session id: 32 lower-case hex characters, as printed by 'vigrelay-client create'")
        }
        let screenSource = try screen?.makeSource()  // a missing file fails before connecting
        let sink = try outputPath.map { path throws(ClientError) in try PayloadSink(path: path) }
        sink?.setOnDrained { loop.wake() }
        let receiver = StreamReceiver(stream: .camera, sink: sink) { log("practitioner: \($0)") }
        let session = SessionConnection(loop: loop, role: .practitioner, sessionID: sessionID, token: token, observer: receiver,
                                        notices: [FamilyLinkRefusal.noticeType])
        session.start()
        _ = try session.waitForWelcome(seconds: welcomeTimeoutSeconds)
        var sender: MediaSender?
        if let screen, let (source, pacing) = screenSource {
            sender = MediaSender(session: session, stream: .screen, source: source, pacing: pacing,
                                 durationSeconds: screen.durationSeconds ?? durationSeconds)
            sender?.start()
        }
        let deadline = durationSeconds.map { Date().addingTimeInterval($0) } ?? .distantFuture
        let recorder = Recorder(session: session, events: receiver.recordingEvents, log: log)
        var recording: RecordingSummary?
        if let record {
            let id = try recorder.start(consentWaitSeconds: record.consentWaitSeconds)
            recording = RecordingSummary(recordingID: id, bytes: 0, frames: 0, durationMs: 0)
            for mark in record.marks {
                recording?.marks.append((try recorder.mark(recordingID: id, mark), mark.atMs))
            }
        }
        let stop = Interruption.wait(for: receiver.stop, until: deadline)
        if let started = recording {
            recording = try recorder.stop(recordingID: started.recordingID)
            recording?.marks = started.marks
            if let done = recording {
                log("practitioner: recording \(done.recordingID) complete: \(done.bytes) bytes, \(done.frames) frames, \(done.durationMs) ms")
            }
        }
        sender?.cancel()
        let sent = sender.flatMap { Interruption.wait(for: $0.finished, until: Date().addingTimeInterval(5)) }
        var failure: ClientError?
        switch stop {
        case .ended(.failed(let error))?: failure = error
        case .ended(.normal)?: failure = .protocolError("the relay closed the practitioner connection before the camera stream ended")
        case .endOfStream?, nil: break
        }
        if failure == nil {
            session.sendBye()
            _ = session.waitForEnd(seconds: 5)
        }
        do throws(ClientError) { try sink?.finish() } catch { failure = failure ?? error }
        let counts = receiver.counts
        log("practitioner: received \(counts.frames) camera frame(s), \(counts.payloadBytes) payload bytes"
            + (counts.skipped > 0 ? "; the relay skipped \(counts.skipped) frame(s), so the output has gaps" : "")
            + (stop == .endOfStream ? " (camera stream ended)" : stop == nil ? " (stopped: duration or Ctrl-C)" : ""))
        if let sent {
            log("practitioner: sent \(sent.frames) screen frame(s), \(sent.payloadBytes) payload bytes")
            if failure == nil, let error = sent.error { failure = error }
        }
        if let failure { throw failure }
        return recording
    }
}
