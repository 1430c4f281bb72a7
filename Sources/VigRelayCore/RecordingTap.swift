/// Bytes to append to a recording, in order, with what the index needs to know about them.
public struct RecordingChunk: Sendable, Equatable {
    /// A WebM Cluster the relay found, placed relative to this chunk's first byte (negative when
    /// the cluster began in an earlier chunk: the scanner reports a cluster at its first video block).
    public struct ClusterMark: Sendable, Equatable {
        public var offsetInChunk: Int64
        /// Milliseconds of the part's media time (0 at the part's first cluster; on the recording's
        /// timeline the part begins at its manifest `startMs`).
        public var timeMs: Int64
        public var keyframe: Bool
    }

    public var recordingID: String
    /// A slice of the camera message itself (no copy: the live viewers hold the same buffer).
    public var bytes: ArraySlice<UInt8>
    /// The frame header's media time and sequence of the frame these bytes came from.
    public var mediaTimeUs: UInt64
    public var sequence: UInt32
    public var flags: UInt8
    public var clusters: [ClusterMark]
    /// True for the first chunk of a part (the first of the recording, or a restarted stream).
    public var newPart: Bool
    /// The time of the latest WebM block found in these bytes, on the same clock as `ClusterMark.timeMs`:
    /// a part lasts until its last block, not its last cluster start.
    public var lastBlockMs: Int64? = nil
    /// Where the part may end once these bytes are written: just past its last complete WebM block
    /// or element (`WebMScanner.completeEnd`). Nil: after every byte (not WebM, or not WebM the
    /// relay can follow any more), so the part is kept byte for byte.
    public var completeEnd: CompleteEnd? = nil

    /// A place where a part may end cleanly.
    public struct CompleteEnd: Sendable, Equatable {
        /// Relative to the chunk's first byte: at most the chunk's length; negative when the last
        /// complete element ended in an earlier chunk of the part.
        public var offsetInChunk: Int64
        /// The time of the latest block before it, on `ClusterMark.timeMs`'s clock (nil: none yet):
        /// what the part's duration runs to when it is cut there.
        public var lastBlockMs: Int64?

        public init(offsetInChunk: Int64, lastBlockMs: Int64?) {
            self.offsetInChunk = offsetInChunk
            self.lastBlockMs = lastBlockMs
        }
    }
}

/// Decides which camera bytes go into the active recording, so that every recording plays on its own.
///
/// Every camera frame passes through; a WebM stream is scanned for clusters and keyframes. A
/// recording started before the stream begins takes every byte from its init segment on. One started
/// mid-stream takes the stream's init segment, then the bytes from the next cluster that starts with
/// a keyframe (for non-WebM payloads: the next frame flagged keyframe). Each chunk says where the
/// part may end cleanly (`RecordingChunk.completeEnd`): a stream stopped mid-block (MediaRecorder's
/// chunks are arbitrary cuts) is cut there by the writer when the part closes. Owned by the lws
/// thread, inside `RelayCore`, one per session.
public struct RecordingTap: Sendable {
    /// The stream's init segment payload (WebM: up to its first cluster; else the whole init frame).
    private var initPayload: [UInt8]?
    /// WebM init bytes seen so far while the first cluster has not appeared yet.
    private var initBuffer: [UInt8] = []
    /// Longest init segment collected (MediaRecorder's are a few hundred bytes).
    static let maxInitBytes = 1 << 20
    private var scanner: WebMScanner?
    /// Bytes of the current stream fed so far (offset of the next byte).
    private var streamOffset: Int64 = 0
    private var active: Active?
    /// Payloads since the newest cluster start, kept while waiting for a keyframe cluster.
    private var pending: [(offset: Int64, header: MediaFrameHeader, payload: ArraySlice<UInt8>)] = []
    /// Most stream bytes `pending` holds for one cluster (a browser's cluster is a few seconds of video).
    static let maxPendingBytes: Int64 = 16 << 20

    private struct Active {
        var id: String
        /// Waiting for a start point; nothing is written yet.
        var waiting: Bool
        /// Stream offset that maps to `fileBase` in the part file.
        var streamBase: Int64 = 0
        var fileBase: Int64 = 0
        var newPart = true
        var timeBaseMs: Int64?
        /// Stream offset when recording was asked for: only a cluster starting here or later qualifies.
        var requestedAt: Int64 = 0
    }

    public init() {}

    /// Whether a recording is running (or waiting for its first keyframe).
    public var isRecording: Bool { active != nil }
    public var recordingID: String? { active?.id }

