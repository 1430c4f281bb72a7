import Foundation
import VigRelayCore

/// One recording being written: its media parts, its index and its manifest.
///
/// Created when recording starts; every camera payload goes through `append`, in order and exactly
/// as received; `sync` writes out and fsyncs (`RecordingSyncer` syncs the open recordings once a
/// second, together, so data is durable within about a second); `finish` flushes and marks the
/// manifest `complete`. Between syncs the media may be held in a write-behind buffer
/// (`DirectAppendFile`: large `O_DIRECT` writes) and the index lines in memory; a reader of a
/// running recording sees it as of the last sync or full buffer. A write error (ENOSPC, EIO, the
/// quota) is thrown as a `StorageError`; the caller then calls `fail`, which keeps what was written
/// readable and marks the manifest `failed`.
/// After a crash, `RecordingRecovery` finds the manifest still `recording` and repairs the files.
///
/// Files (see `RecordingPaths`): part 1 is `{rid}.webm` (or `.mp4` / `.bin`, from the part's first
/// bytes), a restarted stream opens part 2 `{rid}.2.webm`, ...; `{rid}.index` (see
/// `RecordingIndex`); `{rid}.json`. The media is synced before the index, so a synced index line
/// never describes bytes that are not on disk. The manifest is rewritten when a part opens and when
/// the recording ends; between those, `manifest` holds the live totals.
///
/// A part ends where its last complete WebM block or element ends (`completeEnd` of each append,
/// from `RecordingTap`): when it closes (`finish`, or the next part opening after the camera's
/// connection dropped), bytes after that point (half a block, when the sender stopped mid-chunk)
/// are cut off, with their index lines, and the totals recounted. Parts appended without a
/// `completeEnd` (MP4, other media, WebM the scanner could not follow) are kept byte for byte. A
/// failed recording keeps every byte written.
///
/// With a `RecordingKeyring` (`--recording-key`) the recording gets its own random data key, kept
/// wrapped in the manifest, and every part's media is written encrypted with it (`MediaCipher`);
/// the index and manifest hold no media and stay as they are.
///
/// Owned by the disk writer thread (`DiskWriter`): create it, call it and drop it there only; never
/// on the lws thread.
public final class RecordingFile {
    /// The session recorded.
    public let sessionID: String
    /// This recording's id (16 lower-case hex characters).
    public let recordingID: String
    /// Most media bytes this recording may hold over all its parts; nil for no limit.
    public let quotaBytes: Int64?
    /// The manifest with the totals so far (on disk it is rewritten only when a part opens or at the end).
    public private(set) var manifest: RecordingManifest
    /// The recording key, for `fail`'s repair; nil when recordings are not encrypted.
    private let keyring: RecordingKeyring?
    /// This recording's data key; nil when it is not encrypted.
    private let dataKey: [UInt8]?

    private let paths: RecordingPaths
    private let manifestPath: String
    private let index: AppendOnlyFile
    private var media: DirectAppendFile?
    private var tally = RecordingPartTally()
    /// Media bytes over all parts.
    private var totalBytes: Int64 = 0
    private var unsynced = false
    /// Where the current part may end cleanly, and the time of its last complete block then.
    private var completeEnd: Int64 = 0
    private var completeBlockMs: Int64?
    /// The current part's payloads that end past `completeEnd`, oldest first: what a cut takes back.
    private var tail: [TailFrame] = []
    /// Most payloads `tail` holds. A stream whose element never ends (a Cluster claiming gigabytes)
    /// would grow it without bound: past this the part is kept whole, as other media is.
    static let maxTailFrames = 4096
    /// The current part is kept byte for byte (its tail grew past `maxTailFrames`).
    private var keepWhole = false

    /// A payload that may be cut off: its index records, where its lines start in the index file,
    /// and the part's totals before it.
    private struct TailFrame {
        var frame: RecordingIndex.Frame
        var clusters: [RecordingIndex.Cluster]
        var indexOffset: Int64
        var tallyBefore: RecordingPartTally
    }

