/// An incremental WebM (Matroska/EBML) parser that finds where the init segment ends and where each
/// Cluster starts, with its time and whether a decoder can start there.
///
/// Browsers' MediaRecorder chunks are not aligned to clusters, so the recorder feeds the camera's
/// bytes in whatever pieces they arrive; feeding one byte at a time gives the same events as feeding
/// everything at once. Payloads are skipped by counting: the scanner keeps at most an element header
/// or the few bytes of a value it reads (a dozen bytes), never the stream. It reads only what it needs:
/// the EBML header, Segment, Info/TimestampScale, Tracks (which tracks are video), Clusters and the
/// first bytes of every SimpleBlock and Block.
///
/// Unknown-size Segments and Clusters (Chrome's MediaRecorder writes both) end where an element that
/// can only be their sibling or an ancestor's sibling starts; a second EBML header later in the stream
/// (a restarted recorder) ends them all and starts a new init segment. Sized elements (ffmpeg) end by
/// their size. On bytes that cannot be WebM it reports one `.error` and ignores the rest of the input.
///
/// A new EBML header is recognised only where an element may start and outside a sized Segment: when
/// a sender's stream was cut mid-element (a reconnect), the new stream's header would be read as the
/// old stream's payload. So give each stream the sender starts (media frame flag `initSegment`) a
/// new scanner.
///
/// A plain value owned by whoever feeds it (in the relay: the thread that receives the camera frames).
public struct WebMScanner: Sendable {
    /// What the scanner found, in stream order, with absolute byte offsets from the first byte fed.
    public enum Event: Sendable, Equatable {
        /// An EBML header starts here: the init segment of a (possibly restarted) stream begins.
        case initSegmentStart(offset: Int64)
        /// The first Cluster of the current Segment starts here: the bytes from the last
        /// `initSegmentStart` up to this offset are the init segment (EBML header, Segment header,
        /// SeekHead, Info, Tracks, ...).
        case initSegmentEnd(offset: Int64)
        /// A Cluster, reported once its first video block's header was read (or, for a cluster without
        /// a video block, when the cluster ends). Clusters with no block at all are not reported.
        case cluster(Cluster)
        /// A SimpleBlock (reported when its header is read) or a BlockGroup (when the group ends).
        case block(Block)
        /// The input is not valid WebM from this point: reported once, then all input is ignored.
        case error(ScanError)
    }

    /// A Cluster: where it starts and whether decoding can start there.
    public struct Cluster: Sendable, Equatable {
        /// Offset of the Cluster element's ID: cut here to start a clip or a late recording.
        public var offset: Int64
        /// The Cluster's Timestamp in milliseconds (TimestampScale applied).
        public var timestampMs: Int64
        /// True when the cluster's first video block is a keyframe (for a stream without video
        /// tracks: its first block), so that init segment + bytes from `offset` decode on their own.
        public var keyframe: Bool

        /// Makes a cluster record; the scanner makes these, tests compare against them.
        public init(offset: Int64, timestampMs: Int64, keyframe: Bool) {
            self.offset = offset
            self.timestampMs = timestampMs
            self.keyframe = keyframe
        }
    }

    /// One coded frame (or laced frames) of one track.
    public struct Block: Sendable, Equatable {
        /// Offset of the SimpleBlock, or of the BlockGroup holding the Block.
        public var offset: Int64
        /// Offset just past that element: the block is complete once the stream reaches it.
        public var end: Int64
        /// Offset of the Cluster holding the block. An audio block can be reported before its
        /// cluster's `.cluster` event, which waits for the first video block.
        public var clusterOffset: Int64
        /// The Matroska track number.
        public var track: UInt64
        /// Absolute time in milliseconds: cluster Timestamp + the block's signed 16-bit relative
        /// timestamp, TimestampScale applied.
        public var timeMs: Int64
        /// SimpleBlock: the keyframe flag (0x80). Block in a BlockGroup: the group has no
        /// ReferenceBlock, i.e. the frame references no other frame.
        public var keyframe: Bool
        /// True when Tracks declared this track as video, or when no video track is known.
        public var isVideo: Bool

        /// Makes a block record; the scanner makes these, tests compare against them.
        public init(offset: Int64, end: Int64, clusterOffset: Int64, track: UInt64, timeMs: Int64,
                    keyframe: Bool, isVideo: Bool) {
            self.offset = offset
            self.end = end
            self.clusterOffset = clusterOffset
            self.track = track
            self.timeMs = timeMs
            self.keyframe = keyframe
            self.isVideo = isVideo
        }
    }

    /// TimestampScale when a Segment's Info does not give one: 1 ms per tick, in nanoseconds.
    public static let defaultTimestampScale: UInt64 = 1_000_000
    /// Default for `maxElementSize`: 256 MiB, far above any frame, far below garbage sizes.
    public static let defaultMaxElementSize: Int64 = 1 << 28
    /// Most video track numbers remembered per Segment (more are ignored: bounded memory).
    public static let maxVideoTracks = 8

