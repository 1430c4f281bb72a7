import Testing
import VigRelayCore

/// Matroska element IDs, written out here independently of the scanner's own table.
enum MKV {
    static let ebml: UInt32 = 0x1A45_DFA3
    static let segment: UInt32 = 0x1853_8067
    static let seekHead: UInt32 = 0x114D_9B74
    static let info: UInt32 = 0x1549_A966
    static let tracks: UInt32 = 0x1654_AE6B
    static let tags: UInt32 = 0x1254_C367
    static let cues: UInt32 = 0x1C53_BB6B
    static let chapters: UInt32 = 0x1043_A770
    static let attachments: UInt32 = 0x1941_A469
    static let cluster: UInt32 = 0x1F43_B675
    static let timestampScale: UInt32 = 0x2A_D7B1
    static let timestamp: UInt32 = 0xE7
    static let simpleBlock: UInt32 = 0xA3
    static let blockGroup: UInt32 = 0xA0
    static let block: UInt32 = 0xA1
    static let referenceBlock: UInt32 = 0xFB
    static let blockDuration: UInt32 = 0x9B
    static let void: UInt32 = 0xEC
}

/// Builds EBML bytes by hand: elements with minimal or forced-length sizes, unknown sizes.
enum EBML {
    static func id(_ id: UInt32) -> [UInt8] {
        let bytes = (0..<4).map { UInt8(truncatingIfNeeded: id >> (8 * UInt32(3 - $0))) }
        return Array(bytes.drop { $0 == 0 })
    }

    /// A size VINT: the shortest that is not all ones, or exactly `length` bytes.
    static func size(_ n: Int, length: Int? = nil) -> [UInt8] {
        let length = length ?? (1...8).first { UInt64(n) < (UInt64(1) << (7 * UInt64($0))) - 1 }!
        var out = (0..<length).map { UInt8(truncatingIfNeeded: UInt64(n) >> (8 * UInt64(length - 1 - $0))) }
        out[0] |= UInt8(0x80 >> (length - 1))
        return out
    }

    /// The unknown size (all value bits one) in `length` bytes.
    static func unknownSize(length: Int = 8) -> [UInt8] {
        [UInt8(0xFF >> (length - 1))] + [UInt8](repeating: 0xFF, count: length - 1)
    }

    static func element(_ id: UInt32, _ payload: [UInt8]) -> [UInt8] { Self.id(id) + size(payload.count) + payload }

    /// The header of an unknown-size element; its children simply follow.
    static func open(_ id: UInt32, sizeLength: Int = 8) -> [UInt8] { Self.id(id) + unknownSize(length: sizeLength) }

    static func uint(_ id: UInt32, _ value: UInt64) -> [UInt8] {
        let bytes = (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64(7 - $0))) }
        let trimmed = Array(bytes.drop { $0 == 0 })
        return element(id, trimmed.isEmpty ? [0] : trimmed)
    }

    static func void(_ count: Int) -> [UInt8] { element(MKV.void, [UInt8](repeating: 0, count: count)) }

    static let header = element(MKV.ebml, uint(0x4286, 1) + uint(0x42F7, 1) + uint(0x42F2, 4) + uint(0x42F3, 8)
        + element(0x4282, Array("webm".utf8)) + uint(0x4287, 4) + uint(0x4285, 2))

    static func info(scale: UInt64?) -> [UInt8] {
        element(MKV.info, (scale.map { uint(MKV.timestampScale, $0) } ?? []) + element(0x4D80, Array("test".utf8)))
    }

    static func tracks(video: [UInt64], audio: [UInt64]) -> [UInt8] {
        let entries = video.map { ($0, UInt64(1), "V_VP8") } + audio.map { ($0, UInt64(2), "A_OPUS") }
        return element(MKV.tracks, entries.flatMap { number, type, codec in
            element(0xAE, uint(0xD7, number) + uint(0x73C5, number + 100) + uint(0x83, type)
                + element(0x86, Array(codec.utf8)))
        })
    }

    static func blockPayload(_ track: UInt8, _ relative: Int16, flags: UInt8) -> [UInt8] {
        let r = UInt16(bitPattern: relative)
        return [0x80 | track, UInt8(r >> 8), UInt8(r & 0xFF), flags, 0x9D, 0x01, 0x2A]
    }

    static func simpleBlock(_ track: UInt8, _ relative: Int16, key: Bool) -> [UInt8] {
        element(MKV.simpleBlock, blockPayload(track, relative, flags: key ? 0x80 : 0))
    }

    static func blockGroup(_ track: UInt8, _ relative: Int16, referenced: Bool) -> [UInt8] {
        element(MKV.blockGroup, element(MKV.block, blockPayload(track, relative, flags: 0))
            + (referenced ? element(MKV.referenceBlock, [0xDF]) : []))
    }

    static func cluster(_ timestamp: UInt64, _ children: [UInt8]...) -> [UInt8] {
        element(MKV.cluster, uint(MKV.timestamp, timestamp) + children.joined())
    }

    static func openCluster(_ timestamp: UInt64, _ children: [UInt8]..., sizeLength: Int = 8) -> [UInt8] {
        open(MKV.cluster, sizeLength: sizeLength) + uint(MKV.timestamp, timestamp) + children.joined()
    }
}

