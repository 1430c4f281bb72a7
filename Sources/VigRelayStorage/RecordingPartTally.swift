import VigRelayCore

/// Running totals of one part of a recording: bytes, frames and the media time it spans.
///
/// Both the writer (as frames arrive) and recovery (from the index) count with it, so a manifest's
/// numbers mean the same whichever wrote them. The duration is the span of the part's cluster times
/// when it has clusters (WebM), else the span of its frames' media times; both are measured from
/// the part's first one. A WebM part lasts until its latest block (`F` lines' `lastBlockMs`), not
/// just its last cluster start. A plain value owned by whoever counts.
struct RecordingPartTally: Equatable {
    /// Bytes in the part.
    var bytes: Int64 = 0
    /// Payloads appended to the part.
    var frames = 0
    private var firstClusterMs: Int64?
    private var maxClusterMs: Int64 = 0
    private var maxBlockMs: Int64?
    private var firstMediaUs: UInt64?
    private var maxMediaUs: UInt64 = 0

    /// Counts one appended payload.
    mutating func add(_ frame: RecordingIndex.Frame) {
        frames += 1
        bytes = max(bytes, frame.end)
        if firstMediaUs == nil {
            firstMediaUs = frame.mediaTimeUs
            maxMediaUs = frame.mediaTimeUs
        }
        maxMediaUs = max(maxMediaUs, frame.mediaTimeUs)
        if let ms = frame.lastBlockMs { maxBlockMs = max(maxBlockMs ?? ms, ms) }
    }

    /// Counts a cluster start's time (the time only: a cluster's bytes are counted by its frames).
    mutating func addClusterTime(_ timeMs: Int64) {
        if firstClusterMs == nil {
            firstClusterMs = timeMs
            maxClusterMs = timeMs
        }
        maxClusterMs = max(maxClusterMs, timeMs)
    }

    /// Milliseconds of media in the part, never negative and at most `MediaTime.limitMs` (the frame
    /// header's microseconds are the sender's to choose).
    var durationMs: Int64 {
        if let firstClusterMs { return min(max(0, max(maxClusterMs, maxBlockMs ?? .min) - firstClusterMs), MediaTime.limitMs) }
        if let firstMediaUs, maxMediaUs >= firstMediaUs { return Int64(min((maxMediaUs - firstMediaUs) / 1000, UInt64(MediaTime.limitMs))) }
        return 0
    }

    /// Copies the totals into a manifest part.
    func apply(to part: inout RecordingManifest.Part) {
        part.bytes = bytes
        part.frames = frames
        part.durationMs = durationMs
    }
}