    /// Largest size accepted for any element but a Segment or Cluster; larger is reported as corrupt.
    public let maxElementSize: Int64
    /// Bytes fed so far (including any fed after an error).
    public internal(set) var position: Int64 = 0
    /// The error reported, if any; once set, input is ignored.
    public internal(set) var error: ScanError?
    /// The current Segment's TimestampScale in nanoseconds per tick.
    public internal(set) var timestampScale: UInt64 = defaultTimestampScale
    /// Track numbers the current Segment's Tracks declare as video (TrackType 1).
    public internal(set) var videoTracks: [UInt64] = []
    /// Time of the latest block reported, in milliseconds: with the first cluster's time, a duration.
    public internal(set) var lastBlockTimeMs: Int64?

    /// Where the current Segment's size is written, when it has one (ffmpeg writing to a file).
    ///
    /// A clip made of the init segment and some clusters must overwrite these bytes with
    /// `unknownSizeField(length:)`, or players take it for a truncated file. Nil for an unknown-size
    /// Segment (MediaRecorder, `ffmpeg -live 1`).
    public internal(set) var segmentSizeField: Range<Int64>?
    /// Where the current Segment's Info/Duration element is, if it has one (ffmpeg writing to a file).
    ///
    /// A clip should overwrite it with `voidElement(length:)` so players take the clip's duration
    /// from its blocks instead of the whole recording's.
    public internal(set) var durationElement: Range<Int64>?

    /// Offset of the Cluster being read, or nil between clusters.
    public var clusterOffset: Int64? { cluster?.offset }

    /// Offset just past the last complete element after which the stream may end and still be
    /// well-formed WebM; nil until one has ended. That is the end of a block (SimpleBlock or
    /// BlockGroup) in a Cluster of unknown size (browsers' MediaRecorder), of a whole Cluster with a
    /// size (ffmpeg), or of another element with nothing but the Segment and elements of unknown
    /// size around it (Info, Tracks, Cues, ...). A recording whose sender stopped mid-element is cut
    /// here, so players do not meet half a frame. A Segment that states its size cannot be whole in
    /// a cut file (only the complete file fills it), so it does not hold the cut back.
    public internal(set) var completeEnd: Int64?
    /// The time (ms, as `Block.timeMs`) of the latest block that had ended by `completeEnd`, if any.
    public internal(set) var completeEndBlockMs: Int64?

    // Parser state; see WebMScanner+Parsing.swift.
    /// What the scanner is in the middle of.
    var phase: Phase = .header
    /// Bytes of the element header or value being read (at most 12).
    var pending: [UInt8] = []
    /// Offset of the element header being read.
    var headerStart: Int64 = 0
    /// Length of that header's ID, once its first byte is in.
    var idLength = 0
    /// Length of that header's size, once its first byte is in.
    var sizeLength = 0
    /// True once the stream's first four bytes were the EBML magic.
    var started = false
    /// Open master elements, outermost first (at most three deep: Segment > Cluster > BlockGroup,
    /// Segment > Tracks > TrackEntry).
    var stack: [Container] = []
    /// The Cluster being read.
    var cluster: ClusterState?
    /// The BlockGroup being read.
    var group: GroupState?
    /// The TrackEntry being read.
    var trackEntry: TrackEntryState?
    /// True once the current Segment's first Cluster (the init segment's end) was reported.
    var sawClusterInSegment = false
    /// Events found during the current `feed`.
    var found: [Event] = []
    /// ID of the element whose payload is being read or skipped (what `endOfPayload` ends).
    var payloadID: UInt32 = 0
    /// Time of the latest block that has ended (for `completeEndBlockMs`).
    var endedBlockMs: Int64?

    /// Makes a scanner for a stream that starts at the next byte fed.
    public init(maxElementSize: Int64 = defaultMaxElementSize) {
        self.maxElementSize = maxElementSize
        pending.reserveCapacity(12)
    }

    /// Reads the next bytes of the stream and returns what they completed, in stream order.
    public mutating func feed(_ bytes: some Collection<UInt8>) -> [Event] {
        let done: Void? = bytes.withContiguousStorageIfAvailable { consume($0) }
        if done == nil {
            Array(bytes).withUnsafeBufferPointer { consume($0) }
        }
        defer { found = [] }
        return found
    }
}

