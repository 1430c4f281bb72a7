/// What one movie fragment's `moof` box says that cutting clips needs: its time, whether decoding
/// can start at it, and whether its sample data is found by absolute file offsets.
///
/// A pure value read from the `moof` box's bytes (the box alone, from its size field); usable from
/// any thread.
public struct Mp4Fragment: Sendable, Equatable {
    /// The fragment's decode time in ms on the track's clock (`tfdt`): the video track's when the
    /// fragment has it, else the earliest of its tracks'. Nil when no track fragment says.
    public let timeMs: Int64?
    /// Whether a decoder can start here: the video track's first sample is a sync sample. A fragment
    /// without the video track is not one; in a movie without video, every fragment is.
    public let keyframe: Bool
    /// Whether a `tfhd` gives a base data offset (flag 0x1): its samples are then found by offsets
    /// from the file's start, which a clip (the fragment at another offset) would break.
    public let usesAbsoluteOffsets: Bool

    /// `sample_is_non_sync_sample` in ISO BMFF sample flags.
    static let nonSyncSample: UInt32 = 0x1_0000

    /// Reads a `moof` box with the init segment's tracks; nil when the bytes are not a `moof` box.
    public init?(moof bytes: [UInt8], movie: Mp4InitSegment) {
        guard let moof = Mp4Box.boxes(in: bytes, 0..<bytes.count).first, moof.type == "moof" else { return nil }
        var times: [(track: UInt32, ms: Int64)] = []
        var videoKeyframe: Bool?
        var absolute = false
        for traf in moof.children(in: bytes) where traf.type == "traf" {
            guard let tfhd = traf.child("tfhd", in: bytes), tfhd.end - tfhd.bodyOffset >= 8 else { continue }
            let body = Int(tfhd.bodyOffset)
            let tfhdFlags = Mp4Box.readUInt32(bytes, at: body) & 0xFF_FFFF
            let trackID = Mp4Box.readUInt32(bytes, at: body + 4)
            absolute = absolute || tfhdFlags & 0x1 != 0
            guard let track = movie.track(trackID) else { continue }
            if let tfdt = traf.child("tfdt", in: bytes), tfdt.bodyOffset < tfdt.end, track.timescale > 0 {
                let at = Int(tfdt.bodyOffset)
                let ticks = bytes[at] == 1 ? Mp4Box.readUInt64(bytes, at: at + 4) : UInt64(Mp4Box.readUInt32(bytes, at: at + 4))
                times.append((trackID, Self.milliseconds(ticks, timescale: UInt64(track.timescale))))
            }
            if track.handler == "vide", videoKeyframe == nil {
                videoKeyframe = Self.firstSampleFlags(traf: traf, tfhdFlags: tfhdFlags, tfhdBody: body,
                                                      default: track.defaultSampleFlags, in: bytes) & Self.nonSyncSample == 0
            }
        }
        let videoID = movie.video?.id
        timeMs = times.first { $0.track == videoID }?.ms ?? times.map(\.ms).min()
        keyframe = movie.video == nil ? true : (videoKeyframe ?? false)
        usesAbsoluteOffsets = absolute
    }

    /// `ticks` of `timescale` per second in ms, rounded to the nearest (as the pages' player does),
    /// at most `MediaTime.limitMs`.
    static func milliseconds(_ ticks: UInt64, timescale: UInt64) -> Int64 {
        let (wholeMs, overflow) = (ticks / timescale).multipliedReportingOverflow(by: 1000)
        guard !overflow, wholeMs < UInt64(MediaTime.limitMs) else { return MediaTime.limitMs }
        return min(MediaTime.limitMs, Int64(wholeMs + ((ticks % timescale) * 1000 + timescale / 2) / timescale))
    }

    /// The flags of the track fragment's first sample: `trun`'s first-sample flags, else its first
    /// sample's own flags, else `tfhd`'s default, else the movie's (`trex`).
    private static func firstSampleFlags(traf: Mp4Box, tfhdFlags: UInt32, tfhdBody: Int, default movieDefault: UInt32,
                                         in bytes: [UInt8]) -> UInt32 {
        var flags = movieDefault
        if tfhdFlags & 0x20 != 0 {
            // After track id: base data offset (8), sample description index (4), default duration (4), default size (4).
            let skip = [(UInt32(0x1), 8), (0x2, 4), (0x8, 4), (0x10, 4)].reduce(8) { $0 + (tfhdFlags & $1.0 != 0 ? $1.1 : 0) }
            flags = Mp4Box.readUInt32(bytes, at: tfhdBody + skip)
        }
        guard let trun = traf.child("trun", in: bytes) else { return flags }
        let body = Int(trun.bodyOffset)
        let trunFlags = Mp4Box.readUInt32(bytes, at: body) & 0xFF_FFFF
        var at = body + 8 // version and flags, sample count
        if trunFlags & 0x1 != 0 { at += 4 } // data offset
        if trunFlags & 0x4 != 0 { return Mp4Box.readUInt32(bytes, at: at) } // first sample flags
        if trunFlags & 0x400 != 0 { // per-sample flags, after per-sample duration and size
            return Mp4Box.readUInt32(bytes, at: at + (trunFlags & 0x100 != 0 ? 4 : 0) + (trunFlags & 0x200 != 0 ? 4 : 0))
        }
        return flags
    }
}