    /// Starts recording; bytes follow from `frame` calls.
    public mutating func start(id: String) {
        active = Active(id: id, waiting: true, requestedAt: streamOffset)
        pending.removeAll()
    }

    /// Stops recording; returns nothing more for it.
    public mutating func stop() {
        active = nil
        pending.removeAll()
    }

    /// The camera's sender left or was replaced: its stream is over, and whatever comes next on a
    /// new connection is a new stream. A running recording keeps its id but takes nothing more until
    /// a frame flagged init segment arrives; that stream becomes a new part, from its first byte
    /// (or the first part, if nothing was recorded yet). Frames without a preceding init segment are
    /// never appended: bytes from the middle of an unknown stream after the old part's last byte
    /// would make the part unplayable (a buggy client that resumes mid-stream is relayed live but not
    /// recorded until it sends an init segment).
    public mutating func streamEnded() {
        scanner = nil
        initPayload = nil
        initBuffer = []
        streamOffset = 0
        pending.removeAll()
        guard var rec = active else { return }
        // Waiting, with no scanner and no init segment: only an init frame ends the wait (see `frame`).
        rec.waiting = true
        rec.newPart = true
        rec.timeBaseMs = nil
        rec.requestedAt = 0
        active = rec
    }

    /// Whether the running recording is waiting for a start point (nothing of the current stream
    /// recorded yet): at its start, or after `streamEnded` until an init segment arrives.
    public var isWaiting: Bool { active?.waiting ?? false }

    /// Takes one camera frame (header + payload) and returns what to append to the recording.
    public mutating func frame(_ header: MediaFrameHeader, _ message: [UInt8]) -> [RecordingChunk] {
        let payload = message[MediaFrameHeader.size...]
        if header.flags.contains(.initSegment) { restartStream(with: payload) }
        let start = streamOffset
        streamOffset += Int64(payload.count)
        let events = scanner?.feed(payload) ?? []
        var chunks: [RecordingChunk] = []
        if scanner != nil, initPayload == nil {
            // Collect the WebM init segment, which may span frames, up to its first cluster.
            if let end = events.lazy.compactMap({ e -> Int64? in
                if case .initSegmentEnd(let end) = e { return end } else { return nil }
            }).first {
                // initBuffer holds the stream from offset 0; the init segment is its first `end` bytes.
                initPayload = Array((initBuffer + payload).prefix(Int(end)))
                initBuffer = []
            } else if initBuffer.count + payload.count <= Self.maxInitBytes {
                initBuffer += payload
            }
        }
        guard var rec = active else { return [] }
        if rec.waiting {
            if header.flags.contains(.initSegment) {
                // Starting with the stream itself: record every byte of it.
                rec.waiting = false
                rec.streamBase = start
                rec.fileBase = 0
            } else if scanner != nil {
                pending.append((start, header, payload))
                guard let key = events.lazy.compactMap({ e -> WebMScanner.Cluster? in
                    if case .cluster(let c) = e, c.keyframe, c.offset >= rec.requestedAt { return c } else { return nil }
                }).first, let initBytes = initPayload else {
                    trimPending()
                    active = rec
                    return []
                }
                rec.waiting = false
                rec.newPart = false
                rec.streamBase = key.offset
                rec.fileBase = Int64(initBytes.count)
                rec.timeBaseMs = key.timestampMs
                var initChunk = RecordingChunk(recordingID: rec.id, bytes: initBytes[...], mediaTimeUs: header.mediaTimeMicros,
                                               sequence: header.sequence, flags: MediaFrameFlags.initSegment.rawValue, clusters: [], newPart: true)
                initChunk.completeEnd = .init(offsetInChunk: Int64(initBytes.count), lastBlockMs: nil)
                chunks.append(initChunk)
                let held = pending
                pending.removeAll()
                for item in held where item.offset + Int64(item.payload.count) > key.offset {
                    let from = Int(max(0, key.offset - item.offset))
                    let isLast = item.offset == start
                    chunks.append(chunk(&rec, item.header, item.payload.dropFirst(from), streamStart: item.offset + Int64(from),
                                        events: isLast ? events : [], scanned: isLast))
                }
                active = rec
                return chunks
            } else if header.flags.contains(.keyframe), let initBytes = initPayload {
                rec.waiting = false
                rec.newPart = false
                rec.streamBase = start
                rec.fileBase = Int64(initBytes.count)
                chunks.append(RecordingChunk(recordingID: rec.id, bytes: initBytes[...], mediaTimeUs: header.mediaTimeMicros,
                                             sequence: header.sequence, flags: MediaFrameFlags.initSegment.rawValue, clusters: [], newPart: true))
            } else {
                active = rec
                return []
            }
        }
        chunks.append(chunk(&rec, header, payload, streamStart: start, events: events, scanned: true))
        active = rec
        return chunks
    }

