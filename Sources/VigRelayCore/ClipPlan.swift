/// Which bytes of one recording part make a standalone, playable clip of a span, cut at keyframes
/// without re-encoding: WebM (clusters) or fragmented MP4 (movie fragments).
///
/// A clip is the part's init segment (`0..<initEnd`) followed by whole cut points' worth of media
/// (WebM clusters, MP4 fragments): from the last cut point starting with a keyframe at or before
/// `fromMs` (or, if there is none, the first one after it) up to the first cut point at or after
/// `toMs` (or the end of the media, always when `toMs` is the part's end). So it starts a little
/// before `fromMs` and ends a little after `toMs`; `actualFromMs`/`actualToMs` say by how much.
///
/// The init segment may need a few bytes overwritten (`Part.patches`), never moved: a WebM file
/// ffmpeg finished has a sized Segment and an Info/Duration (`ClipPlan+WebM.swift`), an MP4 may have
/// an `mehd` giving the whole recording's length (`Mp4InitSegment.clipPatches`). Nothing moves, so
/// the server streams `ranges` from disk and overwrites the few patched bytes as they go by
/// (`patch(_:at:)` in ClipPlan+Output.swift).
///
/// A pure value: made from the recording's index or file layout, used by whichever thread reads the file.
public struct ClipPlan: Sendable, Equatable {
    /// A place where a part's media may be cut: a WebM Cluster or an MP4 movie fragment (`moof`).
    public struct CutPoint: Sendable, Equatable {
        /// Where the cluster or fragment starts in the part's file.
        public var offset: Int64
        /// Its media time in ms from the recording's start (0 at the recording's first frame).
        public var timestampMs: Int64
        /// Whether a decoder can start here (init segment + bytes from `offset` decode on their own).
        public var keyframe: Bool

        /// Makes a cut point.
        public init(offset: Int64, timestampMs: Int64, keyframe: Bool) {
            self.offset = offset
            self.timestampMs = timestampMs
            self.keyframe = keyframe
        }
    }

    /// What the recording's index or file layout says of one part (one media file).
    public struct Part: Sendable, Equatable {
        /// The part's clusters or fragments in file order, with times from the recording's start.
        public var cutPoints: [CutPoint]
        /// Where the init segment ends: the first cut point's offset.
        public var initEnd: Int64
        /// The part's file length in bytes.
        public var fileLength: Int64
        /// Where the last cluster or fragment ends, when bytes that are no media follow it (Cues and
        /// Tags in a WebM file ffmpeg finished, an MP4's `mfra`, a torn last fragment): a clip never
        /// includes them. Nil: the media runs to `fileLength`.
        public var mediaEnd: Int64?
        /// Media time where the part ends, ms from the recording's start: reported as `actualToMs`
        /// of a clip that runs to the end of the part. Nil: the recording's `durationMs`.
        public var endMs: Int64?
        /// Overwrites of the init segment that make it right for a clip (they must lie inside it).
        public var patches: [Patch]

        /// Describes a part; see each property.
        public init(cutPoints: [CutPoint], initEnd: Int64, fileLength: Int64, mediaEnd: Int64? = nil,
                    endMs: Int64? = nil, patches: [Patch] = []) {
            self.cutPoints = cutPoints
            self.initEnd = initEnd
            self.fileLength = fileLength
            self.mediaEnd = mediaEnd
            self.endMs = endMs
            self.patches = patches
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

    /// Byte ranges of the part's file to concatenate, in order: the init segment, then the media.
    public let ranges: [Range<Int64>]
    /// Overwrites to apply to the concatenated bytes, by ascending offset; all inside the init segment.
    public let patches: [Patch]
    /// Media time of the clip's first cluster or fragment (at or before the `fromMs` asked for,
    /// unless the part has no keyframe there), ms from the recording's start.
    public let actualFromMs: Int64
    /// Media time where the clip stops: the timestamp of the first cut point left out, or the part's
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
        let points = part.cutPoints.filter { $0.offset < mediaEnd }
        let keyframes = points.indices.filter { points[$0].keyframe }
        guard let startIndex = keyframes.last(where: { points[$0].timestampMs <= fromMs })
            ?? keyframes.first(where: { points[$0].timestampMs > fromMs }),
            points[startIndex].timestampMs < toMs else {
            throw .noKeyframe(toMs: toMs, firstKeyframeMs: keyframes.first.map { points[$0].timestampMs })
        }
        let start = points[startIndex]
        // A span to the part's end takes all of it, also a last cluster or fragment that starts there.
        let partEndMs = part.endMs ?? durationMs
        let end = toMs >= partEndMs ? nil : points[(startIndex + 1)...].first { $0.timestampMs >= toMs }

        ranges = [0..<part.initEnd, start.offset..<(end?.offset ?? mediaEnd)]
        patches = try Self.checkedPatches(part)
        actualFromMs = start.timestampMs
        actualToMs = end?.timestampMs ?? partEndMs
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
        for point in part.cutPoints {
            guard point.offset > previous else {
                throw .inconsistentIndex("cluster or fragment at byte \(point.offset) is not after the init segment and the one before it")
            }
            previous = point.offset
        }
        return mediaEnd
    }

    /// The part's patches, checked to lie inside the init segment, by ascending offset.
    private static func checkedPatches(_ part: Part) throws(ClipPlanError) -> [Patch] {
        for patch in part.patches where patch.offset < 0 || patch.offset + Int64(patch.bytes.count) > part.initEnd {
            throw .inconsistentIndex("a patch at bytes \(patch.offset)..<\(patch.offset + Int64(patch.bytes.count)) is not inside the init segment 0..<\(part.initEnd)")
        }
        return part.patches.sorted { $0.offset < $1.offset }
    }
}
