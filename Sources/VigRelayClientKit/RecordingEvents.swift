import Foundation
import VigRelayCore

/// What a recording left behind, as the relay reported it in `{"type":"recording","state":"stopped",...}`.
public struct RecordingSummary: Sendable, Equatable {
    public var recordingID: String
    public var bytes: Int
    public var frames: Int
    public var durationMs: Int
    /// Marks the practitioner made on it: (markId, atMs).
    public var marks: [(markID: String, atMs: Int)] = []

    public static func == (a: Self, b: Self) -> Bool {
        (a.recordingID, a.bytes, a.frames, a.durationMs) == (b.recordingID, b.bytes, b.frames, b.durationMs)
            && a.marks.map(\.markID) == b.marks.map(\.markID) && a.marks.map(\.atMs) == b.marks.map(\.atMs)
    }

    /// One line of JSON for scripts: `{"recordingId":...,"bytes":...,"frames":...,"durationMs":...,"marks":[...]}`.
    public var json: String {
        let object: [String: Any] = ["recordingId": recordingID, "bytes": bytes, "frames": frames, "durationMs": durationMs,
                                     "marks": marks.map { ["markId": $0.markID, "atMs": $0.atMs] }]
        return String(decoding: ControlEncoder.encode(object), as: UTF8.self)
    }
}

/// A recording-related message from the relay.
enum RecordingEvent: Sendable, Equatable {
    case consent(recording: Bool)
    case started(recordingID: String)
    case stopped(RecordingSummary)
    case deleted(recordingIDs: [String])
    case failed(recordingID: String)
    case marked(markID: String)
    case error(code: String, message: String)

    /// Reads one notice; nil for notices that are not about recording.
    init?(_ notice: SessionNotice) {
        switch notice {
        case .error(let code, let message):
            self = .error(code: code, message: message)
        case .other(let raw):
            guard case .success(let m) = ControlMessage.decode(Array(raw.utf8)) else { return nil }
            switch (m.type, m.string("state")) {
            case ("consent", _):
                guard let recording = m.fields["recording"] as? Bool else { return nil }
                self = .consent(recording: recording)
            case ("marked", _):
                self = .marked(markID: m.string("markId") ?? "")
            case ("recording", "started"):
                self = .started(recordingID: m.string("recordingId") ?? "")
            case ("recording", "stopped"):
                self = .stopped(RecordingSummary(recordingID: m.string("recordingId") ?? "", bytes: m.fields["bytes"] as? Int ?? 0,
                                                 frames: m.fields["frames"] as? Int ?? 0, durationMs: m.fields["durationMs"] as? Int ?? 0))
            case ("recording", "deleted"):
                self = .deleted(recordingIDs: m.fields["recordingIds"] as? [String] ?? [])
            case ("recording", "failed"):
                self = .failed(recordingID: m.string("recordingId") ?? "")
            default:
                return nil
            }
        default:
            return nil
        }
    }
}

/// Recording-related messages a participant received, kept in arrival order for the command's thread
/// to wait on one at a time.
///
/// Thread-safe: `add` runs on the lws thread, `next` on the command's thread; `condition` guards `events`.
final class RecordingEvents: @unchecked Sendable {
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var events: [RecordingEvent] = []
    /// Kept at most (older ones are dropped): the protocol sends a handful per request.
    private static let capacity = 1000

    /// Keeps the notice if it is about recording. lws thread.
    func add(_ notice: SessionNotice) {
        guard let event = RecordingEvent(notice) else { return }
        condition.lock(); defer { condition.unlock() }
        events.append(event)
        if events.count > Self.capacity { events.removeFirst() }
        condition.broadcast()
    }

    /// Waits for the first kept event that `matches`, removes and returns it; nil at the deadline.
    func next(until deadline: Date, where matches: (RecordingEvent) -> Bool) -> RecordingEvent? {
        condition.lock(); defer { condition.unlock() }
        while true {
            if let index = events.firstIndex(where: matches) { return events.remove(at: index) }
            if Interruption.requested || Date() >= deadline { return nil }
            _ = condition.waitBounded(until: min(deadline, Date().addingTimeInterval(0.1)))
        }
    }
}
