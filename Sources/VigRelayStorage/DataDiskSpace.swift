import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The space left for the relay on the file system that holds its data directory: what a recording
/// may still grow into. `statvfs`'s blocks available to an unprivileged process (the relay runs as
/// its own user, so blocks kept for root are not its to use), times the fragment size.
///
/// Thread: any; it reads the file system's counters and no file. The server calls it at start and
/// then on the disk writer thread, so a file system that answers slowly (a network mount) holds up
/// no connection.
public enum DataDiskSpace {
    public static func availableBytes(dataDir: String) throws(StorageError) -> Int64 {
        var info = statvfs()
        guard statvfs(dataDir, &info) == 0 else {
            throw .readFailed(path: dataDir, reason: "statvfs: \(FileIO.errnoText())")
        }
        let (bytes, overflow) = Int64(clamping: info.f_bavail).multipliedReportingOverflow(by: Int64(clamping: info.f_frsize))
        return overflow ? .max : bytes
    }
}
