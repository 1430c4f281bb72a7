import VigRelayCore

/// The layout of one fragmented MP4 recording part, found by walking its top-level boxes: the init
/// segment (everything before the first `moof`), each movie fragment's start, time and keyframe
/// flag, and where the last complete fragment ends.
///
/// The relay does not parse MP4 while recording (the sender flags keyframe fragments), so a clip of
/// an MP4 recording reads the file's layout when it is cut: a box header per box and each `moof`
/// (a few hundred bytes), never the media data. Made and used on the reader thread.
struct Mp4PartLayout {
    /// Longest `moof` read; a larger one is taken for damage.
    static let maxMoofBytes: Int64 = 1 << 20
    /// Most top-level boxes walked: four hours of a browser's 100 ms fragments (a `moof` and an
    /// `mdat` each) are 288,000. A file of tiny boxes would otherwise hold the reader thread, which
    /// every download and summary shares, for as long as it likes.
    static let maxBoxes = 500_000

    /// Where the init segment (`ftyp`, `moov`, ...) ends: the first `moof`, or where the walk stopped.
    let initEnd: Int64
    /// What the init segment says of the tracks.
    let movie: Mp4InitSegment
    /// Each fragment's offset with what its `moof` says, in file order.
    let fragments: [(offset: Int64, fragment: Mp4Fragment)]
    /// Just past the last `mdat` that follows a `moof`: where the complete media ends. Boxes after it
    /// (an `mfra`), and a fragment torn by a dropped connection, are not media a clip may include.
    let mediaEnd: Int64

    /// Walks the part's file; throws `notCuttable` with the reason when its boxes do not hold
    /// together or a cut would break them (the bytes are what the sender's browser made: a refusal
    /// the practitioner can act on, never a server error), `unreadable` when the file cannot be read.
    init(file: MediaFileSlice) throws(RecordingRequestError) {
        var offset: Int64 = 0
        var moofs: [Mp4Box] = []
        var mediaEnd: Int64 = 0
        var boxes = 0
        while offset + 8 <= file.length {
            boxes += 1
            guard boxes <= Self.maxBoxes else {
                throw .notCuttable(mediaType: "video/mp4", reason: "it has more than \(Self.maxBoxes) boxes (movie fragments and their data) to walk")
            }
            let head = try file.read(offset..<min(offset + Int64(Mp4Box.maxHeaderLength), file.length))
            guard let box = Mp4Box.header(head, at: offset, available: file.length - offset) else {
                throw .notCuttable(mediaType: "video/mp4", reason: "the box header at byte \(offset) is malformed")
            }
            if box.end > file.length { break } // torn by a dropped connection: not media
            if box.type == "moof" { moofs.append(box) }
            if box.type == "mdat", !moofs.isEmpty { mediaEnd = box.end }
            offset = box.end
        }
        initEnd = moofs.first?.offset ?? offset
        guard initEnd <= RecordingReader.maxInitSegmentBytes else {
            throw .notCuttable(mediaType: "video/mp4", reason: "its init segment (the boxes before the first movie fragment) is longer than \(RecordingReader.maxInitSegmentBytes) bytes")
        }
        guard let movie = Mp4InitSegment(try file.read(0..<initEnd)) else {
            throw .notCuttable(mediaType: "video/mp4", reason: "it holds no movie header (moov box) a clip could start with")
        }
        self.movie = movie
        fragments = try moofs.map { (box) throws(RecordingRequestError) in
            guard box.end - box.offset <= Self.maxMoofBytes else {
                throw .notCuttable(mediaType: "video/mp4", reason: "the movie fragment at byte \(box.offset) is longer than \(Self.maxMoofBytes) bytes")
            }
            guard let fragment = Mp4Fragment(moof: try file.read(box.offset..<box.end), movie: movie) else {
                throw .notCuttable(mediaType: "video/mp4", reason: "the movie fragment at byte \(box.offset) cannot be read")
            }
            guard !fragment.usesAbsoluteOffsets else {
                throw .notCuttable(mediaType: "video/mp4", reason: "its fragments find their media by offsets from the file's start (tfhd base-data-offset), which a clip would break")
            }
            return (box.offset, fragment)
        }
        self.mediaEnd = max(mediaEnd, initEnd)
    }

    /// The part for `ClipPlan`: fragment times from the part's first fragment, shifted by `startMs`
    /// (where the part begins on the recording's timeline), as the pages place marks. A fragment
    /// with no time takes the one before it.
    func clipPart(startMs: Int64, fileLength: Int64, endMs: Int64?) -> ClipPlan.Part {
        let firstMs = fragments.lazy.compactMap(\.fragment.timeMs).first ?? 0
        var lastMs = firstMs
        let points = fragments.map { entry in
            lastMs = entry.fragment.timeMs ?? lastMs
            return ClipPlan.CutPoint(offset: entry.offset, timestampMs: startMs + lastMs - firstMs, keyframe: entry.fragment.keyframe)
        }
        return ClipPlan.Part(cutPoints: points, initEnd: initEnd, fileLength: fileLength,
                             mediaEnd: mediaEnd, endMs: endMs, patches: movie.clipPatches)
    }
}
