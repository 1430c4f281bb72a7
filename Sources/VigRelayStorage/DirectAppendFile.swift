import CLinuxIO
import Foundation
import VigRelayCore
#if canImport(Glibc)
import Glibc
#endif

/// A recording's media part: appended to in small pieces (one camera payload, ~30 KB), written to
/// the device in large aligned blocks with `O_DIRECT`, synced when asked.
///
/// Why: through the page cache, each payload cost a `write` into freshly allocated cache pages and,
/// later, their writeback: together more than a CPU-second per GB here, most of the recording's
/// cost. With `O_DIRECT` from a 256 KiB write-behind buffer the device reads our buffer directly
/// (about 0.25 CPU-s per GB), and recordings, which are written once and read rarely, do not push
/// other data out of the cache.
///
/// The buffer starts at an aligned file offset. When it is full it is written whole. `sync()` also
/// writes its whole blocks, then the last, partial block through the page cache (a second
/// descriptor without `O_DIRECT`), which sets the file's true length, and `fdatasync`s; the partial
/// block stays in the buffer and is written again, whole and direct, once more bytes follow. (Padding
/// that block with zeros for `O_DIRECT` and cutting the file back instead made each sync read the
/// block back from the device, for the kernel to zero its tail: one more synchronous I/O per
/// recording per second.) So after `sync()` every byte appended is on disk, and between syncs at
/// most one buffer is only in memory, as with the page cache before its writeback. A reader sees the
/// file as far as it was written (the index, synced after the media, says which bytes are whole
/// payloads). On a file system that refuses `O_DIRECT` the file is written through the page cache,
/// with the same buffering.
///
/// A fast stream gets a larger buffer: once `fillsForLargeBuffer` buffers fill between two syncs
/// (about a MiB a second, at a sync a second), it grows to `largeBufferBytes`. Why: each write is
/// one request to the device, and on a virtual disk a request costs the writer thread a
/// notification and a completion interrupt. At 1.2 GB/s (benchmark scenario 1 with recording),
/// 1 MiB writes instead of 256 KiB ones cut the writer thread's CPU time per GB by about a third
/// (0.10-0.14 to 0.07-0.10 CPU-s). A camera at 2.5 Mbit/s fills about one 256 KiB buffer a second
/// and keeps it, so a thousand recordings do not hold a thousand MiB.
///
/// With a `MediaCipher` (a relay with `--recording-key`) the file holds the bytes encrypted: the
/// buffer's bytes are encrypted in place, once each, just before they are first written (`sealed`
/// counts those at its start), so the partial last block written again later is the same
/// ciphertext, and a block read back for a cut is ciphertext already. Nothing here reads plaintext
/// from the buffer after that.
///
/// A failed write throws `StorageError.writeFailed` (ENOSPC, EIO, ...); the caller then fails the
/// recording. Owned by the disk writer thread; never used on the lws thread.
final class DirectAppendFile {
    /// Where the file is.
    let path: String
    /// Bytes appended (written and buffered), as this writer knows them.
    private(set) var size: Int64 = 0
    /// File offsets and lengths used with `O_DIRECT` are multiples of this (4 KiB covers 512-byte
    /// and 4 KiB sectors).
    static let alignment = 4096
    /// The write-behind buffer's size at first: written whole when full.
    static let bufferBytes = 256 << 10
    /// The buffer's size once the stream is fast.
    static let largeBufferBytes = 1 << 20
    /// Buffers filled between two syncs that make the stream fast.
    static let fillsForLargeBuffer = 4

    private var fd: Int32
    private var direct: Bool
    /// The same file without `O_DIRECT`, for the partial last block at a sync; `fd` itself when
    /// the file is not direct.
    private var tailFD: Int32
    /// Allocated at the first append, aligned, `capacity` long; freed at `close`.
    private var buffer: UnsafeMutableRawPointer?
    /// `buffer`'s size: `bufferBytes`, or `largeBufferBytes` once the stream is fast.
    private(set) var capacity = bufferBytes
    /// Buffers written because they were full since the last `sync()` or `writeHeld()`.
    private var fillsSinceSync = 0
    /// File offset of `buffer`'s first byte (aligned while `direct`).
    private var bufferStart: Int64 = 0
    /// Bytes in `buffer`.
    private var buffered = 0
    /// Encrypts the file's bytes; nil: they are written as appended.
    private let cipher: MediaCipher?
    /// Bytes at `buffer`'s start already encrypted (always 0 without a cipher).
    private var sealed = 0
    /// The file's length on disk.
    private var fileSize: Int64 = 0

    /// Creates (mode 0600) or empties the file at `path`; with `cipher`, its bytes are encrypted.
    init(path: String, cipher: MediaCipher? = nil) throws {
        let flags = O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC  // read: `truncate` reads a block back
        var fd = open(path, flags | vr_o_direct(), 0o600)
        direct = fd >= 0
        if fd < 0, errno == EINVAL { fd = open(path, flags, 0o600) }
        guard fd >= 0 else { throw StorageError.writeFailed(path: path, reason: FileIO.errnoText()) }
        var tailFD = fd
        if direct {
            tailFD = open(path, O_WRONLY | O_CLOEXEC)
            guard tailFD >= 0 else {
                let reason = FileIO.errnoText()
                Glibc.close(fd)
                throw StorageError.writeFailed(path: path, reason: reason)
            }
        }
        self.path = path
        self.fd = fd
        self.tailFD = tailFD
        self.cipher = cipher
    }

    deinit { close() }

    /// Whether writes bypass the page cache (false where the file system refused `O_DIRECT`).
    var isDirect: Bool { direct }

