import Foundation
import VigRelayCore

/// Finds a session's recordings on disk for listing and download, and deletes them.
///
/// Every path is built by `RecordingPaths` from ids that pass the `Identifiers` checks, and a
/// manifest's file names are checked against the names its ids give before they are used: invalid
/// ids get nil or an error, never a path. Reads run on the disk writer thread or a reader thread;
/// `deleteAll` on the disk writer thread (after the session's `RecordingFile`s were finished or
/// failed); never on the lws thread.
public struct RecordingStore: Sendable {
    /// Where the files are.
    public let paths: RecordingPaths

    /// The recordings under `dataDir`.
    public init(dataDir: String) { paths = RecordingPaths(dataDir: dataDir) }

    /// The sessions with a directory under `DATA/sessions`, sorted.
    public func sessionIDs() -> [String] {
        FileIO.names(in: paths.sessionsDirectory).filter { Identifiers.isValidSessionID($0) }
    }

    /// Every readable manifest of a session, oldest first; empty for an invalid id.
    public func manifests(sessionID: String) -> [RecordingManifest] {
        guard let dir = paths.recordingsDirectory(sessionID) else { return [] }
        return FileIO.names(in: dir)
            .compactMap { name in
                guard name.hasSuffix(".json") else { return nil }
                return manifest(sessionID: sessionID, recordingID: String(name.dropLast(5)))
            }
            .sorted { ($0.startedAt, $0.recordingId) < ($1.startedAt, $1.recordingId) }
    }

    /// One recording's manifest; nil for invalid ids, a missing or unreadable manifest, or one that
    /// names other ids than its path.
    public func manifest(sessionID: String, recordingID: String) -> RecordingManifest? {
        guard let path = paths.manifestFile(sessionID: sessionID, recordingID: recordingID),
              let manifest = RecordingManifestFile.read(path),
              manifest.sessionId == sessionID, manifest.recordingId == recordingID else { return nil }
        return manifest
    }

    /// The media file of one part (1...) of a recording, for download; nil for invalid ids, an
    /// unknown part, or a file that is not there (deleted, or not written yet).
    public func mediaPath(sessionID: String, recordingID: String, part: Int = 1) -> String? {
        guard let manifest = manifest(sessionID: sessionID, recordingID: recordingID),
              let entry = manifest.parts.first(where: { $0.number == part }),
              RecordingPaths.isMediaFileName(entry.file, recordingID: recordingID, part: part),
              let dir = paths.recordingsDirectory(sessionID) else { return nil }
        let path = "\(dir)/\(entry.file)"
        return FileIO.regularFileSize(path) != nil ? path : nil
    }

    /// A recording's index; nil for invalid ids or a missing index.
    public func index(sessionID: String, recordingID: String) -> RecordingIndex? {
        guard let path = paths.indexFile(sessionID: sessionID, recordingID: recordingID),
              let bytes = FileIO.readAll(path) else { return nil }
        return RecordingIndex.parse(bytes: bytes)
    }

    /// Deletes every media, index and clip file of a session (consent withdrawn, a request, retention),
    /// fsyncs the directories, then marks each manifest `deleted` and keeps it. Returns the ids of the
    /// recordings marked now. Tries every file before throwing the first error.
    public func deleteAll(sessionID: String, at time: Date) throws -> [String] {
        guard let recordings = paths.recordingsDirectory(sessionID),
              let clips = paths.clipsDirectory(sessionID) else { throw StorageError.invalidIdentifier(kind: "session") }
        var firstError: Error?
        func remove(_ path: String) {
            do { try FileIO.remove(path) } catch { firstError = firstError ?? error }
        }
        // A directory that cannot be listed is a failure, not an empty one: its files would stay.
        for (dir, keep) in [(recordings, Self.isManifestName), (clips, { (_: String) in false })] {
            do {
                let names = try FileIO.listing(dir)
                for name in names where !keep(name) { remove("\(dir)/\(name)") }
                if !names.isEmpty { try FileIO.syncDirectory(dir) }  // the unlinks survive a crash
            } catch { firstError = firstError ?? error }
        }
        var marked: [String] = []
        for var manifest in manifests(sessionID: sessionID) where manifest.state != .deleted {
            guard manifest.move(to: .deleted, at: time),
                  let path = paths.manifestFile(sessionID: sessionID, recordingID: manifest.recordingId) else { continue }
            if manifest.stoppedAt == nil { manifest.stoppedAt = time }
            do {
                try RecordingManifestFile.write(manifest, to: path)
                marked.append(manifest.recordingId)
            } catch { firstError = firstError ?? error }
        }
        if let firstError { throw firstError }
        return marked.sorted()
    }

    /// True when any media, index or clip file of the session is still on disk.
    public func hasFiles(sessionID: String) -> Bool {
        guard let recordings = paths.recordingsDirectory(sessionID),
              let clips = paths.clipsDirectory(sessionID) else { return false }
        return FileIO.names(in: recordings).contains { !Self.isManifestName($0) } || !FileIO.names(in: clips).isEmpty
    }

    /// `{rid}.json` for a valid recording id: the one kind of file deletion keeps.
    static func isManifestName(_ name: String) -> Bool {
        name.hasSuffix(".json") && Identifiers.isValidRecordingID(name.dropLast(5))
    }
}
