import Foundation
import VigRelayCore

/// Planning a clip from a recording's manifest, index and init segment (reader thread).
extension RecordingReader {
    /// Longest init segment read to find the fields a clip patches (the tap keeps at most this much).
    static let maxInitSegmentBytes = 1 << 20

    /// Plans the clip `request` asks for and returns its record (not saved yet: the writer saves it).
    ///
    /// The span must lie in one part: the part where `fromMs` falls (parts start at their manifest
    /// `startMs`, in ms from the recording's start), and `toMs` must not reach the next part's start.
    /// Times of the index's clusters are relative to their part's first cluster, so they are shifted
    /// by the part's `startMs` to give `ClipPlan` times from the recording's start.
    public func planClip(_ request: ClipRequest, clipID: String, now: Date) -> Result<ClipRecord, RecordingRequestError> {
        let sid = request.sessionID, rid = request.recordingID
        guard let manifest = store.manifest(sessionID: sid, recordingID: rid), manifest.state != .deleted else {
            return .failure(.recordingNotFound)
        }
        guard manifest.state != .recording else { return .failure(.recordingInProgress(recordingID: rid)) }
        let parts = manifest.parts.sorted { $0.startMs < $1.startMs }
        guard let index = parts.lastIndex(where: { $0.startMs <= request.fromMs }) ?? parts.indices.first else {
            return .failure(.invalidSpan(.pastTheEnd(fromMs: request.fromMs, toMs: request.toMs, durationMs: 0)))
        }
        let part = parts[index]
        let next = parts.indices.contains(index + 1) ? parts[index + 1] : nil
        guard Self.contentType(fileName: part.file) == "video/webm" else {
            return .failure(.notWebM(mediaType: Self.contentType(fileName: part.file)))
        }
        if let next, request.toMs > next.startMs, request.fromMs >= 0, request.toMs > request.fromMs {
            return .failure(.crossesPartBoundary(fromMs: request.fromMs, toMs: request.toMs, nextPartStartMs: next.startMs))
        }
        guard let path = store.mediaPath(sessionID: sid, recordingID: rid, part: part.number),
              let fileLength = FileIO.regularFileSize(path) else { return .failure(.recordingNotFound) }
        guard let recordingIndex = store.index(sessionID: sid, recordingID: rid) else {
            return .failure(.unreadable("the recording's index is missing"))
        }
        let clusters = recordingIndex.clusters(part: part.number).map {
            WebMScanner.Cluster(offset: $0.offset, timestampMs: part.startMs + $0.timeMs, keyframe: $0.keyframe)
        }
        let initEnd = clusters.first?.offset ?? fileLength
        guard initEnd <= Self.maxInitSegmentBytes, let initBytes = FileIO.readPrefix(path, count: Int(initEnd)),
              initBytes.count == Int(initEnd) else {
            return .failure(.unreadable("the recording's init segment cannot be read"))
        }
        var scanner = WebMScanner()
        _ = scanner.feed(initBytes)
        let planPart = ClipPlan.Part(clusters: clusters, initEnd: initEnd, fileLength: fileLength,
                                     endMs: next.map { _ in part.startMs + part.durationMs },
                                     segmentSizeField: scanner.segmentSizeField, durationElement: scanner.durationElement)
        do {
            let plan = try ClipPlan(part: planPart, fromMs: request.fromMs, toMs: request.toMs, durationMs: manifest.durationMs)
            return .success(ClipRecord(clipId: clipID, request: request, part: part.number, plan: plan, createdAt: now))
        } catch {
            return .failure(.invalidSpan(error))
        }
    }
}
