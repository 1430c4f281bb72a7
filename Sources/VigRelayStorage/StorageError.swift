/// Errors of the storage layer; each says what happened and what to do.
public enum StorageError: Error, CustomStringConvertible {
    case cannotCreateDirectory(path: String, reason: String)
    case secretUnreadable(path: String, reason: String)
    case secretTooShort(path: String)
    /// A secret file given by `--secret-file` that others may read or write: they could sign tokens.
    case secretTooOpen(path: String, mode: Int)
    /// The operator's token revocations exist but cannot be read: refusing beats forgetting them.
    case revocationsUnreadable(path: String, reason: String)
    case writeFailed(path: String, reason: String)
    /// A file that exists could not be read.
    case readFailed(path: String, reason: String)
    /// An id that is not in the server's closed alphabet reached the storage layer; no path was built.
    case invalidIdentifier(kind: String)
    /// A recording would grow past its storage quota; nothing of the refused payload was written.
    case quotaExceeded(path: String, limitBytes: Int64)
    /// A recording, or one of its files, already exists under the id a new recording was given.
    case recordingExists(path: String)
    /// `append` or `finish` was called on a recording that was already finished or failed.
    case recordingClosed(recordingID: String)
    /// A cluster position given with a payload lies outside the part's bytes.
    case clusterOutsidePart(recordingID: String, offset: Int64, partBytes: Int64)
    /// A new part would pass `RecordingManifest.maxParts`.
    case tooManyParts(recordingID: String, limit: Int)
    /// An event log entry used a reserved key or a value JSON cannot hold.
    case invalidEvent(reason: String)
    /// Another `vigrelay serve` holds the data directory's lock (`DataDirectoryLock`).
    case dataDirectoryInUse(dataDir: String, pid: Int?)

    public var description: String {
        switch self {
        case .cannotCreateDirectory(let path, let reason):
            return "cannot create data directory \(path): \(reason); pass --data-dir with a writable directory"
        case .secretUnreadable(let path, let reason):
            return "cannot read the token secret at \(path): \(reason); check the file or remove it to make a new one (existing tokens then stop working)"
        case .secretTooOpen(let path, let mode):
            return "the token secret \(path) may be read or written by others (mode \(String(mode, radix: 8))), who could sign tokens for any practitioner and read every recording: run chmod 600 \(path)"
        case .secretTooShort(let path):
            return "the token secret at \(path) is shorter than 32 bytes; write at least 32 random bytes there (e.g. openssl rand -hex 32 > \(path))"
        case .revocationsUnreadable(let path, let reason):
            return "cannot read the token revocations at \(path): \(reason); restore the file, or revoke again with 'vigrelay token revoke' after moving it away"
        case .writeFailed(let path, let reason):
            return "could not write \(path): \(reason)"
        case .readFailed(let path, let reason):
            return "could not read \(path): \(reason)"
        case .invalidIdentifier(let kind):
            return "invalid \(kind) id: ids are lower-case hex made by the server (sessions 32 characters, recordings and clips 16); use an id the server returned"
        case .quotaExceeded(let path, let limitBytes):
            return "recording storage quota of \(limitBytes) bytes reached while writing \(path); the recording stops here (what was written stays readable): raise the quota or delete old recordings"
        case .recordingExists(let path):
            return "a recording already exists at \(path); start the recording under a new id"
        case .recordingClosed(let recordingID):
            return "recording \(recordingID) is already finished or failed; start a new recording to write more"
        case .clusterOutsidePart(let recordingID, let offset, let partBytes):
            return "recording \(recordingID): a cluster at byte \(offset) lies outside the part's \(partBytes) bytes; pass cluster offsets relative to the payload being appended"
        case .tooManyParts(let recordingID, let limit):
            return "recording \(recordingID) already has \(limit) parts, its limit (the camera restarted its stream that often); the recording stops here (what was written stays readable): start a new recording"
        case .invalidEvent(let reason):
            return "cannot log the session event: \(reason)"
        case .dataDirectoryInUse(let dataDir, let pid):
            return "another vigrelay serve\(pid.map { " (pid \($0))" } ?? "") is using the data directory \(dataDir): stop it first, or give this one a --data-dir of its own (two relays on one directory would cut each other's running recordings)"
        }
    }
}
