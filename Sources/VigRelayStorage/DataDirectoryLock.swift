import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One `vigrelay serve` per data directory. A second relay on the same directory would take the
/// first one's running recordings for a crash's leftovers and cut them at its start, and each would
/// keep its own sessions in memory. So `serve` takes an exclusive `flock` on `DATA/serve.lock` before
/// it reads or writes anything else there, and holds it while it runs; the kernel lets go when the
/// process ends, also on a crash or `kill -9`, so a stale lock never blocks a restart. The file
/// holds the holder's pid, for the refusal's message. The admin commands (`token`, `retention`)
/// take no lock: they only read, or write files a running relay re-reads.
///
/// Thread: taken on the main thread at start; the descriptor is only closed when the server ends.
public final class DataDirectoryLock: Sendable {
    private let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    public static func path(dataDir: String) -> String { dataDir + "/serve.lock" }

    /// Takes the lock, or throws `dataDirectoryInUse` naming the relay that holds it.
    public static func acquire(dataDir: String) throws -> DataDirectoryLock {
        try FileIO.makeDirectory(dataDir)
        let path = path(dataDir: dataDir)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StorageError.writeFailed(path: path, reason: FileIO.errnoText()) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            let reason = FileIO.errnoText()
            var bytes = [UInt8](repeating: 0, count: 32)
            let n = read(fd, &bytes, bytes.count)
            close(fd)
            guard busy else { throw StorageError.writeFailed(path: path, reason: "flock: \(reason)") }
            let holder = n > 0 ? Int(String(decoding: bytes.prefix(n), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) : nil
            throw StorageError.dataDirectoryInUse(dataDir: dataDir, pid: holder)
        }
        let pid = Array("\(getpid())\n".utf8)
        if ftruncate(fd, 0) != 0 || pwrite(fd, pid, pid.count, 0) != pid.count {
            let reason = FileIO.errnoText()
            close(fd)
            throw StorageError.writeFailed(path: path, reason: reason)
        }
        return DataDirectoryLock(fd: fd)
    }
}