    /// Adds `bytes` at the end; writes the buffer out each time it fills. On a thrown error the
    /// bytes may be partly buffered: fail the recording.
    func append(_ bytes: ArraySlice<UInt8>) throws {
        guard fd >= 0 else { throw StorageError.writeFailed(path: path, reason: "file already closed") }
        try bytes.withUnsafeBytes { source in
            var done = 0
            while done < source.count {
                let into = try bufferMemory()
                let n = min(source.count - done, capacity - buffered)
                (into + buffered).copyMemory(from: source.baseAddress! + done, byteCount: n)
                buffered += n
                done += n
                if buffered == capacity { try writeFullBuffer() }
            }
        }
        size += Int64(bytes.count)
    }

    /// Writes everything appended (the partial last block through the page cache) and `fdatasync`s it.
    func sync() throws {
        guard fd >= 0 else { return }
        try writeHeld()
        guard fdatasync(fd) == 0 else { throw StorageError.writeFailed(path: path, reason: FileIO.errnoText()) }
    }

    /// `sync()` without its `fdatasync`: everything appended goes to the file, and what went through
    /// the page cache is not yet on the device. For a caller that flushes the whole file system at
    /// once (`RecordingSyncer`).
    func writeHeld() throws {
        guard fd >= 0 else { return }
        fillsSinceSync = 0
        try writeBuffer(withTail: true)
    }

    /// Cuts the file back to `length` bytes (at most `size`): bytes still buffered are dropped; a cut
    /// into bytes already written truncates the file and reads the block it ends in back into the buffer.
    func truncate(to length: Int64) throws {
        guard fd >= 0 else { throw StorageError.writeFailed(path: path, reason: "file already closed") }
        if length >= bufferStart {
            buffered = min(buffered, Int(length - bufferStart))
            sealed = min(sealed, buffered)
        } else {
            let start = direct ? length / Int64(Self.alignment) * Int64(Self.alignment) : length
            let keep = Int(length - start)
            if keep > 0 {
                let into = try bufferMemory()
                let n = pread(fd, into, Self.alignment, off_t(start))
                guard n >= keep else { throw StorageError.writeFailed(path: path, reason: n < 0 ? FileIO.errnoText() : "short read") }
            }
            bufferStart = start
            buffered = keep
            sealed = cipher == nil ? 0 : keep  // read back as it is on disk
        }
        if fileSize > length {
            guard ftruncate(fd, off_t(length)) == 0 else { throw StorageError.writeFailed(path: path, reason: FileIO.errnoText()) }
            fileSize = length
        }
        size = length
    }

    /// Writes what is buffered (best effort: callers sync first to see errors) and closes the file;
    /// later calls do nothing.
    func close() {
        guard fd >= 0 else { return }
        try? writeBuffer(withTail: true)
        if tailFD != fd { Glibc.close(tailFD) }
        Glibc.close(fd)
        fd = -1
        tailFD = -1
        buffer?.deallocate()
        buffer = nil
    }

    private func bufferMemory() throws -> UnsafeMutableRawPointer {
        if let buffer { return buffer }
        let made = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: Self.alignment)
        buffer = made
        return made
    }

    /// Writes the full buffer out (all of it: `capacity` is whole blocks); grows it if this stream
    /// fills buffers fast.
    private func writeFullBuffer() throws {
        try writeBuffer(withTail: false)
        fillsSinceSync += 1
        if fillsSinceSync >= Self.fillsForLargeBuffer, capacity < Self.largeBufferBytes, buffered == 0 {
            buffer?.deallocate()
            buffer = nil  // the next append allocates it at the new capacity
            capacity = Self.largeBufferBytes
        }
    }

    /// Writes the buffer's whole blocks at `bufferStart` and drops them from it. With `withTail`,
    /// also the partial last block, through the page cache and not padded (so the file ends where
    /// the bytes do); it stays buffered, to be written again whole later.
    private func writeBuffer(withTail: Bool) throws {
        guard let buffer, buffered > 0 else { return }
        if let cipher, sealed < buffered {
            cipher.apply(buffer + sealed, to: buffer + sealed, count: buffered - sealed, at: bufferStart + Int64(sealed))
            sealed = buffered
        }
        let whole = direct ? buffered / Self.alignment * Self.alignment : buffered
        if whole > 0 { try writeFully(buffer, count: whole, at: bufferStart) }
        if withTail, whole < buffered { try writeFully(buffer + whole, count: buffered - whole, at: bufferStart + Int64(whole), to: tailFD) }
        fileSize = max(fileSize, bufferStart + Int64(withTail ? buffered : whole))
        if whole > 0, whole < buffered { buffer.copyMemory(from: buffer + whole, byteCount: buffered - whole) }
        bufferStart += Int64(whole)
        buffered -= whole
        sealed = cipher == nil ? 0 : buffered
    }

    /// pwrite until `count` bytes are written; if the file system refuses the alignment (EINVAL),
    /// falls back to the page cache for the rest of the file and retries.
    private func writeFully(_ bytes: UnsafeRawPointer, count: Int, at offset: Int64, to descriptor: Int32? = nil) throws {
        var done = 0
        while done < count {
            let n = pwrite(descriptor ?? fd, bytes + done, count - done, off_t(offset + Int64(done)))
            if n > 0 {
                done += n
            } else if n < 0, errno == EINTR {
                continue
            } else if n < 0, errno == EINVAL, descriptor == nil, direct, fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~vr_o_direct()) == 0 {
                direct = false
            } else {
                throw StorageError.writeFailed(path: path, reason: n < 0 ? FileIO.errnoText() : "wrote nothing")
            }
        }
    }
}