/// Appends parts of a stream and says where each one starts.
struct WebMStreamBuilder {
    var base: Int64 = 0
    var bytes: [UInt8] = []
    var end: Int64 { base + Int64(bytes.count) }

    @discardableResult
    mutating func add(_ part: [UInt8]) -> Int64 {
        defer { bytes += part }
        return end
    }
}

/// A hand-built stream and what the scanner must report (blocks summarised apart).
struct WebMCase: Sendable, CustomTestStringConvertible {
    var name: String
    var bytes: [UInt8]
    var events: [WebMScanner.Event]
    var blocks: [WebMBlockSummary]
    var testDescription: String { name }

    static let all: [WebMCase] = [
        chrome, ffmpegSized, scale100Micros, scaleOneSecond, voids, blockGroups, emptyAndAudioOnly,
        endedBySegmentChildren, restarted, sizedClustersInUnknownSegment, longVINTs,
    ]

    typealias B = WebMBlockSummary

    static func cluster(_ offset: Int64, _ ms: Int64, _ key: Bool) -> WebMScanner.Event {
        .cluster(.init(offset: offset, timestampMs: ms, keyframe: key))
    }

    static var chrome: WebMCase {
        var s = WebMStreamBuilder()
        s.add(EBML.header + EBML.open(MKV.segment) + EBML.info(scale: 1_000_000) + EBML.tracks(video: [1], audio: [2]))
        let c1 = s.add(EBML.openCluster(0, EBML.simpleBlock(2, 0, key: true), EBML.simpleBlock(1, 7, key: true),
                                        EBML.simpleBlock(1, 40, key: false)))
        let c2 = s.add(EBML.openCluster(1000, EBML.simpleBlock(2, 0, key: true), EBML.simpleBlock(1, 20, key: false)))
        let c3 = s.add(EBML.openCluster(2000, EBML.simpleBlock(1, 0, key: true), EBML.simpleBlock(2, 5, key: true)))
        return WebMCase(name: "Chrome: unknown-size Segment and Clusters, audio first", bytes: s.bytes,
                        events: [.initSegmentStart(offset: 0), .initSegmentEnd(offset: c1),
                                 cluster(c1, 0, true), cluster(c2, 1000, false), cluster(c3, 2000, true)],
                        blocks: [B(2, 0, true), B(1, 7, true), B(1, 40, false), B(2, 1000, true),
                                 B(1, 1020, false), B(1, 2000, true), B(2, 2005, true)])
    }

