/// Which bytes of one recording part make a standalone, playable WebM clip of a span, cut at
/// keyframes without re-encoding.
///
/// A clip is the part's init segment (`0..<initEnd`) followed by whole clusters: from the last
/// cluster starting with a keyframe at or before `fromMs` (or, if there is none, the first one after
/// it) up to the first cluster starting at or after `toMs` (or the end of the media). So it starts a
/// little before `fromMs` and ends a little after `toMs`; `actualFromMs`/`actualToMs` say by how much.
///
/// A file ffmpeg finished has a sized Segment and an Info/Duration: the plan's `patches` overwrite the
/// Segment's size with an unknown size of the same length (or players take the clip for a truncated
/// file) and the Duration with a Void element of the same length (or players show the whole
/// recording's length). Nothing moves, so the server streams `ranges` from disk and overwrites the
/// few patched bytes as they go by (`patch(_:at:)` in ClipPlan+Output.swift). MediaRecorder's
/// unknown-size Segments need no patch.
///
/// A pure value: made from the recording's index, used by whichever thread reads the file.
public struct ClipPlan: Sendable, Equatable {
    /// What the recording's index knows about one part (one media file).
    public struct Part: Sendable, Equatable {
        /// The part's clusters in file order, as `WebMScanner` reported them, with `timestampMs`
        /// relative to the recording's start (0 at its first frame).
        public var clusters: [WebMScanner.Cluster]
        /// Where the init segment ends: the first cluster's offset.
        public var initEnd: Int64
        /// The part's file length in bytes.
        public var fileLength: Int64
        /// Where the last cluster ends, when bytes that are no media follow it (Cues and Tags in a
        /// file ffmpeg finished): a clip never includes them. Nil: the media runs to `fileLength`.
        public var mediaEnd: Int64?
        /// Media time where the part ends, ms from the recording's start: reported as `actualToMs`
        /// of a clip that runs to the end of the part. Nil: the recording's `durationMs`.
        public var endMs: Int64?
        /// `WebMScanner.segmentSizeField`: where a sized Segment's size is written (inside the init
        /// segment), nil for an unknown-size Segment.
        public var segmentSizeField: Range<Int64>?
        /// `WebMScanner.durationElement`: where Info/Duration is (inside the init segment), if any.
        public var durationElement: Range<Int64>?

        /// Describes a part; see each property.
        public init(clusters: [WebMScanner.Cluster], initEnd: Int64, fileLength: Int64, mediaEnd: Int64? = nil,
                    endMs: Int64? = nil, segmentSizeField: Range<Int64>? = nil, durationElement: Range<Int64>? = nil) {
            self.clusters = clusters
            self.initEnd = initEnd
            self.fileLength = fileLength
            self.mediaEnd = mediaEnd
            self.endMs = endMs
            self.segmentSizeField = segmentSizeField
            self.durationElement = durationElement
        }
    }

    /// Bytes to write over the clip at an offset of the clip (not of the source file). Codable: a
    /// clip's record keeps them (`ClipRecord`).
    public struct Patch: Sendable, Equatable, Codable {
        /// Offset in the clip of the first byte to overwrite.
        public var offset: Int64
        /// The bytes to write there.
        public var bytes: [UInt8]

        /// Makes a patch.
        public init(offset: Int64, bytes: [UInt8]) {
            self.offset = offset
            self.bytes = bytes
        }
    }

    /// Longest span a clip may be asked for: 60 s (VIG clips are 3-10 s).
    public static let defaultMaxSpanMs: Int64 = 60_000

    /// Byte ranges of the part's file to concatenate, in order: the init segment, then the clusters.
    public let ranges: [Range<Int64>]
    /// Overwrites to apply to the concatenated bytes, by ascending offset; all inside the init segment.
    public let patches: [Patch]
    /// Media time of the clip's first cluster (at or before the `fromMs` asked for, unless the part
    /// has no keyframe there), ms from the recording's start.
    public let actualFromMs: Int64
    /// Media time where the clip stops: the timestamp of the first cluster left out, or the part's
    /// end when the clip runs to it.
    public let actualToMs: Int64