    /// Creates the session's `recordings` directory (0700), an empty index and a manifest in state
    /// `recording` (with a new data key when `keyring` is given). Throws for invalid ids, an id
    /// already used, or a write error.
    public init(dataDir: String, sessionID: String, recordingID: String, startedAt: Date,
                stream: String = "camera", quotaBytes: Int64? = nil, keyring: RecordingKeyring? = nil) throws {
        let paths = RecordingPaths(dataDir: dataDir)
        guard Identifiers.isValidSessionID(sessionID) else { throw StorageError.invalidIdentifier(kind: "session") }
        guard let dir = paths.recordingsDirectory(sessionID),
              let manifestPath = paths.manifestFile(sessionID: sessionID, recordingID: recordingID),
              let indexPath = paths.indexFile(sessionID: sessionID, recordingID: recordingID) else {
            throw StorageError.invalidIdentifier(kind: "recording")
        }
        try FileIO.makeDirectory(dir)
        try FileIO.syncDirectory(of: dir)
        for path in [manifestPath, indexPath] where FileIO.regularFileSize(path) != nil {
            throw StorageError.recordingExists(path: path)
        }
        self.sessionID = sessionID
        self.recordingID = recordingID
        self.quotaBytes = quotaBytes
        self.paths = paths
        self.manifestPath = manifestPath
        var manifest = RecordingManifest(recordingId: recordingID, sessionId: sessionID, stream: stream,
                                         mediaType: RecordingManifestFile.mediaType(of: .other), startedAt: startedAt)
        let key = keyring?.newDataKey(sessionID: sessionID, recordingID: recordingID)
        manifest.encryption = key?.encryption
        self.manifest = manifest
        self.keyring = keyring
        self.dataKey = key?.dataKey
        index = try AppendOnlyFile(path: indexPath, truncating: true, holdingWrites: true)
        try index.sync()
        try RecordingManifestFile.write(manifest, to: manifestPath)
    }

    /// Path of the part being written, if one is open.
    public var currentMediaPath: String? { media?.path }

    /// Appends one payload to the current part and records it in the index.
    ///
    /// `newPart` is true for the first payload and for the first payload of a restarted stream (a new
    /// init segment): it opens the next part, named from the payload's first bytes, and for parts
    /// after the first writes a `G` line. `clusters` are the WebM Cluster starts found, relative to
    /// this payload's first byte; an offset may be negative for a cluster that began in an earlier
    /// payload of the same part (the scanner reports a cluster once its first block is read). Nothing
    /// is written when the quota would be passed or a cluster lies outside the part; on a write error
    /// the files are cut back to what they held before.
    /// `lastBlockMs` is the latest WebM block time in the payload (clock of `clusters`), if any.
    /// `completeEnd` says where the part may end once the payload is written (relative to its first
    /// byte, at most its length, negative when in an earlier payload) and the latest block's time
    /// then; nil: after the payload's last byte.
    public func append(payload: ArraySlice<UInt8>, mediaTimeUs: UInt64, sequence: UInt32, flags: UInt8,
                       clusters: [(offsetInPayload: Int, timeMs: Int64, keyframe: Bool)],
                       newPart: Bool, lastBlockMs: Int64? = nil,
                       completeEnd: (offsetInPayload: Int64, lastBlockMs: Int64?)? = nil, at now: Date = Date()) throws {
        guard manifest.state == .recording else { throw StorageError.recordingClosed(recordingID: recordingID) }
        // A part's container is sniffed from its first bytes, once (not per payload: it was 3% of
        // the writer's time with hundreds of recordings).
        let openingContainer: MediaContainer? = newPart || media == nil ? MediaContainer(sniffing: payload.prefix(8)) : nil
        // The part this one follows ends first: what its cut gives back counts against the quota.
        if openingContainer != nil { try cutToCompleteEnd() }
        if let quotaBytes, totalBytes + Int64(payload.count) > quotaBytes {
            let path = openingContainer.flatMap { mediaPath(part: manifest.parts.count + 1, $0) } ?? media?.path
            throw StorageError.quotaExceeded(path: path ?? manifestPath, limitBytes: quotaBytes)
        }
        let offset = openingContainer != nil ? 0 : tally.bytes
        let end = offset + Int64(payload.count)
        let starts = clusters.map { (offset: offset + Int64($0.offsetInPayload), timeMs: $0.timeMs, keyframe: $0.keyframe) }
        if let bad = starts.first(where: { $0.offset < 0 || $0.offset >= end }) {
            throw StorageError.clusterOutsidePart(recordingID: recordingID, offset: bad.offset, partBytes: end)
        }

        var lines: [UInt8] = []
        lines.reserveCapacity(64 * (1 + starts.count))
        if let container = openingContainer {
            try openPart(container: container, at: now)
            if manifest.parts.count > 1 {
                RecordingIndex.Record.gap(part: manifest.parts.count, unixMs: Self.unixMs(now)).appendLine(to: &lines)
            }
        }
        let gapBytes = lines.count
        guard let media else { throw StorageError.recordingClosed(recordingID: recordingID) }
        let part = manifest.parts.count
        let frame = RecordingIndex.Frame(part: part, offset: offset, length: Int64(payload.count),
                                         mediaTimeUs: mediaTimeUs, sequence: sequence, flags: flags, lastBlockMs: lastBlockMs)
        let marks = starts.map { RecordingIndex.Cluster(part: part, offset: $0.offset, timeMs: $0.timeMs, keyframe: $0.keyframe) }
        RecordingIndex.Record.frame(frame).appendLine(to: &lines)
        for mark in marks { RecordingIndex.Record.cluster(mark).appendLine(to: &lines) }
        let entry = TailFrame(frame: frame, clusters: marks, indexOffset: index.size + Int64(gapBytes), tallyBefore: tally)

        try media.append(payload)
        do {
            try index.append(lines)
        } catch {
            try? media.truncate(to: offset)
            throw error
        }
        tally.add(frame)
        for start in starts { tally.addClusterTime(start.timeMs) }
        totalBytes += Int64(payload.count)
        tally.apply(to: &manifest.parts[part - 1])
        unsynced = true
        if let completeEnd, !keepWhole {
            self.completeEnd = min(end, max(0, offset + completeEnd.offsetInPayload))
            completeBlockMs = completeEnd.lastBlockMs
        } else {
            self.completeEnd = end
            completeBlockMs = nil
        }
        tail.append(entry)
        if let keep = tail.firstIndex(where: { $0.frame.end > self.completeEnd }) { tail.removeFirst(keep) } else { tail.removeAll(keepingCapacity: true) }
        if tail.count > Self.maxTailFrames {
            keepWhole = true
            self.completeEnd = end
            tail.removeAll()
        }
    }

