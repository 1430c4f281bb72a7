/// What a fragmented MP4's init segment (`ftyp` + `moov`) says that cutting clips needs: each track's
/// id, kind, timescale and default sample flags, and the patches a clip of it needs.
///
/// A pure value read from the init segment's bytes; usable from any thread.
public struct Mp4InitSegment: Sendable, Equatable {
    /// One `trak` of the `moov`.
    public struct Track: Sendable, Equatable {
        /// `tkhd`'s track id, which fragments' `tfhd` refer to.
        public var id: UInt32
        /// `hdlr`'s handler type: `vide` for video, `soun` for audio.
        public var handler: String
        /// `mdhd`'s ticks per second, the unit of the fragments' decode times.
        public var timescale: UInt32
        /// `trex`'s default sample flags, for fragments that state none.
        public var defaultSampleFlags: UInt32

        /// Describes a track.
        public init(id: UInt32, handler: String, timescale: UInt32, defaultSampleFlags: UInt32) {
            self.id = id
            self.handler = handler
            self.timescale = timescale
            self.defaultSampleFlags = defaultSampleFlags
        }
    }

    /// The tracks, in `moov` order.
    public let tracks: [Track]
    /// Where the `moov/mvex/mehd` box is (the whole recording's fragment duration), if any: a clip
    /// turns it into a `free` box, or players show the recording's length for the clip.
    public let fragmentDurationBox: Range<Int64>?

    /// Reads an init segment; nil when it has no `moov` box.
    public init?(_ bytes: [UInt8]) {
        guard let moov = Mp4Box.boxes(in: bytes, 0..<bytes.count).first(where: { $0.type == "moov" }) else { return nil }
        let mvex = moov.child("mvex", in: bytes)
        var defaults: [UInt32: UInt32] = [:]
        for trex in mvex?.children(in: bytes).filter({ $0.type == "trex" }) ?? [] {
            let body = Int(trex.bodyOffset)
            defaults[Mp4Box.readUInt32(bytes, at: body + 4)] = Mp4Box.readUInt32(bytes, at: body + 20)
        }
        tracks = moov.children(in: bytes).filter { $0.type == "trak" }.map { trak in
            let mdia = trak.child("mdia", in: bytes)
            let id = Self.versioned(trak.child("tkhd", in: bytes), in: bytes, v0: 12, v1: 20)
            let hdlr = mdia?.child("hdlr", in: bytes)
            let handler = hdlr.flatMap { Int($0.bodyOffset) + 12 <= Int($0.end) ? Mp4Box.fourCC(bytes, at: Int($0.bodyOffset) + 8) : nil }
            return Track(id: id, handler: handler ?? "", timescale: Self.versioned(mdia?.child("mdhd", in: bytes), in: bytes, v0: 12, v1: 20),
                         defaultSampleFlags: defaults[id] ?? 0)
        }
        fragmentDurationBox = mvex?.child("mehd", in: bytes).map { $0.offset..<$0.end }
    }

    /// The video track, if there is one.
    public var video: Track? { tracks.first { $0.handler == "vide" } }

    /// The track with id `id`, if any.
    public func track(_ id: UInt32) -> Track? { tracks.first { $0.id == id } }

    /// The overwrites that make the init segment right for a clip: `mehd` becomes a `free` box of the
    /// same size (its type is the four bytes after its size).
    public var clipPatches: [ClipPlan.Patch] {
        guard let box = fragmentDurationBox else { return [] }
        return [ClipPlan.Patch(offset: box.lowerBound + 4, bytes: Array("free".utf8))]
    }

    /// A 32-bit field of a full box (`tkhd`, `mdhd`) at `v0` bytes into its body for version 0, `v1`
    /// for version 1 (64-bit times before it); 0 when the box is missing or short.
    private static func versioned(_ box: Mp4Box?, in bytes: [UInt8], v0: Int, v1: Int) -> UInt32 {
        guard let box, box.bodyOffset < box.end else { return 0 }
        let body = Int(box.bodyOffset)
        let at = body + (bytes[body] == 1 ? v1 : v0)
        return at + 4 <= Int(box.end) ? Mp4Box.readUInt32(bytes, at: at) : 0
    }
}
