import Testing
import VigRelayCore

/// Reading fragmented MP4 for clips: a real ffmpeg file (Fixtures/README.md) checked against ffprobe,
/// and small hand-made boxes for the flag combinations ffmpeg does not write.
struct Mp4FragmentTests {
    // MARK: - the ffmpeg fixture

    /// H.264 + AAC, a fragment every 0.5 s, a keyframe every 1 s, an `mfra` at the end.
    static let fixtureName = "testsrc-av-frag.mp4"
    /// Where each `moof` starts (ffprobe's packet positions fall in the `mdat` after each).
    static let moofOffsets: [Int64] = [1240, 4911, 7823, 11517, 14615, 18693, 21826, 26018]

    @Test func readsTheInitSegmentsTracks() throws {
        let bytes = try WebMScannerFixtureTests.fixture(Self.fixtureName)
        let movie = try #require(Mp4InitSegment(Array(bytes[0..<1240])))
        #expect(movie.tracks.map(\.handler) == ["vide", "soun"])
        #expect(movie.tracks.map(\.id) == [1, 2])
        #expect(movie.tracks.map(\.timescale) == [10240, 48000], "ffprobe's stream time bases")
        #expect(movie.video?.id == 1)
        #expect(movie.fragmentDurationBox == nil, "ffmpeg's empty_moov writes no mehd")
        #expect(movie.clipPatches.isEmpty)
    }

    @Test func findsEveryFragmentWithItsTimeAndKeyframe() throws {
        let bytes = try WebMScannerFixtureTests.fixture(Self.fixtureName)
        let top = Mp4Box.boxes(in: bytes, 0..<bytes.count)
        #expect(top.map(\.type) == ["ftyp", "moov"] + Array(repeating: ["moof", "mdat"], count: 8).flatMap { $0 } + ["mfra"])
        #expect(top.filter { $0.type == "moof" }.map(\.offset) == Self.moofOffsets)
        let movie = try #require(Mp4InitSegment(Array(bytes[0..<1240])))
        let fragments = try top.filter { $0.type == "moof" }.map {
            try #require(Mp4Fragment(moof: Array(bytes[Int($0.offset)..<Int($0.end)]), movie: movie))
        }
        // ffprobe: video keyframes at positions 1564, 8127, 14919, 22130 (the fragments at 0, 1, 2 and 3 s).
        #expect(fragments.map(\.keyframe) == [true, false, true, false, true, false, true, false])
        // ffprobe's dts of each fragment's first video packet (the first frame lasts 21 ms longer).
        #expect(fragments.map(\.timeMs) == [0, 521, 1021, 1521, 2021, 2521, 3021, 3521])
        #expect(fragments.allSatisfy { !$0.usesAbsoluteOffsets }, "default_base_moof")
    }

    @Test func refusesWhatIsNotAMoof() throws {
        let bytes = try WebMScannerFixtureTests.fixture(Self.fixtureName)
        let movie = try #require(Mp4InitSegment(Array(bytes[0..<1240])))
        #expect(Mp4Fragment(moof: Array(bytes[1556..<1600]), movie: movie) == nil, "an mdat")
        #expect(Mp4Fragment(moof: Array(bytes[1240..<1300]), movie: movie) == nil, "a moof cut short")
        #expect(Mp4InitSegment(Array(bytes[0..<28])) == nil, "ftyp alone")
    }

    // MARK: - hand-made boxes

    static func box(_ type: String, _ body: [UInt8]) -> [UInt8] {
        be32(UInt32(8 + body.count)) + Array(type.utf8) + body
    }