    /// Cuts the current part back to `completeEnd`: the index loses the lines of the payloads past
    /// it (the one it falls in keeps its line, shortened, and its clusters before the cut), then the
    /// media file is truncated and the part's totals recounted. Nothing happens when the part ends
    /// cleanly already. Leaves the files unsynced.
    private func cutToCompleteEnd() throws {
        guard let media, completeEnd < media.size, let first = tail.first else {
            tail.removeAll()
            return
        }
        let part = manifest.parts.count
        var kept = first.tallyBefore
        var lines: [UInt8] = []
        if first.frame.offset < completeEnd {
            var frame = first.frame
            frame.length = completeEnd - frame.offset
            frame.lastBlockMs = completeBlockMs
            RecordingIndex.Record.frame(frame).appendLine(to: &lines)
            kept.add(frame)
            for cluster in first.clusters where cluster.offset < completeEnd {
                RecordingIndex.Record.cluster(cluster).appendLine(to: &lines)
                kept.addClusterTime(cluster.timeMs)
            }
        }
        try index.truncate(to: first.indexOffset)
        try index.append(lines)
        let removed = media.size - completeEnd
        try media.truncate(to: completeEnd)
        kept.bytes = completeEnd
        tally = kept
        totalBytes -= removed
        tally.apply(to: &manifest.parts[part - 1])
        tail.removeAll()
        unsynced = true
    }

    /// True while the recording is open and holds appends not yet synced.
    public var needsSync: Bool { manifest.state == .recording && unsynced }

    /// Writes out and fsyncs everything appended: the media first, then the index lines for it.
    public func sync() throws {
        try writeOutMedia(flush: true)
        try writeOutIndex(flush: true)
        markSynced()
    }

    // The steps of `sync`, for `RecordingSyncer`, which flushes many recordings' files together
    // (`flush` false: written, left for a `syncfs`).

    /// Writes out the media held in memory; with `flush`, `fdatasync`s it.
    func writeOutMedia(flush: Bool) throws {
        if flush { try media?.sync() } else { try media?.writeHeld() }
    }

    /// Writes out the index lines held in memory; with `flush`, fsyncs them. Call it once the media
    /// they describe is on the device.
    func writeOutIndex(flush: Bool) throws {
        if flush { try index.sync() } else { try index.writeHeld() }
    }

