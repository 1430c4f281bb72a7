/// What a viewer who joins late needs to start decoding a stream at once: the stream's init segment
/// and the frames since its last start point.
///
/// For a WebM stream the start point is the relay's own parsing: the newest Cluster that starts with
/// a keyframe. Browsers' MediaRecorder chunks are not aligned to clusters, so the frame holding that
/// cluster's start is replayed from there (same header, payload cut at the cluster), and the init
/// segment is replayed as the bytes up to the first cluster only. For other payloads (or WebM the
/// scanner rejected) the start point is the newest frame flagged keyframe.
///
/// Bounded in bytes: past the cap the oldest frames go (the stream then has no start point in the
/// cache: a joiner gets the init segment and the most recent frames). Owned by the lws thread,
/// inside `RelayCore`.
public struct StreamCache: Sendable {
    /// Upper bound on the bytes of cached frames (the init segment is kept regardless).
    public let capacityBytes: Int
    /// The init segment message to replay first.
    public private(set) var initSegment: [UInt8]?
    /// Frames since the start point, in order (the first may be cut at a cluster start).
    public var frames: [[UInt8]] { cached.map(\.message) }
    public private(set) var frameBytes = 0

    private var cached: [(offset: Int64, message: [UInt8])] = []
    /// Parses a WebM stream for its init segment end and keyframe clusters; nil for other payloads.
    private var scanner: WebMScanner?
    /// Stream offset of the next payload byte.
    private var streamOffset: Int64 = 0
    /// While a WebM init segment is incomplete: its header and the payload bytes so far.
    private var pendingInit: (header: [UInt8], payload: [UInt8])?
    /// Longest WebM init segment collected (MediaRecorder's are a few hundred bytes).
    static let maxInitBytes = 1 << 20

    public init(capacityBytes: Int) { self.capacityBytes = capacityBytes }

    /// Takes note of one relayed media message (header included) and says where in it a viewer can
    /// start decoding: the payload offset of a keyframe cluster that starts in it (WebM: the relay's
    /// own parsing), 0 for an init segment, end of stream or (other payloads) a keyframe flag, nil when
    /// a decoder cannot start in this message. The slow-viewer queue resumes there.
    @discardableResult
    public mutating func record(_ message: [UInt8], flags: MediaFrameFlags) -> Int? {
        let payload = message.dropFirst(MediaFrameHeader.size)
        if flags.contains(.endOfStream) {
            initSegment = nil
            scanner = nil
            pendingInit = nil
            removeFrames()
            return 0
        }
        if flags.contains(.initSegment) {
            removeFrames()
            streamOffset = 0
            scanner = WebMScanner.looksLikeWebM(payload) ? WebMScanner() : nil
            if scanner == nil {
                initSegment = message
                pendingInit = nil
                return 0
            }
            // WebM: the init segment is the bytes up to the first cluster, known once it is parsed;
            // until then the stream is replayed from its first byte.
            initSegment = nil
            pendingInit = (Array(message.prefix(MediaFrameHeader.size)), [])
        } else if scanner == nil, flags.contains(.keyframe) {
            removeFrames()
        }
        let offset = streamOffset
        streamOffset += Int64(payload.count)
        append(offset, message)
        let byFlags = flags.isStartPoint ? 0 : nil
        guard scanner != nil else { return byFlags }
        if pendingInit != nil, pendingInit!.payload.count + payload.count <= Self.maxInitBytes {
            pendingInit!.payload += payload
        }
        var start: Int? = flags.contains(.initSegment) ? 0 : nil
        for event in scanner!.feed(payload) {
            switch event {
            case .initSegmentEnd(let end):
                if let pending = pendingInit, Int64(pending.payload.count) >= end {
                    initSegment = pending.header + pending.payload.prefix(Int(end))
                    startAt(end)
                }
                pendingInit = nil
            case .cluster(let cluster) where cluster.keyframe:
                startAt(cluster.offset)
                // A cluster whose start came in an earlier message is no start point in this one.
                if cluster.offset >= offset, start == nil { start = Int(cluster.offset - offset) }
            case .error:
                scanner = nil  // not WebM after all: fall back to the keyframe flag
                pendingInit = nil
                return byFlags
            default:
                break
            }
        }
        return start
    }

    /// The messages to send a new viewer, in order: init segment first, then frames.
    public var replay: [[UInt8]] { (initSegment.map { [$0] } ?? []) + frames }

    /// Makes stream offset `start` (the end of the init segment, or a keyframe cluster) the first
    /// byte replayed after the init segment.
    private mutating func startAt(_ start: Int64) {
        guard let first = cached.firstIndex(where: { $0.offset + Int64($0.message.count - MediaFrameHeader.size) > start }),
              cached[first].offset <= start else {
            // Nothing from `start` on is cached yet, or its start was dropped at the cap.
            if cached.last.map({ $0.offset + Int64($0.message.count - MediaFrameHeader.size) <= start }) ?? true { removeFrames() }
            return
        }
        let dropped = cached[..<first].reduce(0) { $0 + $1.message.count }
        cached.removeFirst(first)
        let original = cached[0].message
        let trimmed = MediaFrameHeader.cut(original, fromPayloadOffset: Int(start - cached[0].offset))
        cached[0] = (start, trimmed)
        frameBytes -= dropped + original.count - trimmed.count
    }

    private mutating func append(_ offset: Int64, _ message: [UInt8]) {
        cached.append((offset, message))
        frameBytes += message.count
        var drop = 0
        var bytes = frameBytes
        while bytes > capacityBytes, drop < cached.count {
            bytes -= cached[drop].message.count
            drop += 1
        }
        if drop > 0 {
            cached.removeFirst(drop)
            frameBytes = bytes
        }
    }

    private mutating func removeFrames() {
        cached.removeAll(keepingCapacity: true)
        frameBytes = 0
    }
}
