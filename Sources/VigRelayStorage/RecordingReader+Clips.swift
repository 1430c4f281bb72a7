import Foundation
import VigRelayCore

/// Planning a clip from a recording's manifest and, for WebM, its index and init segment, or for
/// fragmented MP4, the part's box layout (reader thread).
extension RecordingReader {
    /// Longest init segment read to find the fields a clip patches (the tap keeps at most this much).
    static let maxInitSegmentBytes = 1 << 20

    /// Plans the clip `request` asks for and returns its record (not saved yet: the writer saves it).
    ///
    /// The span must lie in one part: the part where `fromMs` falls (parts start at their manifest
    /// `startMs`, in ms from the recording's start), and `toMs` must not reach the next part's start.
    /// Media times within a part count from its first cluster or fragment, so they are shifted by
    /// the part's `startMs` to give `ClipPlan` times from the recording's start.
    public func planClip(_ request: ClipRequest, clipID: String, now: Date) -> Result<ClipRecord, RecordingRequestError> {
        plan(request, clipID: clipID, now: now, endingInPart: false).map(\.record)
    }

    /// A cut planned from a recording's part, with what reading it needs (already opened to plan it).
    struct PlannedCut {
        var record: ClipRecord
        var plan: ClipPlan
        /// The part's media file, its cipher (nil when not encrypted) and its content type.
        var path: String
        var cipher: MediaCipher?
        var contentType: String
    }

    /// Plans an excerpt (`MediaRequest.Resource.excerpt`) as a clip that is never saved. Unlike a
    /// clip, a span that runs past the end of its part (or of the recording) is cut short there
    /// rather than refused: a page watching a minute at a time asks for the next minute without
    /// knowing where parts end, and learns the span it got from the plan.
    func planExcerpt(sessionID: String, recordingID: String, fromMs: Int64, toMs: Int64) -> Result<PlannedCut, RecordingRequestError> {
        plan(ClipRequest(sessionID: sessionID, recordingID: recordingID, fromMs: fromMs, toMs: toMs), clipID: "", now: Date(),
             endingInPart: true)
    }

    /// `planClip`, or with `endingInPart` `planExcerpt`.
    private func plan(_ request: ClipRequest, clipID: String, now: Date, endingInPart: Bool) -> Result<PlannedCut, RecordingRequestError> {
        var request = request
        let sid = request.sessionID, rid = request.recordingID
        guard let manifest = store.manifest(sessionID: sid, recordingID: rid), manifest.state != .deleted else {
            return .failure(.recordingNotFound)
        }
        guard manifest.state != .recording else { return .failure(.recordingInProgress(recordingID: rid)) }
        let parts = manifest.parts.sorted { $0.startMs < $1.startMs }
        guard let index = parts.lastIndex(where: { $0.startMs <= request.fromMs }) ?? parts.indices.first else {
            return .failure(.noMedia(recordingID: rid))
        }
        let part = parts[index]
        let next = parts.indices.contains(index + 1) ? parts[index + 1] : nil
        let mediaType = Self.contentType(fileName: part.file)
        guard mediaType == "video/webm" || mediaType == "video/mp4" else {
            return .failure(.notCuttable(mediaType: mediaType, reason: nil))
        }
        if endingInPart, request.fromMs >= 0, request.fromMs < manifest.durationMs {
            request.toMs = min(request.toMs, next?.startMs ?? manifest.durationMs)
        }
        if let next, request.toMs > next.startMs, request.fromMs >= 0, request.toMs > request.fromMs {
            return .failure(.crossesPartBoundary(fromMs: request.fromMs, toMs: request.toMs, nextPartStartMs: next.startMs))
        }
        guard let path = store.mediaPath(sessionID: sid, recordingID: rid, part: part.number),
              let fileLength = FileIO.regularFileSize(path) else { return .failure(.recordingNotFound) }
        let cipher: MediaCipher?
        do throws(RecordingRequestError) { cipher = try self.cipher(part: part.number, of: manifest) } catch { return .failure(error) }
        let endMs = next.map { _ in part.startMs + part.durationMs }
        let planPart = mediaType == "video/webm"
            ? webMPart(part, path: path, fileLength: fileLength, endMs: endMs, sessionID: sid, recordingID: rid, cipher: cipher)
            : mp4Part(part, path: path, endMs: endMs, cipher: cipher)
        return planPart.flatMap { planPart in
            do throws(ClipPlanError) {
                let plan = try ClipPlan(part: planPart, fromMs: request.fromMs, toMs: request.toMs, durationMs: manifest.durationMs)
                return .success(PlannedCut(record: ClipRecord(clipId: clipID, request: request, part: part.number, plan: plan, createdAt: now),
                                           plan: plan, path: path, cipher: cipher, contentType: mediaType))
            } catch {
                return .failure(.invalidSpan(error))
            }
        }
    }

    /// A WebM part from the index's clusters (times from the part's first cluster) and the fields of
    /// its init segment a clip patches.
    private func webMPart(_ part: RecordingManifest.Part, path: String, fileLength: Int64, endMs: Int64?,
                          sessionID: String, recordingID: String, cipher: MediaCipher?) -> Result<ClipPlan.Part, RecordingRequestError> {
        guard let recordingIndex = store.index(sessionID: sessionID, recordingID: recordingID) else {
            return .failure(.unreadable("the recording's index is missing"))
        }
        let points = recordingIndex.clusters(part: part.number).map {
            ClipPlan.CutPoint(offset: $0.offset, timestampMs: part.startMs + $0.timeMs, keyframe: $0.keyframe)
        }
        let initEnd = points.first?.offset ?? fileLength
        guard initEnd <= Self.maxInitSegmentBytes else {
            return .failure(.notCuttable(mediaType: "video/webm", reason: "its init segment (everything before the first cluster) is longer than \(Self.maxInitSegmentBytes) bytes"))
        }
        guard let initBytes = FileIO.readPrefix(path, count: Int(initEnd), cipher: cipher), initBytes.count == Int(initEnd) else {
            return .failure(.unreadable("the recording's init segment cannot be read"))
        }
        var scanner = WebMScanner()
        _ = scanner.feed(initBytes)
        do throws(ClipPlanError) {
            let patches = try ClipPlan.webMPatches(segmentSizeField: scanner.segmentSizeField, durationElement: scanner.durationElement)
            return .success(ClipPlan.Part(cutPoints: points, initEnd: initEnd, fileLength: fileLength, endMs: endMs, patches: patches))
        } catch {
            return .failure(.invalidSpan(error))
        }
    }

    /// A fragmented MP4 part from its box layout: fragment times from the part's first fragment.
    private func mp4Part(_ part: RecordingManifest.Part, path: String, endMs: Int64?, cipher: MediaCipher?) -> Result<ClipPlan.Part, RecordingRequestError> {
        do throws(RecordingRequestError) {
            let file = try MediaFileSlice(path: path, cipher: cipher)
            defer { file.close() }
            return .success(try Mp4PartLayout(file: file).clipPart(startMs: part.startMs, fileLength: file.length, endMs: endMs))
        } catch {
            return .failure(error)
        }
    }
}