    static var ffmpegSized: WebMCase {
        var s = WebMStreamBuilder()
        s.add(EBML.header)
        var seg = WebMStreamBuilder(base: s.end + 12)
        seg.add(EBML.element(MKV.seekHead, EBML.element(0x4DBB, EBML.element(0x53AB, EBML.id(MKV.info)) + EBML.uint(0x53AC, 100))))
        seg.add(EBML.void(40) + EBML.info(scale: 1_000_000) + EBML.tracks(video: [1], audio: []))
        seg.add(EBML.element(MKV.tags, EBML.element(0x7373, [])))
        let c1 = seg.add(EBML.cluster(0, EBML.simpleBlock(1, 0, key: true), EBML.simpleBlock(1, 100, key: false)))
        let c2 = seg.add(EBML.cluster(200, EBML.simpleBlock(1, 0, key: false)))
        seg.add(EBML.element(MKV.cues, EBML.element(0xBB, EBML.uint(0xB3, 0)
            + EBML.element(0xB7, EBML.uint(0xF7, 1) + EBML.uint(0xF1, UInt64(c1))))))
        s.add(EBML.id(MKV.segment) + EBML.size(seg.bytes.count, length: 8) + seg.bytes)
        return WebMCase(name: "ffmpeg: sized Segment, SeekHead, Void, sized Clusters, Cues", bytes: s.bytes,
                        events: [.initSegmentStart(offset: 0), .initSegmentEnd(offset: c1),
                                 cluster(c1, 0, true), cluster(c2, 200, false)],
                        blocks: [B(1, 0, true), B(1, 100, false), B(1, 200, false)])
    }

    static var scale100Micros: WebMCase {
        var s = WebMStreamBuilder()
        s.add(EBML.header + EBML.open(MKV.segment) + EBML.info(scale: 100_000) + EBML.tracks(video: [1], audio: []))
        let c1 = s.add(EBML.openCluster(25_000, EBML.simpleBlock(1, -10, key: true), EBML.simpleBlock(1, 15, key: false)))
        return WebMCase(name: "TimestampScale 100 µs, negative relative time", bytes: s.bytes,
                        events: [.initSegmentStart(offset: 0), .initSegmentEnd(offset: c1), cluster(c1, 2500, true)],
                        blocks: [B(1, 2499, true), B(1, 2501, false)])
    }

    static var scaleOneSecond: WebMCase {
        var s = WebMStreamBuilder()
        s.add(EBML.header + EBML.open(MKV.segment) + EBML.info(scale: 1_000_000_000))
        let c1 = s.add(EBML.openCluster(3, EBML.simpleBlock(1, 0, key: true), EBML.simpleBlock(1, 1, key: false)))
        return WebMCase(name: "TimestampScale 1 s, no Tracks", bytes: s.bytes,
                        events: [.initSegmentStart(offset: 0), .initSegmentEnd(offset: c1), cluster(c1, 3000, true)],
                        blocks: [B(1, 3000, true), B(1, 4000, false)])
    }

    static var voids: WebMCase {
        var s = WebMStreamBuilder()
        s.add(EBML.header + EBML.element(MKV.void, []) + EBML.open(MKV.segment) + EBML.void(3) + EBML.info(scale: nil)
              + EBML.void(1) + EBML.tracks(video: [1], audio: []))
        let c1 = s.add(EBML.open(MKV.cluster) + EBML.void(0) + EBML.uint(MKV.timestamp, 40) + EBML.void(5)
                       + EBML.simpleBlock(1, 0, key: true) + EBML.void(2)
                       + EBML.element(MKV.blockGroup, EBML.void(1) + EBML.element(MKV.block, EBML.blockPayload(1, 9, flags: 0))
                                      + EBML.void(0) + EBML.element(MKV.referenceBlock, [0xF7])))
        s.add(EBML.void(1))
        let c2 = s.add(EBML.cluster(100, EBML.void(4), EBML.simpleBlock(1, 0, key: false), EBML.void(130)))
        s.add(EBML.void(2))
        return WebMCase(name: "Void anywhere", bytes: s.bytes,
                        events: [.initSegmentStart(offset: 0), .initSegmentEnd(offset: c1),
                                 cluster(c1, 40, true), cluster(c2, 100, false)],
                        blocks: [B(1, 40, true), B(1, 49, false), B(1, 100, false)])
    }

