import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An open file that only grows at its end (`O_APPEND`), synced when asked: a recording's index, a
/// session's event log.
///
/// A failed write is undone as far as possible (the file is cut back to its size before the write),
/// so the file never ends in half a record, and surfaces as `StorageError.writeFailed` with the
/// errno text (ENOSPC, EIO, ...). With `holdingWrites`, appends stay in memory until `sync()`, which
/// writes them in one `write` (a recording's index: a line per payload, ten a second). Owned by the
/// disk writer thread; never used on the lws thread.
final class AppendOnlyFile {
    /// Where the file is.
    let path: String
    /// Bytes appended (in the file, and held), as this writer knows them.
    var size: Int64 { written + Int64(held.count) }
    /// Bytes in the file.
    private var written: Int64
    /// Appended, not yet written (only with `holdingWrites`).
    private var held: [UInt8] = []
    private let holdingWrites: Bool
    private var fd: Int32
    /// The device (file system) the file is on, from `fstat` at open.
    let device: UInt64

    /// Opens `path` for appending, creating it (mode 0600); `truncating` empties an existing file.
    init(path: String, truncating: Bool, holdingWrites: Bool = false) throws {
        let flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncating ? O_TRUNC : 0)
        let fd = open(path, flags, 0o600)
        guard fd >= 0 else { throw StorageError.writeFailed(path: path, reason: FileIO.errnoText()) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let reason = FileIO.errnoText()
            Glibc.close(fd)
            throw StorageError.writeFailed(path: path, reason: reason)
        }
        self.path = path
        self.fd = fd
        self.written = Int64(st.st_size)
        self.device = UInt64(st.st_dev)
        self.holdingWrites = holdingWrites
    }

    deinit { close() }

    /// True while the file is open.
    var isOpen: Bool { fd >= 0 }

    /// The open descriptor (-1 once closed), for a call on the file system it is on (`syncfs`).
    var descriptor: Int32 { fd }

    /// Writes all of `bytes` at the end of the file (holds them, with `holdingWrites`); on failure
    /// cuts the file back and throws.
    func append(_ bytes: [UInt8]) throws {
        guard fd >= 0 else { throw StorageError.writeFailed(path: path, reason: "file already closed") }
        if holdingWrites {
            held += bytes
        } else {
            try write(bytes)
        }
    }

    private func write(_ bytes: [UInt8]) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                let reason = FileIO.errnoText()
                if done > 0 { _ = ftruncate(fd, off_t(written)) }
                throw StorageError.writeFailed(path: path, reason: reason)
            }
            done += n
        }
        written += Int64(bytes.count)
    }

    /// Cuts the file back to `length` bytes (undoing an append whose companion write failed).
    func truncate(to length: Int64) throws {
        guard fd >= 0 else { throw StorageError.writeFailed(path: path, reason: "file already closed") }
        if length >= written {
            held.removeLast(held.count - Int(min(length - written, Int64(held.count))))
            return
        }
        guard ftruncate(fd, off_t(length)) == 0 else { throw StorageError.writeFailed(path: path, reason: FileIO.errnoText()) }
        written = length
        held.removeAll()
    }

    /// The file's last byte, or nil for an empty file (read with `pread` through a separate descriptor).
    func lastByte() -> UInt8? {
        if let last = held.last { return last }
        guard written > 0 else { return nil }
        let rfd = open(path, O_RDONLY | O_CLOEXEC)
        guard rfd >= 0 else { return nil }
        defer { Glibc.close(rfd) }
        var byte: UInt8 = 0
        return pread(rfd, &byte, 1, off_t(written - 1)) == 1 ? byte : nil
    }

    /// Forgets the appends held and not yet written.
    func discardHeld() { held.removeAll() }

    /// Writes what is held, then fsyncs the file's data, so it survives a crash.
    func sync() throws {
        guard fd >= 0 else { return }
        try writeHeld()
        guard fsync(fd) == 0 else { throw StorageError.writeFailed(path: path, reason: FileIO.errnoText()) }
    }

    /// Writes what is held, without the fsync: for a caller that flushes the whole file system at
    /// once (`RecordingSyncer`).
    func writeHeld() throws {
        guard fd >= 0, !held.isEmpty else { return }
        try write(held)
        held.removeAll(keepingCapacity: true)
    }

    /// Writes what is held (best effort: callers sync first to see errors) and closes the file;
    /// later calls do nothing.
    func close() {
        guard fd >= 0 else { return }
        if !held.isEmpty { try? write(held) }
        Glibc.close(fd)
        fd = -1
    }
}
