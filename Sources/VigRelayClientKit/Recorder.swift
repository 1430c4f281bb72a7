import Foundation
import VigRelayCore

/// A mark to make on the recording: `1500` or `1500:a nice moment` (milliseconds from its start).
public struct MarkRequest: Sendable, Equatable {
    public var atMs: Int
    public var note: String

    /// Reads `MS` or `MS:NOTE`.
    public init(parsing text: String) throws(ClientError) {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard let ms = Int(parts[0]), ms >= 0 else {
            throw .usage("--mark '\(text)' is not MS or MS:NOTE, e.g. 1500 or '1500:she smiles back' (milliseconds from the recording's start)")
        }
        atMs = ms
        note = parts.count > 1 ? String(parts[1]) : ""
    }
}

/// What `practitioner --record` does: record the family's camera while joined, with these marks.
public struct RecordPlan: Sendable {
    /// Marks sent once the recording has started.
    public var marks: [MarkRequest]
    /// How long to wait for the family's consent when the relay answers `consent_required`.
    public var consentWaitSeconds: Double

    public init(marks: [MarkRequest] = [], consentWaitSeconds: Double = 60) {
        self.marks = marks
        self.consentWaitSeconds = consentWaitSeconds
    }
}

/// Drives one recording from the practitioner's side: start (waiting for the family's consent when it
/// has not been given yet), marks, stop. Each request waits for the relay's answer with a deadline.
///
/// Thread: the command's thread; the answers arrive on the lws thread through `RecordingEvents`.
struct Recorder {
    let session: SessionConnection
    let events: RecordingEvents
    let log: @Sendable (String) -> Void
    /// Longest wait for an answer to one request.
    var answerSeconds = 15.0

    /// Starts recording; returns the recording id.
    func start(consentWaitSeconds: Double) throws(ClientError) -> String {
        let consentDeadline = Date().addingTimeInterval(consentWaitSeconds)
        while true {
            guard session.sendControl(["type": "record", "action": "start"]) else { throw ended("starting the recording") }
            switch events.next(until: Date().addingTimeInterval(answerSeconds), where: { $0.isStartedOrError }) {
            case .started(let id)?:
                log("practitioner: recording \(id) started")
                return id
            case .error("consent_required", _)?:
                log("practitioner: the family has not consented to recording yet; waiting up to \(Int(consentWaitSeconds)) s")
                guard events.next(until: consentDeadline, where: { $0 == .consent(recording: true) }) != nil else {
                    throw .protocolError("the family did not consent to recording within \(Int(consentWaitSeconds)) s; nothing was recorded")
                }
            case .error(let code, let message)?:
                throw .protocolError("the relay refused to start recording (\(code)): \(message)")
            default:
                throw noAnswer("record start")
            }
        }
    }

    /// Marks a moment; returns the mark id.
    func mark(recordingID: String, _ request: MarkRequest) throws(ClientError) -> String {
        guard session.sendControl(["type": "mark", "recordingId": recordingID, "atMs": request.atMs, "note": request.note]) else {
            throw ended("marking")
        }
        switch events.next(until: Date().addingTimeInterval(answerSeconds), where: { $0.isMarkedOrError }) {
        case .marked(let id)?: return id
        case .error(let code, let message)?: throw .protocolError("the relay refused the mark at \(request.atMs) ms (\(code)): \(message)")
        default: throw noAnswer("mark")
        }
    }

    /// Stops recording and waits until the relay says the file is complete on disk.
    func stop(recordingID: String) throws(ClientError) -> RecordingSummary {
        if let failure = failedEvent(recordingID) { throw failure }
        guard session.sendControl(["type": "record", "action": "stop"]) else { throw ended("stopping the recording") }
        let answer = events.next(until: Date().addingTimeInterval(answerSeconds)) { event in
            switch event {
            case .stopped(let s): return s.recordingID == recordingID
            case .failed(recordingID), .error: return true
            default: return false
            }
        }
        switch answer {
        case .stopped(let summary)?:
            return summary
        case .failed?:
            throw Self.failed(recordingID)
        case .error(let code, let message)?:
            throw failedEvent(recordingID) ?? .protocolError("the relay refused to stop recording (\(code)): \(message)")
        default:
            throw noAnswer("record stop")
        }
    }

    private func failedEvent(_ recordingID: String) -> ClientError? {
        events.next(until: .distantPast, where: { $0 == .failed(recordingID: recordingID) }).map { _ in Self.failed(recordingID) }
    }

    private static func failed(_ recordingID: String) -> ClientError {
        .protocolError("recording \(recordingID) failed on the relay (disk full or a write error; see the relay's log); what was written is kept")
    }

    private func noAnswer(_ request: String) -> ClientError {
        .protocolError("no answer from the relay to \(request) within \(Int(answerSeconds)) s")
    }

    private func ended(_ doing: String) -> ClientError {
        session.ended.current?.error ?? .protocolError("the practitioner connection ended while \(doing)")
    }
}

extension RecordingEvent {
    var isStartedOrError: Bool {
        switch self {
        case .started, .error: return true
        default: return false
        }
    }

    var isMarkedOrError: Bool {
        switch self {
        case .marked, .error: return true
        default: return false
        }
    }
}
