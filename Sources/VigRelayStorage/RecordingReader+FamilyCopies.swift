import Foundation
import VigRelayCore

/// The family's list of the clips given to them to keep (`GET .../family-copies`; reader thread).
extension RecordingReader {
    /// `{"clips":[{"clipId","durationMs","bytes","mediaType"}]}`: the clips given to the session's
    /// family whose clip and recording are still there, in the order given. No notes, nor the
    /// session a clip was cut in: the family needs only what saving it takes. Throws when the list
    /// cannot be read (answered as a failure, not as "nothing given").
    public func familyCopies(sessionID: String) throws -> [String: Any] {
        let clips: [[String: Any]] = try store.familyCopies(sessionID: sessionID).compactMap { copy in
            guard let clip = store.clip(of: copy),
                  let manifest = store.manifest(sessionID: clip.sessionId, recordingID: clip.recordingId),
                  let part = manifest.parts.first(where: { $0.number == clip.part }) else { return nil }
            var shown = clip.familyCopySummary
            shown["mediaType"] = Self.contentType(fileName: part.file)
            return shown
        }
        return ["clips": clips]
    }
}