    static func be32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }
    static func be64(_ value: UInt64) -> [UInt8] { be32(UInt32(value >> 32)) + be32(UInt32(truncatingIfNeeded: value)) }
    static func full(_ version: UInt8, _ flags: UInt32) -> [UInt8] { [version] + be32(flags).dropFirst() }

    /// A movie with one video track (id 7, timescale 90000, default sample flags `trexFlags`) and an mehd.
    static func movie(trexFlags: UInt32, audioFirst: Bool = false) -> [UInt8] {
        let video = box("trak", box("tkhd", full(0, 3) + [UInt8](repeating: 0, count: 8) + be32(7) + [UInt8](repeating: 0, count: 68))
                        + box("mdia", box("mdhd", full(1, 0) + be64(0) + be64(0) + be32(90000) + be64(0) + be32(0))
                              + box("hdlr", full(0, 0) + be32(0) + Array("vide".utf8) + [UInt8](repeating: 0, count: 13))))
        let audio = box("trak", box("tkhd", full(0, 3) + [UInt8](repeating: 0, count: 8) + be32(2) + [UInt8](repeating: 0, count: 68))
                        + box("mdia", box("mdhd", full(0, 0) + be32(0) + be32(0) + be32(48000) + be32(0) + be32(0))
                              + box("hdlr", full(0, 0) + be32(0) + Array("soun".utf8) + [UInt8](repeating: 0, count: 13))))
        let mvex = box("mvex", box("mehd", full(0, 0) + be32(123_456))
                       + box("trex", full(0, 0) + be32(7) + be32(1) + be32(0) + be32(0) + be32(trexFlags)))
        return box("ftyp", Array("isom".utf8) + be32(0)) + box("moov", (audioFirst ? audio + video : video + audio) + mvex)
    }

    /// A moof with one traf for `track`: `tfhdFlags` (0x20: default flags `tfhdDefault`; 0x1: base
    /// data offset), a version-1 tfdt of `ticks`, and a trun with `trunFlags` giving `sampleFlags`.
    static func moof(track: UInt32 = 7, tfhdFlags: UInt32 = 0x2_0000, tfhdDefault: UInt32 = 0, ticks: UInt64,
                     trunFlags: UInt32 = 0, sampleFlags: UInt32 = 0) -> [UInt8] {
        var tfhd = full(0, tfhdFlags) + be32(track)
        if tfhdFlags & 0x1 != 0 { tfhd += be64(1234) }
        if tfhdFlags & 0x20 != 0 { tfhd += be32(tfhdDefault) }
        var trun = full(0, trunFlags) + be32(1)
        if trunFlags & 0x1 != 0 { trun += be32(100) }
        if trunFlags & 0x4 != 0 { trun += be32(sampleFlags) }
        if trunFlags & 0x100 != 0 { trun += be32(3000) }
        if trunFlags & 0x200 != 0 { trun += be32(500) }
        if trunFlags & 0x400 != 0 { trun += be32(sampleFlags) }
        return box("moof", box("mfhd", full(0, 0) + be32(1))
                   + box("traf", box("tfhd", tfhd) + box("tfdt", full(1, 0) + be64(ticks)) + box("trun", trun)))
    }

    static let nonSync: UInt32 = 0x1_0000

    @Test func readsAVersion1MovieAndItsMehd() throws {
        let bytes = Self.movie(trexFlags: Self.nonSync, audioFirst: true)
        let movie = try #require(Mp4InitSegment(bytes))
        #expect(movie.tracks.map(\.id) == [2, 7])
        #expect(movie.video == .init(id: 7, handler: "vide", timescale: 90000, defaultSampleFlags: Self.nonSync))
        #expect(movie.track(2)?.timescale == 48000)
        let mehd = try #require(movie.fragmentDurationBox)
        #expect(Array(bytes[Int(mehd.lowerBound) + 4..<Int(mehd.lowerBound) + 8]) == Array("mehd".utf8))
        #expect(movie.clipPatches == [ClipPlan.Patch(offset: mehd.lowerBound + 4, bytes: Array("free".utf8))],
                "a free box of the same size: players then take the clip's length from its fragments")
    }

    /// Where the first sample's flags come from, most specific first.
    @Test(arguments: [
        // (tfhd flags, tfhd default, trun flags, sample flags, trex flags) -> keyframe
        (UInt32(0x2_0000), UInt32(0), UInt32(0), UInt32(0), nonSync, false), // trex says non-sync
        (0x2_0000, 0, 0, 0, 0, true), // trex says sync
        (0x2_0020, nonSync, 0, 0, 0, false), // tfhd default overrides trex
        (0x2_0020, 0, 0, 0, nonSync, true),
        (0x2_0020, nonSync, 0x4, 0, 0, true), // first-sample flags override tfhd
        (0x2_0020, nonSync, 0x5, 0, 0, true), // ... after a data offset
        (0x2_0020, 0, 0x4, nonSync, 0, false),
        (0x2_0000, 0, 0x701, 0, nonSync, true), // per-sample flags after duration and size
        (0x2_0000, 0, 0x701, nonSync, 0, false),
        (0x2_0000, 0, 0x401, nonSync, 0, false),
        (0x0_0021, nonSync, 0x4, 0, 0, true), // base data offset before the default flags
    ])
    func takesTheFirstSampleFlagsFromTheRightPlace(tfhdFlags: UInt32, tfhdDefault: UInt32, trunFlags: UInt32,
                                                   sampleFlags: UInt32, trexFlags: UInt32, keyframe: Bool) throws {
        let movie = try #require(Mp4InitSegment(Self.movie(trexFlags: trexFlags)))
        let fragment = try #require(Mp4Fragment(moof: Self.moof(tfhdFlags: tfhdFlags, tfhdDefault: tfhdDefault, ticks: 0,
                                                                trunFlags: trunFlags, sampleFlags: sampleFlags), movie: movie))
        #expect(fragment.keyframe == keyframe)
        #expect(fragment.usesAbsoluteOffsets == (tfhdFlags & 0x1 != 0))
    }

    @Test func timesAreMillisecondsOfTheTracksTimescale() throws {
        let movie = try #require(Mp4InitSegment(Self.movie(trexFlags: 0)))
        #expect(Mp4Fragment(moof: Self.moof(ticks: 90000 * 3 + 45), movie: movie)?.timeMs == 3001, "3.0005 s rounds up")
        #expect(Mp4Fragment(moof: Self.moof(ticks: 1 << 40), movie: movie)?.timeMs == 12_216_795_864)
        #expect(Mp4Fragment(moof: Self.moof(ticks: .max), movie: movie)?.timeMs == MediaTime.limitMs, "never traps: held at the limit")
        let audioOnly = try #require(Mp4Fragment(moof: Self.moof(track: 2, ticks: 96000), movie: movie))
        #expect(audioOnly.timeMs == 2000, "an audio fragment's time is its own track's")
        #expect(!audioOnly.keyframe, "a fragment without the video track cannot start a clip")
        let unknown = try #require(Mp4Fragment(moof: Self.moof(track: 99, ticks: 5), movie: movie))
        #expect(unknown.timeMs == nil)
    }
}
