import Foundation

/// The lifecycle of one recording, kept in `recordings/{id}.json`.
///
/// `recording` -> `complete` (stopped and flushed) | `interrupted` (found unfinished after a crash) |
/// `failed` (a write error); any state -> `deleted` (consent withdrawn, retention, or a request).
public enum RecordingState: String, Sendable, Codable, CaseIterable {
    case recording, complete, interrupted, failed, deleted

    /// Whether the manifest may move from this state to `next`.
    public func canMove(to next: RecordingState) -> Bool {
        switch (self, next) {
        case (.recording, .complete), (.recording, .interrupted), (.recording, .failed): return true
        case (.deleted, _): return false
        case (_, .deleted): return true
        default: return false
        }
    }
}

/// What the server writes about a recording beside its media: enough to list, download and recover it.
public struct RecordingManifest: Sendable, Codable, Equatable {
    /// One media file of the recording; a restarted stream (new init segment) starts a new part.
    public struct Part: Sendable, Codable, Equatable {
        public var number: Int
        public var file: String
        public var bytes: Int64
        public var frames: Int
        /// Media time of the part's first frame, ms since the recording's start.
        public var startMs: Int64
        public var durationMs: Int64

        public init(number: Int, file: String, bytes: Int64 = 0, frames: Int = 0, startMs: Int64 = 0, durationMs: Int64 = 0) {
            self.number = number
            self.file = file
            self.bytes = bytes
            self.frames = frames
            self.startMs = startMs
            self.durationMs = durationMs
        }
    }

    public var recordingId: String
    public var sessionId: String
    public var stream: String
    public var mediaType: String
    public var state: RecordingState
    public var startedAt: Date
    public var stoppedAt: Date?
    public var parts: [Part]
    /// Why the recording failed, when it did (no media content).
    public var failure: String?
    /// How the media is encrypted at rest; nil when it is not (a relay without `--recording-key`).
    /// Removed when the recording is deleted: its data key goes with it.
    public var encryption: RecordingEncryption?

    public init(recordingId: String, sessionId: String, stream: String = "camera", mediaType: String,
                startedAt: Date, parts: [Part] = []) {
        self.recordingId = recordingId
        self.sessionId = sessionId
        self.stream = stream
        self.mediaType = mediaType
        self.state = .recording
        self.startedAt = startedAt
        self.parts = parts
    }

    /// Most parts one recording holds (downloads name parts 1...999): a stream restarted more often
    /// fails the recording, with what was written kept.
    public static let maxParts = 999

    public var bytes: Int64 { parts.reduce(0) { $0 + $1.bytes } }
    public var frames: Int { parts.reduce(0) { $0 + $1.frames } }
    public var durationMs: Int64 { parts.map { $0.startMs + $0.durationMs }.max() ?? 0 }

    /// Moves to `next` if the lifecycle allows it; returns false (and changes nothing) otherwise.
    @discardableResult
    public mutating func move(to next: RecordingState, at time: Date? = nil) -> Bool {
        guard state.canMove(to: next) else { return false }
        state = next
        if next != .deleted, stoppedAt == nil { stoppedAt = time }
        if next == .deleted { encryption = nil }  // the data key goes with the media
        return true
    }
}
