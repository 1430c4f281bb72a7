/// A download the HTTP API accepted: which file of which session, and how much of it.
///
/// Made on the lws thread by `HTTPAPI` from checked ids only; carried to the reader thread, which
/// finds the file through `RecordingStore` (that checks the ids again before building a path).
public struct MediaRequest: Sendable, Equatable {
    /// What to send.
    public enum Resource: Sendable, Equatable {
        /// Part `part` (1...999) of a recording: the media file exactly as recorded.
        case recording(id: String, part: Int)
        /// A clip: a standalone WebM cut from its recording at keyframes.
        case clip(id: String)
        /// A clip the practitioner gave the session's family a copy of (`FamilyCopy`), fetched with
        /// the family's link: as `clip` (of the session it was cut in), but only while it is given.
        case familyCopy(clipID: String)
        /// A stretch of a recording (`fromMs..<toMs`, ms from its start, at most a minute) cut at
        /// keyframes like a clip, but planned when asked and kept nowhere: for watching a recording a
        /// minute at a time on a page, where the whole file could be too big to play.
        case excerpt(recordingID: String, fromMs: Int64, toMs: Int64)
    }

    /// The session (32 lower-case hex).
    public var sessionID: String
    /// The recording part or clip (ids of 16 lower-case hex).
    public var resource: Resource
    /// The request's `Range` header, decided against the file's length by `MediaAnswer`.
    public var range: String?
    /// A HEAD request: the headers a GET would get, no body.
    public var headOnly: Bool

    /// Describes a download.
    public init(sessionID: String, resource: Resource, range: String? = nil, headOnly: Bool = false) {
        self.sessionID = sessionID
        self.resource = resource
        self.range = range
        self.headOnly = headOnly
    }
}