    /// A new init segment: the sender restarted its stream (a new part if recording).
    private mutating func restartStream(with payload: ArraySlice<UInt8>) {
        // A WebM stream starts with the EBML magic; an init frame shorter than it gets the benefit of the doubt.
        let magic: [UInt8] = [0x1A, 0x45, 0xDF, 0xA3]
        let mayBeWebM = WebMScanner.looksLikeWebM(payload) || (payload.count < 4 && payload.elementsEqual(magic.prefix(payload.count)))
        scanner = mayBeWebM ? WebMScanner() : nil
        initPayload = scanner == nil ? Array(payload) : nil
        initBuffer = []
        streamOffset = 0
        pending.removeAll()
        if active != nil, active?.waiting == false {
            // The new part holds the new stream from its first byte: its offsets start again at 0
            // (a recording that began mid-stream had its base at the old stream's key cluster).
            active?.newPart = true
            active?.timeBaseMs = nil
            active?.streamBase = 0
            active?.fileBase = 0
        }
    }

    /// Keeps what may still hold the next keyframe cluster's start: the current cluster, and the last
    /// bytes the scanner may not have recognised as an element yet (an ID and size are at most 12 bytes).
    /// A cluster that has run past `maxPendingBytes` without a keyframe to start from (a sender
    /// that never closes it) is let go: the wait goes on for the next one, with memory bounded.
    private mutating func trimPending() {
        var cutoff = min(scanner?.clusterOffset ?? .max, streamOffset - 16)
        if streamOffset - cutoff > Self.maxPendingBytes { cutoff = streamOffset - 16 }
        pending.removeAll { $0.offset + Int64($0.payload.count) <= cutoff }
    }

    /// Stream bytes held while waiting for a keyframe cluster (for tests).
    var pendingBytes: Int { pending.reduce(0) { $0 + $1.payload.count } }

    /// The chunk of `bytes` (from `streamStart` in the stream) for the recording. `scanned`: the
    /// scanner has read up to the end of these bytes and no further, so its `completeEnd` says where
    /// the part may end after them; held bytes replayed before the newest get the recording's start.
    private func chunk(_ rec: inout Active, _ header: MediaFrameHeader, _ bytes: ArraySlice<UInt8>, streamStart: Int64,
                       events: [WebMScanner.Event], scanned: Bool) -> RecordingChunk {
        var marks: [RecordingChunk.ClusterMark] = []
        var lastBlockMs: Int64?
        for event in events {
            switch event {
            case .cluster(let c) where c.offset >= rec.streamBase:
                if rec.timeBaseMs == nil { rec.timeBaseMs = c.timestampMs }
                marks.append(.init(offsetInChunk: c.offset - streamStart, timeMs: c.timestampMs - (rec.timeBaseMs ?? 0), keyframe: c.keyframe))
            case .block(let b) where b.offset >= rec.streamBase:
                if let base = rec.timeBaseMs { lastBlockMs = max(lastBlockMs ?? .min, b.timeMs - base) }
            default:
                break
            }
        }
        var out = RecordingChunk(recordingID: rec.id, bytes: bytes, mediaTimeUs: header.mediaTimeMicros,
                                 sequence: header.sequence, flags: header.flags.rawValue, clusters: marks, newPart: rec.newPart)
        out.lastBlockMs = lastBlockMs
        out.completeEnd = completeEnd(rec, streamStart: streamStart, scanned: scanned)
        rec.newPart = false
        return out
    }

    /// Where the part may end after a chunk starting at `streamStart`: the scanner's `completeEnd`,
    /// never before the recording's start in this stream (`streamBase`, which is the end of what
    /// went before it in the part: nothing, or the init segment); nil when the stream is not WebM
    /// or the scanner gave up on it.
    private func completeEnd(_ rec: Active, streamStart: Int64, scanned: Bool) -> RecordingChunk.CompleteEnd? {
        guard let scanner, scanner.error == nil else { return nil }
        guard scanned, let end = scanner.completeEnd, end > rec.streamBase else {
            return .init(offsetInChunk: rec.streamBase - streamStart, lastBlockMs: nil)
        }
        let blockMs = rec.timeBaseMs.flatMap { base in scanner.completeEndBlockMs.map { $0 - base } }
        return .init(offsetInChunk: end - streamStart, lastBlockMs: blockMs)
    }
}
