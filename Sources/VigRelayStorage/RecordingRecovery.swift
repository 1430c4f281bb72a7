import Foundation
import Logging
import VigRelayCore

/// Repairs recordings a crash left unfinished: run at server start, before connections are accepted.
///
/// For every manifest still in state `recording`, the part being written (the last one) is cut back
/// to what the index vouches for: to the start of its last recorded Cluster (that cluster may be
/// incomplete, so it goes), or, for a part without clusters (MP4, other media), to the end of its
/// last `F` record that fits in the file. Index lines describing bytes past the new end are dropped
/// (a frame straddling it too), the index is rewritten to agree with the files, a WebM part's
/// Segment size is set to unknown and its Duration voided (the file is shorter than they said), the
/// totals are recounted, and the manifest moves to `interrupted`. Parts whose file is missing are
/// dropped from the manifest. A part before the last was closed when the next one opened (`RecordingFile.openPart`: cut to its
/// last complete element and synced, its totals in the manifest that lists the next part), so it
/// is left as it is, whole, unless its file is not as long as the manifest says.
///
/// An encrypted recording is repaired with its data key (`keyring`); one this relay cannot open (no
/// or another `--recording-key`) is logged and left as it is, nothing cut.
///
/// Running it twice changes nothing more. Runs on the thread that starts the server (before the lws
/// and disk writer threads run) or on the disk writer thread; never on the lws thread.
public enum RecordingRecovery {
    /// Recovers every unfinished recording under `dataDir` and returns their new manifests.
    /// A recording that cannot be repaired is logged and left as it is.
    public static func recover(dataDir: String, now: Date, keyring: RecordingKeyring? = nil,
                               logger: Logger = Logger(label: "vigrelay.recovery", factory: { _ in SwiftLogNoOpLogHandler() })) -> [RecordingManifest] {
        let paths = RecordingPaths(dataDir: dataDir)
        var recovered: [RecordingManifest] = []
        for sessionID in FileIO.names(in: paths.sessionsDirectory) where Identifiers.isValidSessionID(sessionID) {
            guard let dir = paths.recordingsDirectory(sessionID) else { continue }
            for name in FileIO.names(in: dir) {
                guard name.hasSuffix(".json"), case let recordingID = String(name.dropLast(5)),
                      Identifiers.isValidRecordingID(recordingID),
                      let manifestPath = paths.manifestFile(sessionID: sessionID, recordingID: recordingID) else { continue }
                try? FileIO.remove(manifestPath + ".tmp")
                let meta: Logger.Metadata = ["session.id": "\(sessionID)", "recording.id": "\(recordingID)"]
                guard let manifest = RecordingManifestFile.read(manifestPath) else {
                    logger.error("recording manifest cannot be read or decoded; the recording was left as it is", metadata: meta)
                    continue
                }
                guard manifest.state == .recording else { continue }
                guard manifest.recordingId == recordingID, manifest.sessionId == sessionID else {
                    logger.warning("recording manifest names other ids than its path; left as it is", metadata: meta)
                    continue
                }
                do {
                    let result = try recover(manifest, paths: paths, now: now, keyring: keyring)
                    logger.notice("interrupted recording recovered", metadata: meta.merging([
                        "recording.bytes": "\(result.bytes)", "recording.frames": "\(result.frames)",
                    ]) { $1 })
                    recovered.append(result)
                } catch {
                    logger.error("interrupted recording could not be recovered", metadata: meta.merging(["error": "\(error)"]) { $1 })
                }
            }
        }
        return recovered
    }

    /// Repairs one recording's files and writes its `interrupted` manifest.
    static func recover(_ manifest: RecordingManifest, paths: RecordingPaths, now: Date, keyring: RecordingKeyring?) throws -> RecordingManifest {
        guard let indexPath = paths.indexFile(sessionID: manifest.sessionId, recordingID: manifest.recordingId),
              let manifestPath = paths.manifestFile(sessionID: manifest.sessionId, recordingID: manifest.recordingId) else {
            throw StorageError.invalidIdentifier(kind: "recording")
        }
        let lastWrite = FileIO.modificationDate(indexPath)
        var result = try repair(manifest, paths: paths, keyring: keyring)
        // The last write to the index is when recording stopped; whole seconds, as the manifest keeps them.
        let stopped = min(lastWrite ?? now, now).timeIntervalSince1970.rounded(.down)
        result.move(to: .interrupted, at: Date(timeIntervalSince1970: stopped))
        try RecordingManifestFile.write(result, to: manifestPath)
        return result
    }

