import Foundation
import VigRelayCore
#if canImport(Glibc)
import Glibc
#endif

/// One open media file and the resource a download reads from it: the whole file (a recording
/// part), or a clip laid out by a `ClipPlan` (ranges of the file, concatenated, with small patches).
/// The file of an encrypted recording is decrypted as it is read (`cipher`), before the patches.
///
/// The file is opened once, so a download reads one consistent file even while a recording still
/// grows (its length is the size at opening). `read` takes any range of the resource, so Range
/// requests and chunked streaming use the same code. Owned by the reader thread: opened, read and
/// closed there only. Deleting the file does not stop reads through this descriptor: the server
/// drops (closes) every slice of a session when it deletes the session's recordings.
public final class MediaFileSlice {
    /// The resource's length in bytes: the file's size, or the clip's.
    public let length: Int64
    private var fd: Int32
    private let plan: ClipPlan?
    private let cipher: MediaCipher?

    /// Opens `path` read-only. With a plan, its ranges must lie inside the file. With a cipher, the
    /// file is an encrypted recording part and reads return its plaintext.
    public init(path: String, plan: ClipPlan? = nil, cipher: MediaCipher? = nil) throws(RecordingRequestError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw .unreadable("cannot open the media file: \(FileIO.errnoText())") }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            Glibc.close(fd)
            throw .unreadable("the media file is not a regular file")
        }
        let size = Int64(st.st_size)
        if let plan, let end = plan.ranges.map(\.upperBound).max(), end > size {
            Glibc.close(fd)
            throw .unreadable("the clip needs \(end) bytes of a \(size)-byte file")
        }
        self.fd = fd
        self.plan = plan
        self.cipher = cipher
        self.length = plan?.byteCount ?? size
    }

    deinit { close() }

    /// The resource's bytes `range` (clamped to it), patched for a clip.
    public func read(_ range: Range<Int64>) throws(RecordingRequestError) -> [UInt8] {
        guard fd >= 0 else { throw .unreadable("the media file was closed") }
        let wanted = max(range.lowerBound, 0)..<min(range.upperBound, length)
        guard !wanted.isEmpty else { return [] }
        var out = [UInt8](repeating: 0, count: Int(wanted.count))
        var filled = 0
        for source in plan?.sourceRanges(covering: wanted) ?? [wanted] {
            try readFully(source, into: &out, at: filled)
            filled += Int(source.count)
        }
        plan?.patch(&out, at: wanted.lowerBound)
        return out
    }

    /// Closes the file; later reads fail. Safe to call twice.
    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    private func readFully(_ source: Range<Int64>, into buffer: inout [UInt8], at start: Int) throws(RecordingRequestError) {
        var done = 0
        let count = Int(source.count)
        while done < count {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + start + done, count - done, off_t(source.lowerBound) + off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw .unreadable(n < 0 ? "read failed: \(FileIO.errnoText())" : "the media file is shorter than its index says")
            }
            done += n
        }
        if let cipher {
            buffer.withUnsafeMutableBytes { cipher.apply($0.baseAddress! + start, to: $0.baseAddress! + start, count: count, at: source.lowerBound) }
        }
    }
}
