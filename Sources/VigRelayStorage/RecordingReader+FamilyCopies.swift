import Foundation
import VigRelayCore

/// The family's list of the clips given to them to keep (`GET .../family-copies`; reader thread).
extension RecordingReader {
    /// `{"clips":[{"clipId","durationMs","bytes","mediaType"}]}`: the session's clips given to the
    /// family (`ClipRecord.givenToFamilyAt`) whose recording is still there, in the order they were
    /// made. No notes: they are the practitioner's.
    public func familyCopies(sessionID: String) -> [String: Any] {
        let clips: [[String: Any]] = store.clips(sessionID: sessionID).compactMap { clip in
            guard clip.givenToFamilyAt != nil,
                  let manifest = store.manifest(sessionID: sessionID, recordingID: clip.recordingId), manifest.state != .deleted,
                  let part = manifest.parts.first(where: { $0.number == clip.part }) else { return nil }
            var shown = clip.familyCopySummary
            shown["mediaType"] = Self.contentType(fileName: part.file)
            return shown
        }
        return ["clips": clips]
    }
}