    /// Cuts each part back to what the index vouches for, rewrites the index to agree, and returns the
    /// manifest with the parts that have files and their recounted totals (not written; state unchanged).
    /// Also used when a recording fails on a write error (`RecordingFile.fail`).
    static func repair(_ manifest: RecordingManifest, paths: RecordingPaths, keyring: RecordingKeyring?) throws -> RecordingManifest {
        let sid = manifest.sessionId, rid = manifest.recordingId
        guard let indexPath = paths.indexFile(sessionID: sid, recordingID: rid),
              let dir = paths.recordingsDirectory(sid) else { throw StorageError.invalidIdentifier(kind: "recording") }
        // A missing index vouches for nothing (a deletion was cut short); one that exists but cannot be
        // read is not an empty one: cutting every part to nothing on its word would destroy the media.
        let indexBytes = FileIO.readAll(indexPath)
        if indexBytes == nil, FileIO.regularFileSize(indexPath) != nil {
            throw StorageError.writeFailed(path: indexPath, reason: "the index cannot be read, so the media was left as it is")
        }
        let index = RecordingIndex.parse(bytes: indexBytes ?? [])
        var cuts: [Int: PartCut] = [:]
        var closed: Set<Int> = []
        var parts: [RecordingManifest.Part] = []
        for var part in manifest.parts {
            guard RecordingPaths.isMediaFileName(part.file, recordingID: rid, part: part.number),
                  case let path = "\(dir)/\(part.file)", let size = FileIO.regularFileSize(path) else { continue }
            if part.number != manifest.parts.last?.number, size == part.bytes {
                closed.insert(part.number)
                parts.append(part)
                continue
            }
            // Before anything is cut: a recording this relay cannot decrypt is left whole.
            let cipher = try RecordingKeyring.cipher(part: part.number, of: manifest, keyring: keyring)
            let cut = PartCut(index: index, part: part.number, fileSize: size)
            if cut.end < size { try FileIO.truncate(path, to: cut.end) }
            if part.file.hasSuffix(".webm") { try markOpenEnded(path, end: cut.end, initEnd: cut.firstClusterOffset, cipher: cipher) }
            cut.tally.apply(to: &part)
            parts.append(part)
            cuts[part.number] = cut
        }
        let records = index.records.filter { closed.contains($0.part) || cuts[$0.part]?.keeps($0) == true }
        try FileIO.writeAtomically(Array(RecordingIndex(records: records).text.utf8), to: indexPath)
        var result = manifest
        result.parts = parts
        return result
    }

    /// A WebM part cut short: its Segment size (if it had one) becomes "unknown" and its Duration
    /// element a Void, so players read it as a live recording that ends where it ends.
    static func markOpenEnded(_ path: String, end: Int64, initEnd: Int64?, cipher: MediaCipher?) throws {
        let head = min(end, initEnd ?? end, 1 << 20)
        guard head > 0, let bytes = FileIO.readPrefix(path, count: Int(head), cipher: cipher) else { return }
        var scanner = WebMScanner()
        _ = scanner.feed(bytes)
        if let field = scanner.segmentSizeField, field.upperBound <= end,
           let unknown = WebMScanner.unknownSizeField(length: field.count) {
            try FileIO.overwrite(unknown, at: field.lowerBound, in: path, cipher: cipher)
        }
        if let element = scanner.durationElement, element.upperBound <= end,
           let void = WebMScanner.voidElement(length: element.count) {
            try FileIO.overwrite(void, at: element.lowerBound, in: path, cipher: cipher)
        }
    }
}
