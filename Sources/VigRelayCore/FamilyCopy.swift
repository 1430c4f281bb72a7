import Foundation

/// A clip the practitioner gave a session's family to keep (`RelayLimits.familyCopies`): which
/// clip, cut in which session (the session itself, or another of its case: a shared review is
/// usually a session of its own, and gives the filming's clips), and when. The session's family
/// fetches it with that session's link. Kept by the storage layer in
/// `DATA/sessions/{sid}/family-copies.json`; a plain value.
public struct FamilyCopy: Sendable, Codable, Equatable {
    public var clipId: String
    /// The session the clip was cut in.
    public var sessionId: String
    /// When it was given (whole seconds, as the file keeps it).
    public var givenAt: Date

    public init(clipId: String, sessionId: String, givenAt: Date) {
        self.clipId = clipId
        self.sessionId = sessionId
        self.givenAt = givenAt
    }

    /// As the summary lists it for the practitioner.
    public var summary: [String: Any] {
        ["clipId": clipId, "sessionId": sessionId, "givenAt": UTCTime.format(givenAt)]
    }
}
