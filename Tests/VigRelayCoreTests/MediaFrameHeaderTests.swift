import Testing
import VigRelayCore

struct MediaFrameHeaderTests {
    @Test func encodesTheDocumentedBigEndianLayout() {
        let header = MediaFrameHeader(stream: .screen, flags: [.initSegment, .keyframe],
                                      sequence: 0x0102_0304, mediaTimeMicros: 0x1122_3344_5566_7788)
        #expect(header.bytes == [1, 2, 3, 0, 0x01, 0x02, 0x03, 0x04, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88])
        #expect(header.bytes.count == MediaFrameHeader.size)
        #expect(header.version == MediaFrameHeader.currentVersion)
    }

    static let roundTripTable: [(MediaStream, MediaFrameFlags, UInt32, UInt64)] = [
        (.camera, [], 0, 0),
        (.camera, .initSegment, 1, 1),
        (.screen, .keyframe, 0xffff_ffff, 0xffff_ffff_ffff_ffff),
        (.screen, .endOfStream, 0x8000_0001, 0x8000_0000_0000_0001),
        (.camera, [.initSegment, .keyframe, .endOfStream], 42, 1_800_000_000_000_000),
    ]

    @Test(arguments: roundTripTable)
    func roundTrips(stream: MediaStream, flags: MediaFrameFlags, sequence: UInt32, time: UInt64) throws {
        let header = MediaFrameHeader(stream: stream, flags: flags, sequence: sequence, mediaTimeMicros: time)
        let parsed = try MediaFrameHeader.parse(header.bytes + [9, 8, 7])
        #expect(parsed == header)
        #expect(parsed.streamKind == stream)
        #expect(parsed.flags == flags)
        #expect(parsed.sequence == sequence)
        #expect(parsed.mediaTimeMicros == time)
    }

    @Test func parsesBytesBuiltByHand() throws {
        let bytes = mediaBytes(stream: 1, flags: .keyframe, sequence: 258, time: 65_536, payload: [1, 2, 3])
        let header = try MediaFrameHeader.parse(bytes)
        #expect(header.stream == 1)
        #expect(header.flags == .keyframe)
        #expect(header.sequence == 258)
        #expect(header.mediaTimeMicros == 65_536)
        #expect(header.bytes == Array(bytes.prefix(16)))
    }

    @Test func parsesASliceThatDoesNotStartAtIndexZero() throws {
        let bytes = [0xaa, 0xbb] + mediaBytes(stream: 2, flags: .endOfStream, sequence: 7, time: 9)
        let header = try MediaFrameHeader.parse(bytes[2...])
        #expect(header.streamKind == .screen)
        #expect(header.flags == .endOfStream)
        #expect(header.sequence == 7)
        #expect(header.mediaTimeMicros == 9)
    }

    @Test(arguments: [UInt8(0), 3, 4, 255])
    func keepsUnknownStreamNumbersForTheRoleCheck(stream: UInt8) throws {
        let header = try MediaFrameHeader.parse(mediaBytes(stream: stream))
        #expect(header.stream == stream)
        #expect(header.streamKind == nil)
        #expect(header.bytes[1] == stream)
    }

    @Test(arguments: [0, 1, 2, 8, 15])
    func refusesMessagesShorterThanTheHeader(length: Int) {
        let bytes = Array(mediaBytes(stream: 1).prefix(length))
        #expect(throws: MediaFrameHeader.ParseError.tooShort(length)) { try MediaFrameHeader.parse(bytes) }
    }

    @Test(arguments: [UInt8(0), 2, 3, 0x80, 255])
    func refusesOtherVersions(version: UInt8) {
        let bytes = mediaBytes(stream: 1, flags: .keyframe, version: version)
        #expect(throws: MediaFrameHeader.ParseError.unsupportedVersion(version)) { try MediaFrameHeader.parse(bytes) }
    }

    @Test func shortnessIsReportedBeforeTheVersion() {
        #expect(throws: MediaFrameHeader.ParseError.tooShort(3)) { try MediaFrameHeader.parse([2, 1, 0]) }
    }

    @Test func errorDescriptionsSayWhatToSend() {
        #expect(MediaFrameHeader.ParseError.tooShort(5).description.contains("5 bytes"))
        #expect(MediaFrameHeader.ParseError.tooShort(5).description.contains("16-byte"))
        #expect(MediaFrameHeader.ParseError.unsupportedVersion(9).description.contains("version 9"))
        #expect(MediaFrameHeader.ParseError.unsupportedVersion(9).description.contains("send version 1"))
    }

    @Test func flagsHaveTheDocumentedBits() {
        #expect(MediaFrameFlags.initSegment.rawValue == 1)
        #expect(MediaFrameFlags.keyframe.rawValue == 2)
        #expect(MediaFrameFlags.endOfStream.rawValue == 4)
    }

    @Test func eachRoleSendsOnlyItsOwnStream() {
        #expect(MediaStream.camera.rawValue == 1)
        #expect(MediaStream.screen.rawValue == 2)
        #expect(MediaStream.camera.sender == .family)
        #expect(MediaStream.screen.sender == .practitioner)
        for role in Role.allCases {
            #expect(role.sendableStream.sender == role)
            #expect(role.peer != role)
            #expect(role.peer.peer == role)
        }
    }
}