    static var blockGroups: WebMCase {
        var s = WebMStreamBuilder()
        s.add(EBML.header + EBML.open(MKV.segment) + EBML.tracks(video: [1], audio: []))
        let c1 = s.add(EBML.openCluster(0, EBML.blockGroup(1, 0, referenced: false), EBML.simpleBlock(1, 33, key: false)))
        let c2 = s.add(EBML.openCluster(100, EBML.blockGroup(1, 0, referenced: true), EBML.blockGroup(1, 33, referenced: false)))
        let c3 = s.add(EBML.openCluster(200, EBML.element(MKV.blockGroup, EBML.element(MKV.block, EBML.blockPayload(1, 5, flags: 0))
            + EBML.uint(MKV.blockDuration, 33))))
        return WebMCase(name: "BlockGroups: keyframe unless a ReferenceBlock", bytes: s.bytes,
                        events: [.initSegmentStart(offset: 0), .initSegmentEnd(offset: c1),
                                 cluster(c1, 0, true), cluster(c2, 100, false), cluster(c3, 200, true)],
                        blocks: [B(1, 0, true), B(1, 33, false), B(1, 100, false), B(1, 133, true), B(1, 205, true)])
    }

    static var emptyAndAudioOnly: WebMCase {
        var s = WebMStreamBuilder()
        s.add(EBML.header + EBML.open(MKV.segment) + EBML.tracks(video: [1], audio: [2]))
        let c1 = s.add(EBML.openCluster(0))
        let c2 = s.add(EBML.openCluster(500, EBML.simpleBlock(2, 0, key: true), EBML.simpleBlock(2, 20, key: true)))
        let c3 = s.add(EBML.openCluster(1000, EBML.simpleBlock(2, 0, key: true), EBML.simpleBlock(1, 3, key: true)))
        return WebMCase(name: "empty cluster not reported; audio-only cluster reported at its end, not key",
                        bytes: s.bytes,
                        events: [.initSegmentStart(offset: 0), .initSegmentEnd(offset: c1),
                                 cluster(c2, 500, false), cluster(c3, 1000, true)],
                        blocks: [B(2, 500, true), B(2, 520, true), B(2, 1000, true), B(1, 1003, true)])
    }

    static var endedBySegmentChildren: WebMCase {
        var s = WebMStreamBuilder()
        s.add(EBML.header + EBML.open(MKV.segment) + EBML.tracks(video: [1], audio: []))
        let c1 = s.add(EBML.openCluster(0, EBML.simpleBlock(1, 0, key: true)))
        // A SimpleBlock after Cues belongs to the Segment, not to the ended cluster: not a block.
        s.add(EBML.element(MKV.cues, EBML.void(3)) + EBML.simpleBlock(1, 50, key: true) + EBML.element(MKV.tags, []))
        let c2 = s.add(EBML.openCluster(100, EBML.simpleBlock(1, 0, key: false), sizeLength: 1))
        s.add(EBML.element(MKV.chapters, []) + EBML.element(MKV.attachments, [1, 2]) + EBML.element(MKV.seekHead, []))
        s.add(EBML.simpleBlock(1, 60, key: true))
        let c3 = s.add(EBML.openCluster(300, EBML.simpleBlock(1, 0, key: true), sizeLength: 2))
        return WebMCase(name: "unknown-size Cluster ends at Cues, Tags, Chapters, Attachments, SeekHead", bytes: s.bytes,
                        events: [.initSegmentStart(offset: 0), .initSegmentEnd(offset: c1),
                                 cluster(c1, 0, true), cluster(c2, 100, false), cluster(c3, 300, true)],
                        blocks: [B(1, 0, true), B(1, 100, false), B(1, 300, true)])
    }

    static var restarted: WebMCase {
        var s = WebMStreamBuilder()
        s.add(EBML.header + EBML.open(MKV.segment) + EBML.info(scale: 100_000) + EBML.tracks(video: [1], audio: [2]))
        let c1 = s.add(EBML.openCluster(10_000, EBML.simpleBlock(2, 0, key: true), EBML.simpleBlock(1, 0, key: true)))
        let h2 = s.add(EBML.header + EBML.open(MKV.segment, sizeLength: 1))
        let c2 = s.add(EBML.openCluster(500, EBML.simpleBlock(2, 0, key: false), sizeLength: 1))
        return WebMCase(name: "restarted stream: second EBML header and Segment, defaults again", bytes: s.bytes,
                        events: [.initSegmentStart(offset: 0), .initSegmentEnd(offset: c1), cluster(c1, 1000, true),
                                 .initSegmentStart(offset: h2), .initSegmentEnd(offset: c2), cluster(c2, 500, false)],
                        blocks: [B(2, 1000, true), B(1, 1000, true), B(2, 500, false)])
    }