    /// Plans the clip `fromMs..<toMs` (ms from the recording's start) of a recording lasting
    /// `durationMs`, from one of its parts; throws a request error (negative, reversed or empty, past
    /// the end, longer than `maxSpanMs`), `noKeyframe`, or `inconsistentIndex`.
    public init(part: Part, fromMs: Int64, toMs: Int64, durationMs: Int64,
                maxSpanMs: Int64 = defaultMaxSpanMs) throws(ClipPlanError) {
        guard fromMs >= 0, toMs >= 0 else { throw .negative(fromMs: fromMs, toMs: toMs) }
        guard toMs > fromMs else { throw .reversedOrEmpty(fromMs: fromMs, toMs: toMs) }
        guard fromMs < durationMs, toMs <= durationMs else {
            throw .pastTheEnd(fromMs: fromMs, toMs: toMs, durationMs: durationMs)
        }
        guard toMs - fromMs <= maxSpanMs else { throw .tooLong(fromMs: fromMs, toMs: toMs, maxSpanMs: maxSpanMs) }

        let mediaEnd = try Self.checkedMediaEnd(part)
        let clusters = part.clusters.filter { $0.offset < mediaEnd }
        let keyframes = clusters.indices.filter { clusters[$0].keyframe }
        guard let startIndex = keyframes.last(where: { clusters[$0].timestampMs <= fromMs })
            ?? keyframes.first(where: { clusters[$0].timestampMs > fromMs }),
            clusters[startIndex].timestampMs < toMs else {
            throw .noKeyframe(toMs: toMs, firstKeyframeMs: keyframes.first.map { clusters[$0].timestampMs })
        }
        let start = clusters[startIndex]
        let end = clusters[(startIndex + 1)...].first { $0.timestampMs >= toMs }

        ranges = [0..<part.initEnd, start.offset..<(end?.offset ?? mediaEnd)]
        patches = try Self.patches(part)
        actualFromMs = start.timestampMs
        actualToMs = end?.timestampMs ?? part.endMs ?? durationMs
    }

    /// Where the part's media ends, after checking that the index fits the file.
    private static func checkedMediaEnd(_ part: Part) throws(ClipPlanError) -> Int64 {
        let mediaEnd = part.mediaEnd ?? part.fileLength
        guard mediaEnd <= part.fileLength else {
            throw .inconsistentIndex("media end \(mediaEnd) is past the file's end \(part.fileLength)")
        }
        guard part.initEnd > 0, part.initEnd <= mediaEnd else {
            throw .inconsistentIndex("init segment end \(part.initEnd) is not inside the media 0...\(mediaEnd)")
        }
        var previous = part.initEnd - 1
        for cluster in part.clusters {
            guard cluster.offset > previous else {
                throw .inconsistentIndex("cluster at byte \(cluster.offset) is not after the init segment and the cluster before it")
            }
            previous = cluster.offset
        }
        return mediaEnd
    }

    /// The Segment size and Duration overwrites, checked to lie inside the init segment.
    private static func patches(_ part: Part) throws(ClipPlanError) -> [Patch] {
        var patches: [Patch] = []
        let fields = [
            ("Segment size", part.segmentSizeField, WebMScanner.unknownSizeField(length:)),
            ("Info/Duration", part.durationElement, WebMScanner.voidElement(length:)),
        ]
        for (name, field, replacement) in fields {
            guard let field else { continue }
            guard field.lowerBound >= 0, field.upperBound <= part.initEnd,
                  let bytes = replacement(Int(field.upperBound - field.lowerBound)) else {
                throw .inconsistentIndex("\(name) at bytes \(field) cannot be overwritten inside the init segment 0..<\(part.initEnd)")
            }
            patches.append(Patch(offset: field.lowerBound, bytes: bytes))
        }
        return patches.sorted { $0.offset < $1.offset }
    }
}
