import VigRelayCore

/// Where a session's event log, recordings and clips live under the data directory.
///
/// The only place recording paths are made, and only from ids that pass the `Identifiers` checks:
/// every function returns nil for an invalid id or part number, so a request's path never reaches
/// the filesystem unchecked. Pure string work; usable from any thread.
///
/// ```
/// DATA/sessions/{sid}/session.jsonl
/// DATA/sessions/{sid}/recordings/{rid}.webm      part 1 (.mp4 / .bin by the first bytes)
/// DATA/sessions/{sid}/recordings/{rid}.2.webm    part 2, 3, ... after a restarted stream
/// DATA/sessions/{sid}/recordings/{rid}.index     see RecordingIndex
/// DATA/sessions/{sid}/recordings/{rid}.json      the RecordingManifest
/// DATA/sessions/{sid}/recordings/{rid}.marks     notes of its marks (MarkNotes)
/// DATA/sessions/{sid}/clips/{clipId}.json       a ClipRecord (clips are streamed from the recording)
/// ```
public struct RecordingPaths: Sendable, Equatable {
    /// The data directory.
    public let dataDir: String

    /// Paths under `dataDir`.
    public init(dataDir: String) { self.dataDir = dataDir }

    /// `DATA/sessions`.
    public var sessionsDirectory: String { dataDir + "/sessions" }

    /// `DATA/sessions/{sid}`.
    public func sessionDirectory(_ sessionID: String) -> String? {
        Identifiers.isValidSessionID(sessionID) ? "\(sessionsDirectory)/\(sessionID)" : nil
    }

    /// `DATA/sessions/{sid}/session.jsonl`.
    public func eventLog(_ sessionID: String) -> String? {
        sessionDirectory(sessionID).map { $0 + "/session.jsonl" }
    }

    /// `DATA/sessions/{sid}/family-copies.json`: the clips given to the session's family (`FamilyCopy`).
    public func familyCopiesFile(_ sessionID: String) -> String? {
        sessionDirectory(sessionID).map { $0 + "/family-copies.json" }
    }

    /// `DATA/sessions/{sid}/recordings`.
    public func recordingsDirectory(_ sessionID: String) -> String? {
        sessionDirectory(sessionID).map { $0 + "/recordings" }
    }

    /// `DATA/sessions/{sid}/clips`.
    public func clipsDirectory(_ sessionID: String) -> String? {
        sessionDirectory(sessionID).map { $0 + "/clips" }
    }

    /// The file name of part `part` (1...) of a recording: `{rid}.webm`, then `{rid}.2.webm`, ...
    public static func mediaFileName(recordingID: String, part: Int, container: MediaContainer) -> String? {
        guard Identifiers.isValidRecordingID(recordingID), part >= 1 else { return nil }
        let ext = container.fileExtension
        return part == 1 ? "\(recordingID).\(ext)" : "\(recordingID).\(part).\(ext)"
    }

    /// True when `name` is what `mediaFileName` makes for this recording and part in some container:
    /// a manifest's file names are checked with this before they are opened.
    public static func isMediaFileName(_ name: String, recordingID: String, part: Int) -> Bool {
        MediaContainer.allCases.contains { mediaFileName(recordingID: recordingID, part: part, container: $0) == name }
    }

    /// Path of part `part` of a recording in `container`.
    public func mediaFile(sessionID: String, recordingID: String, part: Int, container: MediaContainer) -> String? {
        guard let dir = recordingsDirectory(sessionID),
              let name = Self.mediaFileName(recordingID: recordingID, part: part, container: container) else { return nil }
        return "\(dir)/\(name)"
    }

    /// `.../recordings/{rid}.index`.
    public func indexFile(sessionID: String, recordingID: String) -> String? {
        recordingFile(sessionID, recordingID, suffix: "index")
    }

    /// `.../recordings/{rid}.marks`: the notes of the recording's marks (see `MarkNotes`).
    public func marksFile(sessionID: String, recordingID: String) -> String? {
        recordingFile(sessionID, recordingID, suffix: "marks")
    }

    /// `.../recordings/{rid}.json`.
    public func manifestFile(sessionID: String, recordingID: String) -> String? {
        recordingFile(sessionID, recordingID, suffix: "json")
    }

    /// `.../clips/{clipId}.json`: the clip's `ClipRecord`.
    public func clipRecordFile(sessionID: String, clipID: String) -> String? {
        guard let dir = clipsDirectory(sessionID), Identifiers.isValidClipID(clipID) else { return nil }
        return "\(dir)/\(clipID).json"
    }

    private func recordingFile(_ sessionID: String, _ recordingID: String, suffix: String) -> String? {
        guard let dir = recordingsDirectory(sessionID), Identifiers.isValidRecordingID(recordingID) else { return nil }
        return "\(dir)/\(recordingID).\(suffix)"
    }
}
