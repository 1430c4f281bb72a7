import Foundation
import VigRelayCore

/// A file or stdin cut into chunks of a fixed size (the last may be shorter); the first chunk is
/// flagged init segment and keyframe, so a late viewer gets the file's head.
///
/// Thread: the sender's thread; reads block there. Owns the descriptor (closed at the end or on deinit).
final class ChunkedFileSource: FrameSource {
    /// Payload bytes per frame.
    let chunkSize: Int
    private let name: String
    private var fd: Int32
    private let closeWhenDone: Bool
    private var index = 0

    /// Opens `path`, or stdin for nil.
    init(path: String?, chunkSize: Int) throws(ClientError) {
        self.chunkSize = chunkSize
        if let path {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw .io("cannot read \(path): \(String(cString: strerror(errno)))") }
            self.fd = fd
            self.name = path
            self.closeWhenDone = true
        } else {
            self.fd = STDIN_FILENO
            self.name = "stdin"
            self.closeWhenDone = false
        }
    }

    deinit { closeFile() }

    func next() throws(ClientError) -> SourceFrame? {
        guard fd >= 0 else { return nil }
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        var filled = 0
        while filled < chunkSize {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, chunkSize - filled) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io("cannot read \(name): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            filled += n
        }
        if filled < chunkSize { closeFile() }
        guard filled > 0 else { return nil }
        chunk.removeLast(chunkSize - filled)
        defer { index += 1 }
        return SourceFrame(payload: chunk, flags: index == 0 ? [.initSegment, .keyframe] : [])
    }

    private func closeFile() {
        if closeWhenDone, fd >= 0 { close(fd) }
        fd = -1
    }
}
