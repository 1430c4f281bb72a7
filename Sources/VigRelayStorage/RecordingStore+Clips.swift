import Foundation
import VigRelayCore

/// The clip records of a session: listing and reading (reader thread), saving (writer thread).
extension RecordingStore {
    /// Every readable clip record of a session, oldest first; empty for an invalid id.
    public func clips(sessionID: String) -> [ClipRecord] {
        guard let dir = paths.clipsDirectory(sessionID) else { return [] }
        return FileIO.names(in: dir)
            .compactMap { name in
                guard name.hasSuffix(".json") else { return nil }
                return clip(sessionID: sessionID, clipID: String(name.dropLast(5)))
            }
            .sorted { ($0.createdAt, $0.clipId) < ($1.createdAt, $1.clipId) }
    }

    /// One clip record; nil for invalid ids, a missing or unreadable record, or one that names other
    /// ids than its path.
    public func clip(sessionID: String, clipID: String) -> ClipRecord? {
        guard let path = paths.clipRecordFile(sessionID: sessionID, clipID: clipID),
              let record = ClipRecordFile.read(path),
              record.sessionId == sessionID, record.clipId == clipID else { return nil }
        return record
    }

    /// Saves a clip record, unless its recording was deleted in the meantime (returns false then);
    /// the note sealed when the recording is encrypted (opened with `keyring`).
    /// Runs on the disk writer thread, where deletion runs too: no record outlives its recording.
    public func saveClip(_ record: ClipRecord, keyring: RecordingKeyring?) throws -> Bool {
        guard let manifest = manifest(sessionID: record.sessionId, recordingID: record.recordingId),
              manifest.state != .deleted,
              mediaPath(sessionID: record.sessionId, recordingID: record.recordingId, part: record.part) != nil else { return false }
        guard let dir = paths.clipsDirectory(record.sessionId),
              let path = paths.clipRecordFile(sessionID: record.sessionId, clipID: record.clipId) else {
            throw StorageError.invalidIdentifier(kind: "clip")
        }
        try FileIO.makeDirectory(dir)
        try ClipRecordFile.write(record.sealingNote(with: NoteSeal.of(manifest, keyring: keyring)), to: path)
        return true
    }

    /// Gives a clip a new note, sealed as a new clip's would be (`saveClip`): the record as saved, or
    /// nil when there is no such clip or its recording was deleted. Writer thread.
    public func changeClipNote(sessionID: String, clipID: String, note: String, keyring: RecordingKeyring?) throws -> ClipRecord? {
        guard var record = clip(sessionID: sessionID, clipID: clipID) else { return nil }
        record.note = note
        record.sealedNote = nil
        guard try saveClip(record, keyring: keyring) else { return nil }
        return record
    }
}
