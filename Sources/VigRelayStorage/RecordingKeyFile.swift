import Foundation
import VigRelayCore
#if canImport(Glibc)
import Glibc
#endif

/// The recording key on disk (`vigrelay recording-key FILE` makes one, `vigrelay serve
/// --recording-key FILE` reads it): 32 random bytes as one line of base64, mode 0600.
///
/// The key belongs outside the data directory (another disk, a secrets store, a systemd
/// credential): the recordings can then be read only where both are, and a copy or the leftover
/// blocks of the data directory alone show nothing. Losing the key loses every recording made
/// under it. Used at start-up, on the main thread.
public enum RecordingKeyFile {
    /// Why a recording key file cannot be made or used, with what to do.
    public enum Failure: Error, CustomStringConvertible, Equatable {
        case exists(path: String)
        case unreadable(path: String, reason: String)
        case tooOpen(path: String, mode: Int)
        case malformed(path: String)
        case writeFailed(path: String, reason: String)

        public var description: String {
            switch self {
            case .exists(let path):
                "\(path) already exists: a recording key is never overwritten (the recordings made under it could not be read again); give another path"
            case .unreadable(let path, let reason):
                "cannot read the recording key \(path): \(reason); make one with `vigrelay recording-key FILE`"
            case .tooOpen(let path, let mode):
                "the recording key \(path) may be read by others (mode \(String(mode, radix: 8))): run `chmod 600 \(path)` and make sure only the relay's user owns it"
            case .malformed(let path):
                "\(path) is not a recording key (one line of base64 holding 32 bytes, as `vigrelay recording-key FILE` writes)"
            case .writeFailed(let path, let reason):
                "cannot write the recording key \(path): \(reason)"
            }
        }
    }

    /// Makes a new key at `path` (mode 0600, synced); never replaces a file already there.
    public static func create(path: String) throws(Failure) -> RecordingKeyring {
        let key = RecordingKeyring.randomBytes(RecordingKeyring.keyBytes)
        let text = Array((Data(key).base64EncodedString() + "\n").utf8)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST { throw .exists(path: path) }
            throw .writeFailed(path: path, reason: FileIO.errnoText())
        }
        let written = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == text.count, synced else {
            let reason = FileIO.errnoText()
            unlink(path)
            throw .writeFailed(path: path, reason: reason)
        }
        do { try FileIO.syncDirectory(of: path) } catch { throw .writeFailed(path: path, reason: "\(error)") }
        return RecordingKeyring(key: key)
    }

    /// Reads the key at `path`. Refuses a file others may read or write, and one that is not a key.
    public static func load(path: String) throws(Failure) -> RecordingKeyring {
        var info = stat()
        guard stat(path, &info) == 0 else { throw .unreadable(path: path, reason: FileIO.errnoText()) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw .unreadable(path: path, reason: "not a regular file") }
        guard info.st_mode & 0o077 == 0 else { throw .tooOpen(path: path, mode: Int(info.st_mode & 0o777)) }
        guard let bytes = FileIO.readAll(path) else { throw .unreadable(path: path, reason: FileIO.errnoText()) }
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let key = Data(base64Encoded: text), key.count == RecordingKeyring.keyBytes else { throw .malformed(path: path) }
        return RecordingKeyring(key: [UInt8](key))
    }
}