extension WebMScanner {
    /// Why the scanner stopped: the bytes are not (or no longer) valid WebM.
    ///
    /// Offsets are those of the offending element's first byte.
    public enum ScanError: Error, Sendable, Equatable, CustomStringConvertible {
        /// The stream does not start with the EBML magic 1A 45 DF A3.
        case notWebM
        /// An element ID longer than 4 bytes, or all zero or all one bits.
        case invalidElementID(offset: Int64)
        /// An element size longer than 8 bytes.
        case invalidElementSize(offset: Int64)
        /// An element other than a Segment or Cluster has an unknown size.
        case unknownSizeNotAllowed(id: UInt32, offset: Int64)
        /// An element's size is over `maxElementSize` (or overflows the stream offset).
        case elementTooLarge(id: UInt32, offset: Int64, size: Int64)
        /// An element would end past the end of the element holding it.
        case elementOverrunsParent(id: UInt32, offset: Int64, end: Int64, parentEnd: Int64)
        /// A value the scanner reads is malformed (TimestampScale 0, an integer over 8 bytes, a
        /// block too short for its header or with an invalid track number).
        case invalidValue(id: UInt32, offset: Int64)
        /// A block came before its Cluster's Timestamp.
        case blockBeforeTimestamp(offset: Int64)
        /// A timestamp is past `MediaTime.limitMs` (about 139 years) either way.
        case timestampOutOfRange(offset: Int64)

        /// What went wrong, where, and what the sender should check.
        public var description: String {
            let fix = "the camera stream is not valid WebM from there on; cluster positions after it are unknown (check that the sender sends MediaRecorder's bytes unchanged and in order)"
            switch self {
            case .notWebM:
                return "stream does not start with an EBML header (1A 45 DF A3): it is not WebM; record it as other media"
            case .invalidElementID(let offset):
                return "invalid EBML element ID at byte \(offset) (longer than 4 bytes, or reserved): \(fix)"
            case .invalidElementSize(let offset):
                return "invalid EBML element size at byte \(offset) (longer than 8 bytes): \(fix)"
            case .unknownSizeNotAllowed(let id, let offset):
                return "element \(hex(id)) at byte \(offset) has an unknown size, allowed only for Segment and Cluster: \(fix)"
            case .elementTooLarge(let id, let offset, let size):
                return "element \(hex(id)) at byte \(offset) claims \(size) bytes, more than the scanner's limit: \(fix)"
            case .elementOverrunsParent(let id, let offset, let end, let parentEnd):
                return "element \(hex(id)) at byte \(offset) ends at \(end), past its parent's end at \(parentEnd): \(fix)"
            case .invalidValue(let id, let offset):
                return "element \(hex(id)) at byte \(offset) has a malformed value: \(fix)"
            case .blockBeforeTimestamp(let offset):
                return "block at byte \(offset) comes before its Cluster's Timestamp: \(fix)"
            case .timestampOutOfRange(let offset):
                return "timestamp at byte \(offset) is more than \(MediaTime.limitMs) ms (about 139 years) from 0: \(fix)"
            }
        }

        private func hex(_ id: UInt32) -> String { "0x" + String(id, radix: 16, uppercase: true) }
    }
}

extension WebMScanner {
    /// True when the bytes start with the EBML magic 1A 45 DF A3, as every WebM stream does.
    public static func looksLikeWebM(_ prefix: some Collection<UInt8>) -> Bool {
        prefix.starts(with: magic)
    }

    /// An unknown element size written in `length` bytes (1...8; nil otherwise), to overwrite
    /// `segmentSizeField` in a clip's init segment.
    public static func unknownSizeField(length: Int) -> [UInt8]? {
        guard (1...8).contains(length) else { return nil }
        return [UInt8(0xFF >> (length - 1))] + [UInt8](repeating: 0xFF, count: length - 1)
    }

    /// An EBML Void element of exactly `length` bytes (at least 2; nil otherwise), to overwrite an
    /// element such as `durationElement` without moving anything after it.
    public static func voidElement(length: Int) -> [UInt8]? {
        guard length >= 2 else { return nil }
        let sizeLength = length - 2 < 0x7F ? 1 : 8
        guard length >= 1 + sizeLength else { return nil }
        let payload = UInt64(length - 1 - sizeLength)
        var size = (0..<sizeLength).map { UInt8(truncatingIfNeeded: payload >> (8 * UInt64(sizeLength - 1 - $0))) }
        size[0] |= UInt8(0x80 >> (sizeLength - 1))
        return [UInt8(ID.void)] + size + [UInt8](repeating: 0, count: Int(payload))
    }
}

/// The container a recording's init bytes look like, which picks the file's extension.
public enum MediaContainer: String, Sendable, CaseIterable {
    /// EBML magic: WebM (or another Matroska file).
    case webm
    /// Bytes 4..<8 are "ftyp": MP4 (fragmented, from MediaRecorder or ffmpeg).
    case mp4
    /// Anything else: stored as opaque bytes.
    case other

    /// Guesses the container from the first bytes of a stream (8 are enough).
    public init(sniffing prefix: some Collection<UInt8>) {
        if WebMScanner.looksLikeWebM(prefix) {
            self = .webm
        } else if prefix.dropFirst(4).starts(with: Array("ftyp".utf8)), prefix.count >= 8 {
            self = .mp4
        } else {
            self = .other
        }
    }

    /// The file extension for a recording in this container, without the dot.
    public var fileExtension: String {
        switch self {
        case .webm: "webm"
        case .mp4: "mp4"
        case .other: "bin"
        }
    }
}
