import CLinuxIO
import Foundation

/// Makes the open recordings durable once a second, together: every recording's held media is
/// written, one `syncfs` puts it all on the device, then every recording's index lines, and a second
/// `syncfs`. The media still reaches the device before the index lines that describe it, as in a
/// recording's own `sync`.
///
/// Why: synced one by one, each recording cost an `fdatasync` of its media and an `fsync` of its
/// index every second, each with a flush of the device's cache. With 1,200 recordings (benchmark
/// scenario 3) that was about 2,300 flushes and 10,000 device writes a second, and at 1,400 the
/// disk writer thread fell behind and held the cameras back (p99 0.5 s). Together: 2 flushes a
/// second, half the writes, and the relay used 0.53-0.56 of a core instead of 0.58-0.64 for the
/// same 1,200 pairs (/proc samples of alternated runs).
///
/// Fewer than `fileSystemSyncMinimum` recordings on a file system are synced one by one: `syncfs`
/// also writes out what other programs left unwritten there, which for a few recordings may cost
/// more than it saves (a judgement, not measured: below it the saving is a few flushes a second).
/// When `syncfs` fails (it reports a write-back error anywhere on the file system, maybe in another
/// program's file), each recording is flushed on its own, so that its own `fdatasync` and `fsync`
/// say whether its data reached the disk.
///
/// Owned by the disk writer thread, as the recordings it syncs.
public final class RecordingSyncer {
    /// The longest appended data waits to be synced (about: the caller checks after each append
    /// and on a periodic tick).
    public static let interval: TimeInterval = 1
    /// Recordings on one file system from which they are synced with `syncfs`.
    public static let fileSystemSyncMinimum = 8

    /// When the last sync ran (the start time before the first).
    public private(set) var lastSyncAt: Date
    private let syncFileSystem: (Int32) -> Int32

    /// `syncFileSystem` is `syncfs(2)`; tests pass one that fails, or counts.
    public init(startedAt: Date, syncFileSystem: @escaping (Int32) -> Int32 = { vr_syncfs($0) }) {
        self.lastSyncAt = startedAt
        self.syncFileSystem = syncFileSystem
    }

    /// A recording that could not be written or flushed, with the error.
    public typealias Failure = (file: RecordingFile, error: any Error)

    /// What a sync did.
    public struct Outcome {
        /// The recordings that failed: the caller fails them (`RecordingFile.fail`).
        public var failures: [Failure]
        /// How long it took.
        public var seconds: TimeInterval
    }

    /// When `interval` has passed since the last sync, syncs every recording of `files` that holds
    /// unsynced appends; nil when it was not due.
    public func syncIfDue(_ files: some Sequence<RecordingFile>, now: Date) -> Outcome? {
        guard now.timeIntervalSince(lastSyncAt) >= Self.interval else { return nil }
        lastSyncAt = now
        let started = Date()
        var failures: [Failure] = []
        for group in Dictionary(grouping: files.filter(\.needsSync), by: \.fileSystem.device).values {
            if group.count >= Self.fileSystemSyncMinimum {
                syncTogether(group, failures: &failures)
            } else {
                for file in group {
                    do { try file.sync() } catch { failures.append((file, error)) }
                }
            }
        }
        return Outcome(failures: failures, seconds: Date().timeIntervalSince(started))
    }

    /// The two halves of a sync for recordings on one file system, each written for all and then
    /// flushed with one `syncfs` (or, when that fails, file by file).
    private func syncTogether(_ group: [RecordingFile], failures: inout [Failure]) {
        var pending = attempt(group, failures: &failures) { try $0.writeOutMedia(flush: false) }
        if !flushFileSystem(of: pending) {
            pending = attempt(pending, failures: &failures) { try $0.writeOutMedia(flush: true) }
        }
        pending = attempt(pending, failures: &failures) { try $0.writeOutIndex(flush: false) }
        if !flushFileSystem(of: pending) {
            pending = attempt(pending, failures: &failures) { try $0.writeOutIndex(flush: true) }
        }
        for file in pending { file.markSynced() }
    }

    /// `syncfs` on the file system of `files` (all on one); true when it succeeded or there is nothing to flush.
    /// It goes through the recording open longest: since Linux 5.8 `syncfs` reports the write-back
    /// errors that happened after its descriptor was opened, and that one was opened before any
    /// byte of the others was written.
    private func flushFileSystem(of files: [RecordingFile]) -> Bool {
        guard let oldest = files.min(by: { $0.manifest.startedAt < $1.manifest.startedAt }) else { return true }
        return syncFileSystem(oldest.fileSystem.descriptor) == 0
    }

    /// Runs `step` on each file; returns those it succeeded on and adds the others to `failures`.
    private func attempt(_ files: [RecordingFile], failures: inout [Failure],
                         _ step: (RecordingFile) throws -> Void) -> [RecordingFile] {
        files.filter { file in
            do {
                try step(file)
                return true
            } catch {
                failures.append((file, error))
                return false
            }
        }
    }
}
