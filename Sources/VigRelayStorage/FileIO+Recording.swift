import Foundation
import VigRelayCore
#if canImport(Glibc)
import Glibc
#endif

/// POSIX helpers the recording code adds to `FileIO`: stat, truncate, read, list, remove, in-place write.
extension FileIO {
    /// The size of a regular file; nil when it is missing or not a regular file.
    static func regularFileSize(_ path: String) -> Int64? {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(st.st_size)
    }

    /// When a file was last written; nil when it cannot be read.
    static func modificationDate(_ path: String) -> Date? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(st.st_mtim.tv_sec) + TimeInterval(st.st_mtim.tv_nsec) / 1e9)
    }

    /// The whole file, or nil when it is missing or unreadable.
    static func readAll(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { [UInt8]($0) }
    }

    /// The whole file; nil when it does not exist; throws when it exists but cannot be read (an I/O
    /// error, out of descriptors, its permissions), for a reader that must not take that for "none".
    static func readAllOrMissing(_ path: String) throws -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw StorageError.readFailed(path: path, reason: errnoText())
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw StorageError.readFailed(path: path, reason: errnoText()) }
            if n == 0 { return bytes }
            bytes += chunk[..<n]
        }
    }

    /// The names in a directory, sorted; empty when it is missing or cannot be listed (for reading:
    /// deletion uses `listing`, which says when it cannot).
    static func names(in directory: String) -> [String] {
        (try? listing(directory)) ?? []
    }

    /// The names in a directory, sorted; empty when it does not exist; throws when it exists but
    /// cannot be listed (out of descriptors, an I/O error, its permissions).
    static func listing(_ directory: String) throws -> [String] {
        guard let dir = opendir(directory) else {
            if errno == ENOENT { return [] }
            throw StorageError.writeFailed(path: directory, reason: "cannot list the directory: \(errnoText())")
        }
        defer { closedir(dir) }
        var names: [String] = []
        errno = 0
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != ".", name != ".." { names.append(name) }
            errno = 0
        }
        guard errno == 0 else { throw StorageError.writeFailed(path: directory, reason: "listing the directory failed: \(errnoText())") }
        return names.sorted()
    }

    /// Shortens a file to `length` bytes and fsyncs it.
    static func truncate(_ path: String, to length: Int64) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StorageError.writeFailed(path: path, reason: errnoText()) }
        defer { close(fd) }
        guard ftruncate(fd, off_t(length)) == 0, fsync(fd) == 0 else {
            throw StorageError.writeFailed(path: path, reason: errnoText())
        }
    }

    /// Overwrites bytes at `offset` (the file keeps its size; encrypted with `cipher` for an
    /// encrypted recording) and fsyncs it.
    static func overwrite(_ bytes: [UInt8], at offset: Int64, in path: String, cipher: MediaCipher? = nil) throws {
        var bytes = bytes
        cipher?.apply(&bytes, at: offset)
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StorageError.writeFailed(path: path, reason: errnoText()) }
        defer { close(fd) }
        let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
        guard n == bytes.count, fsync(fd) == 0 else {
            throw StorageError.writeFailed(path: path, reason: n < 0 ? errnoText() : "short write")
        }
    }

    /// Removes a file; a file that is already gone is not an error.
    static func remove(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else {
            throw StorageError.writeFailed(path: path, reason: errnoText())
        }
    }

    /// fsyncs a directory itself, so removals and new entries in it survive a crash.
    static func syncDirectory(_ directory: String) throws {
        try syncDirectory(of: directory + "/.")
    }
}

/// Reading the start of a file (an init segment) without reading all of it.
extension FileIO {
    /// Up to `count` bytes from the start of a file (decrypted with `cipher` for an encrypted
    /// recording), or nil when it cannot be read.
    static func readPrefix(_ path: String, count: Int, cipher: MediaCipher? = nil) -> [UInt8]? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard var bytes = (try? handle.read(upToCount: count)).map({ [UInt8]($0) }) else { return nil }
        cipher?.apply(&bytes, at: 0)
        return bytes
    }
}
