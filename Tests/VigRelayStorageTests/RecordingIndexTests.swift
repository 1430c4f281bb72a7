import Testing
import VigRelayCore
import VigRelayStorage

/// The index codec: each record's line, round trips, torn and malformed lines.
struct RecordingIndexTests {
    typealias Record = RecordingIndex.Record

    static let frame = Record.frame(.init(part: 1, offset: 409, length: 1200, mediaTimeUs: 33_000, sequence: 7, flags: 3))
    static let cluster = Record.cluster(.init(part: 2, offset: 0, timeMs: -5, keyframe: true))
    static let gap = Record.gap(part: 2, unixMs: 1_800_000_010_000)

    @Test func lines() {
        #expect(Self.frame.line == "F 1 409 1200 33000 7 3")
        #expect(Self.cluster.line == "C 2 0 -5 1")
        #expect(Record.cluster(.init(part: 1, offset: 9, timeMs: 500, keyframe: false)).line == "C 1 9 500 0")
        #expect(Self.gap.line == "G 2 1800000010000")
    }

    @Test func roundTrip() {
        let index = RecordingIndex(records: [Self.frame, Self.gap, Self.cluster])
        #expect(index.text == "F 1 409 1200 33000 7 3\nG 2 1800000010000\nC 2 0 -5 1\n")
        #expect(RecordingIndex.parse(index.text) == index)
        #expect(RecordingIndex.parse(bytes: Array(index.text.utf8)) == index)
        #expect(index.frames(part: 1).map(\.end) == [1609])
        #expect(index.clusters(part: 2).map(\.offset) == [0])
        #expect(index.gaps.map(\.part) == [2])
    }

    @Test func aFrameMayCarryItsLastBlockTime() {
        let frame = Record.frame(.init(part: 1, offset: 0, length: 9, mediaTimeUs: 0, sequence: 1, flags: 0, lastBlockMs: 3960))
        #expect(frame.line == "F 1 0 9 0 1 0 3960")
        #expect(Record(line: frame.line) == frame)
        #expect(Record(line: "F 1 0 9 0 1 0 -40") == .frame(.init(part: 1, offset: 0, length: 9, mediaTimeUs: 0, sequence: 1, flags: 0, lastBlockMs: -40)))
    }

    @Test func numbersAtTheirLimitsAreWrittenInFullAndReadBack() {
        let records = [
            Record.frame(.init(part: 1, offset: .max, length: 0, mediaTimeUs: .max, sequence: .max, flags: .max, lastBlockMs: -MediaTime.limitMs)),
            Record.cluster(.init(part: 10, offset: 1_000_000, timeMs: -MediaTime.limitMs, keyframe: true)),
            Record.gap(part: 3, unixMs: -1),
        ]
        #expect(records.map(\.line) == [
            "F 1 9223372036854775807 0 18446744073709551615 4294967295 255 -4398046511104",
            "C 10 1000000 -4398046511104 1",
            "G 3 -1",
        ])
        var bytes: [UInt8] = []
        for record in records { record.appendLine(to: &bytes) }
        #expect(RecordingIndex.parse(bytes: bytes) == RecordingIndex(records: records))
    }

    @Test func emptyText() {
        #expect(RecordingIndex.parse("") == RecordingIndex())
    }

    /// A line a crash cut short may still look well formed ("F 1 0 12" of "F 1 0 1200 ..."): a last
    /// line without its newline is ignored whatever it says.
    @Test(arguments: ["F", "F 1 409 12", "F 1 409 1200 33000 7 3", "C 2 0 -5 1", "G 2 18"])
    func tornLastLineIsIgnored(_ torn: String) {
        let index = RecordingIndex.parse("F 1 0 409 0 0 1\n" + torn)
        #expect(index.records == [.frame(.init(part: 1, offset: 0, length: 409, mediaTimeUs: 0, sequence: 0, flags: 1))])
        #expect(index.ignoredLines == 1)
    }

    @Test(arguments: ["", "X 1 2", "F 0 0 1 0 0 0", "F 1 -1 1 0 0 0", "F 1 0 -1 0 0 0", "F 1 0 1 0 0 256",
                      "F 1 0 1 0 4294967296 0", "F 1 0 1 0 0", "F 1 0 1 0 0 0 0 0", "F 1 0 1 0 0 0 x", "C 1 0 0 2", "C 1 x 0 1",
                      "G 1", "G 1 2 3", "F  1 0 1 0 0 0", "f 1 0 1 0 0 0",
                      "F 1 9223372036854775807 1 0 0 0", "F 1 0 1 0 0 0 4398046511105", "C 1 0 -4398046511105 1"])
    func malformedLinesAreIgnored(_ bad: String) {
        let index = RecordingIndex.parse("G 2 5\n\(bad)\nC 1 0 0 1\n")
        #expect(index.records == [.gap(part: 2, unixMs: 5), .cluster(.init(part: 1, offset: 0, timeMs: 0, keyframe: true))])
        #expect(index.ignoredLines == 1)
        #expect(Record(line: bad) == nil)
    }
}
