import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Small POSIX file helpers shared by the stores: atomic, durable writes with explicit modes.
enum FileIO {
    /// Creates a directory and its parents with mode 0700 (data is sensitive).
    static func makeDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw StorageError.cannotCreateDirectory(path: path, reason: error.localizedDescription)
        }
    }

    /// Writes `bytes` to `path` atomically: a temporary file, fsync, rename, fsync of the directory.
    static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws {
        let temp = path + ".tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw StorageError.writeFailed(path: temp, reason: errnoText()) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                let reason = errnoText()
                close(fd)
                unlink(temp)
                throw StorageError.writeFailed(path: temp, reason: reason)
            }
            offset += n
        }
        guard fsync(fd) == 0 else {
            let reason = errnoText()
            close(fd)
            unlink(temp)
            throw StorageError.writeFailed(path: temp, reason: reason)
        }
        close(fd)
        guard rename(temp, path) == 0 else {
            let reason = errnoText()
            unlink(temp)
            throw StorageError.writeFailed(path: path, reason: reason)
        }
        try syncDirectory(of: path)
    }

    /// fsyncs the directory holding `path`, so a rename, a new file or an unlink survives a crash.
    static func syncDirectory(of path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        let fd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw StorageError.writeFailed(path: dir, reason: "cannot open the directory to sync it: \(errnoText())") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw StorageError.writeFailed(path: dir, reason: "fsync of the directory failed: \(errnoText())") }
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}
