import Foundation
import VigRelayCore

/// The clips given to a session's family to keep, `DATA/sessions/{sid}/family-copies.json`
/// (`{"v":1,"copies":[FamilyCopy...]}`, in the order given): read on the reader thread, changed on
/// the writer thread (atomically, as every record). Each names a clip of the session itself or of
/// another session of its case; the clip stays in its own session, which deletes it with its
/// recording, so a copy whose clip is gone is simply no longer there.
extension RecordingStore {
    /// The file's shape.
    private struct FamilyCopyList: Codable {
        var v = 1
        var copies: [FamilyCopy]
    }

    /// The copies given to the session's family, in the order given; [] when none. Throws when the
    /// file is there but cannot be read or is not such a list: nothing is given from it then, and
    /// nothing is written over it.
    public func familyCopies(sessionID: String) throws -> [FamilyCopy] {
        guard let path = paths.familyCopiesFile(sessionID) else { throw StorageError.invalidIdentifier(kind: "session") }
        guard let bytes = try FileIO.readAllOrMissing(path) else { return [] }
        guard let list = FileIO.decodeJSON(FamilyCopyList.self, from: bytes), list.v == 1 else {
            throw StorageError.readFailed(path: path, reason: "not a list of family copies")
        }
        return list.copies
    }

    /// The clip record of a copy given to the session's family (read from the session it was cut
    /// in); nil when it was never given, was taken back, its record is gone, or the list is unreadable.
    /// Whether its recording is still there is the caller's to check, as for any clip (`RecordingReader.open`).
    public func familyCopyClip(sessionID: String, clipID: String) -> ClipRecord? {
        guard let copy = (try? familyCopies(sessionID: sessionID))?.first(where: { $0.clipId == clipID }) else { return nil }
        return clip(sessionID: copy.sessionId, clipID: clipID)
    }

    /// The clip record a copy names, while the clip and its recording are there.
    public func clip(of copy: FamilyCopy) -> ClipRecord? {
        guard let clip = clip(sessionID: copy.sessionId, clipID: copy.clipId),
              let manifest = manifest(sessionID: copy.sessionId, recordingID: clip.recordingId), manifest.state != .deleted,
              mediaPath(sessionID: copy.sessionId, recordingID: clip.recordingId, part: clip.part) != nil else { return nil }
        return clip
    }

    /// Gives the session's family a copy of clip `clipID` of session `clipSessionID` at `time` (kept
    /// to the whole second, as the file keeps it): the copy as listed, and whether that changed the
    /// list (a clip given already keeps its first time); nil when there is no such clip or its
    /// recording was deleted. Writer thread.
    public func giveFamilyCopy(sessionID: String, clipSessionID: String, clipID: String, at time: Date) throws -> (copy: FamilyCopy, changed: Bool)? {
        guard let clip = clip(sessionID: clipSessionID, clipID: clipID),
              let manifest = manifest(sessionID: clipSessionID, recordingID: clip.recordingId), manifest.state != .deleted else { return nil }
        var copies = try familyCopies(sessionID: sessionID)
        if let given = copies.first(where: { $0.clipId == clipID }) { return (given, false) }
        let copy = FamilyCopy(clipId: clipID, sessionId: clipSessionID, givenAt: Date(timeIntervalSince1970: time.timeIntervalSince1970.rounded(.down)))
        copies.append(copy)
        try save(copies, sessionID: sessionID)
        return (copy, true)
    }

    /// Takes the copy of `clipID` back from the session's family: whether it was given. Writer thread.
    public func takeBackFamilyCopy(sessionID: String, clipID: String) throws -> Bool {
        var copies = try familyCopies(sessionID: sessionID)
        guard let at = copies.firstIndex(where: { $0.clipId == clipID }) else { return false }
        copies.remove(at: at)
        try save(copies, sessionID: sessionID)
        return true
    }

    private func save(_ copies: [FamilyCopy], sessionID: String) throws {
        guard let dir = paths.sessionDirectory(sessionID), let path = paths.familyCopiesFile(sessionID) else {
            throw StorageError.invalidIdentifier(kind: "session")
        }
        try FileIO.makeDirectory(dir)
        try FileIO.writeJSON(FamilyCopyList(copies: copies), pretty: false, to: path, what: "list of family copies")
    }
}
