import Foundation
import VigRelayCore

/// The practitioner's notes on marks, kept beside the recording they describe:
/// `recordings/{rid}.marks`, one JSON line per mark (`time`, `event` "note", `markId`, and `note`, or
/// `sealedNote` on an encrypted recording: `NoteSeal`).
///
/// A note says what happens in a film of a child, so it lives and dies with the recording: deleting
/// a session's recordings (withdrawal, a request, retention) removes these files too, while
/// `session.jsonl`, which is append-only and kept, logs only the mark's ids and time. A mark the
/// practitioner removes has its line erased (`remove`); a note changed, its line replaced
/// (`replace`). Appends, removals and replacements run on the disk writer thread (fsynced); reads
/// on the reader thread.
public struct MarkNotes: Sendable {
    public let paths: RecordingPaths

    public init(dataDir: String) { paths = RecordingPaths(dataDir: dataDir) }

    /// Appends one mark's note durably: as `note`, or as `sealedNote` when the recording is encrypted
    /// (`seal`: its `NoteSeal`).
    public func append(sessionID: String, recordingID: String, markID: String, note: String, seal: NoteSeal? = nil,
                       at time: Date = Date()) throws {
        guard let path = paths.marksFile(sessionID: sessionID, recordingID: recordingID) else {
            throw StorageError.invalidIdentifier(kind: "recording")
        }
        var line = try Self.line(sessionID: sessionID, recordingID: recordingID, markID: markID, note: note, seal: seal, at: time)
        let file = try AppendOnlyFile(path: path, truncating: false)
        defer { file.close() }
        if let last = file.lastByte(), last != 0x0a { line.insert(0x0a, at: 0) }  // after a torn line
        try file.append(line)
        try file.sync()
    }

    /// Gives one mark a new note: the file is written again with the new line in place of the old
    /// one (a temporary file, fsync, rename), so the old text is not left in it. Lines that cannot be
    /// read are kept as they are.
    public func replace(sessionID: String, recordingID: String, markID: String, note: String, seal: NoteSeal? = nil,
                        at time: Date = Date()) throws {
        guard let path = paths.marksFile(sessionID: sessionID, recordingID: recordingID) else {
            throw StorageError.invalidIdentifier(kind: "recording")
        }
        let lines = (try FileIO.readAllOrMissing(path) ?? []).split(separator: 0x0a)
        var kept = lines.filter { SessionEventLog.object($0)?["markId"] as? String != markID }.map { Array($0) + [0x0a] }
        kept.append(try Self.line(sessionID: sessionID, recordingID: recordingID, markID: markID, note: note, seal: seal, at: time))
        try FileIO.writeAtomically(Array(kept.joined()), to: path)
    }

    /// One mark's note line: `note`, or `sealedNote` when the recording is encrypted (`seal`).
    private static func line(sessionID: String, recordingID: String, markID: String, note: String, seal: NoteSeal?,
                             at time: Date) throws -> [UInt8] {
        let field: [String: any Sendable] = if let seal {
            ["markId": markID, "sealedNote": seal.seal(note, ids: [sessionID, recordingID, markID])]
        } else {
            ["markId": markID, "note": note]
        }
        return try SessionEventLog.line(event: "note", fields: field, time: time)
    }

    /// Erases one mark's note: the file is written again without its line, atomically (a temporary
    /// file, fsync, rename). Lines that cannot be read are kept as they are. Returns false, writing
    /// nothing, when the file holds no note of that mark.
    @discardableResult
    public func remove(sessionID: String, recordingID: String, markID: String) throws -> Bool {
        guard let path = paths.marksFile(sessionID: sessionID, recordingID: recordingID) else {
            throw StorageError.invalidIdentifier(kind: "recording")
        }
        guard let bytes = try FileIO.readAllOrMissing(path) else { return false }
        let lines = bytes.split(separator: 0x0a)
        let kept = lines.filter { SessionEventLog.object($0)?["markId"] as? String != markID }
        guard kept.count < lines.count else { return false }
        try FileIO.writeAtomically(Array(kept.map { $0 + [0x0a] }.joined()), to: path)
        return true
    }

    /// The notes of a recording's marks, by mark id; empty when there are none (or they were deleted).
    /// A sealed note is opened with `seal`; one that does not open (no seal given, a damaged line) is
    /// there as nil, so the summary can say the note exists but could not be read.
    public func notes(sessionID: String, recordingID: String, seal: NoteSeal? = nil) -> [String: String?] {
        guard let path = paths.marksFile(sessionID: sessionID, recordingID: recordingID),
              let bytes = FileIO.readAll(path) else { return [:] }
        var out: [String: String?] = [:]
        for line in bytes.split(separator: 0x0a) {
            guard let object = SessionEventLog.object(line), let id = object["markId"] as? String else { continue }
            if let note = object["note"] as? String {
                out[id] = .some(note)
            } else if let sealed = object["sealedNote"] as? String {
                out[id] = .some(seal?.open(sealed, ids: [sessionID, recordingID, id]))
            }
        }
        return out
    }
}