    static var sizedClustersInUnknownSegment: WebMCase {
        var s = WebMStreamBuilder()
        s.add(EBML.header + EBML.open(MKV.segment) + EBML.info(scale: 1_000_000) + EBML.tracks(video: [1], audio: []))
        let c1 = s.add(EBML.cluster(0, EBML.simpleBlock(1, 0, key: true)))
        let c2 = s.add(EBML.cluster(1000, EBML.simpleBlock(1, 0, key: true), EBML.simpleBlock(1, 100, key: false)))
        s.add(EBML.void(9))
        let c3 = s.add(EBML.cluster(2000, EBML.simpleBlock(1, 0, key: false)))
        return WebMCase(name: "ffmpeg -live: sized Clusters in an unknown-size Segment", bytes: s.bytes,
                        events: [.initSegmentStart(offset: 0), .initSegmentEnd(offset: c1),
                                 cluster(c1, 0, true), cluster(c2, 1000, true), cluster(c3, 2000, false)],
                        blocks: [B(1, 0, true), B(1, 1000, true), B(1, 1100, false), B(1, 2000, false)])
    }

    static var longVINTs: WebMCase {
        var s = WebMStreamBuilder()
        s.add(EBML.header + EBML.open(MKV.segment) + EBML.tracks(video: [200], audio: [1]))
        let payload: [UInt8] = [0x40, 0xC8, 0x00, 0x0A, 0x80, 0x9D]
        let c1 = s.add(EBML.openCluster(0, EBML.simpleBlock(1, 0, key: true),
                                        EBML.id(MKV.simpleBlock) + EBML.size(payload.count, length: 8) + payload))
        return WebMCase(name: "2-byte track number, 8-byte block size", bytes: s.bytes,
                        events: [.initSegmentStart(offset: 0), .initSegmentEnd(offset: c1), cluster(c1, 0, true)],
                        blocks: [B(1, 0, true), B(200, 10, true)])
    }
}

/// A stream that is not valid WebM and the error the scanner must report.
struct WebMCorruptCase: Sendable, CustomTestStringConvertible {
    var name: String
    var bytes: [UInt8]
    var error: WebMScanner.ScanError
    var testDescription: String { name }

    /// EBML header, unknown-size Segment and Cluster, Timestamp 0: garbage goes after it.
    static let prefix = EBML.header + EBML.open(MKV.segment) + EBML.openCluster(0)
    static let p = Int64(prefix.count)
    static let start = EBML.header + EBML.open(MKV.segment)
    static let s = Int64(start.count)