    /// Records that everything appended is on the device.
    func markSynced() { unsynced = false }

    /// The file system the recording is on, and a descriptor on it (the index's, open while recording).
    var fileSystem: (device: UInt64, descriptor: Int32) { (index.device, index.descriptor) }

    /// Cuts the last part to its last complete element, fsyncs, closes and marks the manifest
    /// `complete`; returns it. After a thrown error the recording is still open: call `fail`.
    public func finish(at time: Date) throws -> RecordingManifest {
        guard manifest.state == .recording else { throw StorageError.recordingClosed(recordingID: recordingID) }
        try cutToCompleteEnd()
        try sync()
        var done = manifest
        done.move(to: .complete, at: time)
        try RecordingManifestFile.write(done, to: manifestPath)
        manifest = done
        close()
        return manifest
    }

    /// Closes what it can, keeps everything written so far, marks the manifest `failed` with
    /// `reason` (no media content in it); returns it. A recording already ended is returned as it is.
    /// When the media or index still held in memory cannot be written (the disk is full), what
    /// reached the disk is kept, cut back to whole frames as recovery would. When even that cut
    /// fails, the manifest on disk is left `recording`, so recovery makes the cut at the next start,
    /// and the reason says so.
    @discardableResult
    public func fail(reason: String, at time: Date) -> RecordingManifest {
        guard manifest.state == .recording else { return manifest }
        var cutBack = false
        do {
            try media?.sync()
            try index.sync()
        } catch {
            // What was held could not all be written: the index lines it holds are dropped (never
            // written after media that is not there), and the files and totals are cut back to what
            // the synced index vouches for, as recovery after a crash does.
            index.discardHeld()
            cutBack = true
        }
        close()
        var repairFailure: Error?
        if cutBack {
            do { manifest = try RecordingRecovery.repair(manifest, paths: paths, keyring: keyring) } catch { repairFailure = error }
        }
        manifest.move(to: .failed, at: time)
        manifest.failure = repairFailure.map { reason + "; the files could not be cut back to what the index vouches for (\($0)), which the next start does" } ?? reason
        if repairFailure != nil { return manifest }  // left `recording` on disk, for recovery
        // On a full disk this may fail too; recovery then finds the manifest `recording` and
        // marks it `interrupted` at the next start.
        try? RecordingManifestFile.write(manifest, to: manifestPath)
        return manifest
    }

    private func close() {
        media?.close()
        index.close()
    }

    /// Ends the current part (cut to its last complete element, synced) and opens the next one,
    /// listed in the manifest first so that recovery knows every file.
    private func openPart(container: MediaContainer, at now: Date) throws {
        if let media {
            try cutToCompleteEnd()
            try media.sync()
            try index.sync()
            media.close()
            self.media = nil
        }
        let number = manifest.parts.count + 1
        guard number <= RecordingManifest.maxParts else {
            throw StorageError.tooManyParts(recordingID: recordingID, limit: RecordingManifest.maxParts)
        }
        guard let name = RecordingPaths.mediaFileName(recordingID: recordingID, part: number, container: container),
              let path = mediaPath(part: number, container) else {
            throw StorageError.invalidIdentifier(kind: "recording")
        }
        var startMs: Int64 = 0
        if let last = manifest.parts.last {
            let wall = Self.unixMs(now) - Self.unixMs(manifest.startedAt)
            startMs = max(last.startMs + last.durationMs, wall)
        } else {
            manifest.mediaType = RecordingManifestFile.mediaType(of: container)
        }
        var next = manifest
        next.parts.append(RecordingManifest.Part(number: number, file: name, startMs: startMs))
        try RecordingManifestFile.write(next, to: manifestPath)
        manifest = next
        tally = RecordingPartTally()
        completeEnd = 0
        completeBlockMs = nil
        tail.removeAll()
        keepWhole = false
        media = try DirectAppendFile(path: path, cipher: dataKey.map { MediaCipher(dataKey: $0, part: number) })
        try FileIO.syncDirectory(of: path)
    }

    private func mediaPath(part: Int, _ container: MediaContainer) -> String? {
        paths.mediaFile(sessionID: sessionID, recordingID: recordingID, part: part, container: container)
    }

    static func unixMs(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
}