    static let all: [WebMCorruptCase] = [
        .init(name: "all zero", bytes: [UInt8](repeating: 0, count: 64), error: .notWebM),
        .init(name: "all 0xFF", bytes: [UInt8](repeating: 0xFF, count: 64), error: .notWebM),
        .init(name: "RIFF", bytes: Array("RIFF\0\0\0\0WAVE".utf8), error: .notWebM),
        .init(name: "ID longer than 4 bytes", bytes: prefix + [0x08, 0x01, 0x02, 0x03, 0x04, 0x81, 0x00],
              error: .invalidElementID(offset: p)),
        .init(name: "reserved ID 0xFF", bytes: prefix + [0xFF, 0x80], error: .invalidElementID(offset: p)),
        .init(name: "reserved ID 0x80", bytes: prefix + [0x80, 0x80], error: .invalidElementID(offset: p)),
        .init(name: "size longer than 8 bytes", bytes: prefix + [0xEC, 0x00, 0x80], error: .invalidElementSize(offset: p)),
        .init(name: "unknown-size Void", bytes: prefix + [0xEC, 0xFF, 0x00], error: .unknownSizeNotAllowed(id: 0xEC, offset: p)),
        .init(name: "unknown-size EBML header", bytes: EBML.open(MKV.ebml),
              error: .unknownSizeNotAllowed(id: 0x1A45_DFA3, offset: 0)),
        .init(name: "unknown-size Info", bytes: start + EBML.open(MKV.info) + EBML.uint(MKV.timestampScale, 1000),
              error: .unknownSizeNotAllowed(id: 0x1549_A966, offset: s)),
        .init(name: "huge Void", bytes: prefix + [0xEC, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE],
              error: .elementTooLarge(id: 0xEC, offset: p, size: (1 << 56) - 2)),
        .init(name: "huge Tracks", bytes: start + EBML.id(MKV.tracks) + [0x09, 0, 0, 0, 0],
              error: .elementTooLarge(id: 0x1654_AE6B, offset: s, size: 1 << 32)),
        .init(name: "block overruns its sized cluster",
              bytes: start + EBML.id(MKV.cluster) + [0x85] + EBML.uint(MKV.timestamp, 0) + EBML.simpleBlock(1, 0, key: true),
              error: .elementOverrunsParent(id: 0xA3, offset: s + 8, end: s + 8 + 9, parentEnd: s + 5 + 5)),
        .init(name: "Info overruns its sized Segment",
              bytes: EBML.header + EBML.id(MKV.segment) + [0x8A] + EBML.info(scale: 1000),
              error: .elementOverrunsParent(id: 0x1549_A966, offset: s - 7, end: s - 7 + Int64(EBML.info(scale: 1000).count),
                                            parentEnd: s - 7 + 10)),
        .init(name: "TimestampScale 0", bytes: start + EBML.element(MKV.info, EBML.uint(MKV.timestampScale, 0)),
              error: .invalidValue(id: 0x2A_D7B1, offset: s + 5)),
        .init(name: "TimestampScale of 9 bytes", bytes: start + EBML.element(MKV.info, EBML.element(MKV.timestampScale, [UInt8](repeating: 1, count: 9))),
              error: .invalidValue(id: 0x2A_D7B1, offset: s + 5)),
        .init(name: "SimpleBlock of 3 bytes", bytes: prefix + EBML.element(MKV.simpleBlock, [0x81, 0, 0]),
              error: .invalidValue(id: 0xA3, offset: p)),
        .init(name: "SimpleBlock with track VINT 0", bytes: prefix + EBML.element(MKV.simpleBlock, [0x00, 0, 0, 0x80, 1]),
              error: .invalidValue(id: 0xA3, offset: p)),
        .init(name: "SimpleBlock too short for its 2-byte track", bytes: prefix + EBML.element(MKV.simpleBlock, [0x40, 0x01, 0, 0]),
              error: .invalidValue(id: 0xA3, offset: p)),
        .init(name: "block before the cluster's Timestamp",
              bytes: start + EBML.open(MKV.cluster) + EBML.simpleBlock(1, 0, key: true),
              error: .blockBeforeTimestamp(offset: s + 12)),
        .init(name: "Timestamp 2^63", bytes: start + EBML.open(MKV.cluster) + EBML.uint(MKV.timestamp, 1 << 63),
              error: .timestampOutOfRange(offset: s + 12)),
        .init(name: "Timestamp × huge scale", bytes: start + EBML.info(scale: .max) + EBML.open(MKV.cluster) + EBML.uint(MKV.timestamp, 1 << 40),
              error: .timestampOutOfRange(offset: s + Int64(EBML.info(scale: .max).count) + 12)),
        .init(name: "Timestamp past the limit", bytes: start + EBML.info(scale: 1) + EBML.open(MKV.cluster)
              + EBML.uint(MKV.timestamp, UInt64(Int64.max)),
              error: .timestampOutOfRange(offset: s + Int64(EBML.info(scale: 1).count) + 12)),
        .init(name: "block time past the limit", bytes: start + EBML.info(scale: 1_000_000) + EBML.open(MKV.cluster)
              + EBML.uint(MKV.timestamp, UInt64(MediaTime.limitMs)) + EBML.simpleBlock(1, 1, key: true),
              error: .timestampOutOfRange(offset: s + Int64(EBML.info(scale: 1_000_000).count) + 12 + 8)),
    ]
}
