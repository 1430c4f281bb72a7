import Testing
import VigRelayCore
@testable import VigRelayClientKit

struct StreamVerifierTests {
    static let sizing = FrameSizing(keyframeSize: 300, deltaSize: 100, framesPerKeyframe: 10)

    static func frame(_ sequence: UInt32, sentAt: UInt64 = 1_000, size: Int? = nil) -> (MediaFrameHeader, [UInt8]) {
        let header = MediaFrameHeader(stream: .camera, flags: sizing.flags(of: UInt64(sequence)), sequence: sequence,
                                      mediaTimeMicros: sentAt / 1000)
        let message = CheckablePayload.message(header: header.bytes, sequence: UInt64(sequence),
                                               size: size ?? sizing.size(of: UInt64(sequence)), sentNanoseconds: sentAt)
        return (header, message)
    }

    @Test func framesInOrderAreIntactWithTheirLatency() {
        var verifier = StreamVerifier(sizing: Self.sizing)
        for sequence in UInt32(0)..<25 {
            let (header, message) = Self.frame(sequence, sentAt: 1_000_000)
            #expect(verifier.receive(header, message: message, arrivalNanoseconds: 3_500_000) == .intact(latencyMicros: 2500))
        }
        let end = MediaFrameHeader(stream: .camera, flags: .endOfStream, sequence: 25, mediaTimeMicros: 0)
        #expect(verifier.receive(end, message: end.bytes, arrivalNanoseconds: 4_000_000) == .endOfStream)
        #expect(verifier.framesReceived == 25 && verifier.distinct == 25 && verifier.endSequence == 25)
        #expect(verifier.payloadBytesReceived == 3 * 300 + 22 * 100)
        #expect(verifier.bytesReceived == verifier.payloadBytesReceived + 25 * MediaFrameHeader.size)
        #expect(verifier.lost(sent: 25) == 0 && verifier.corrupt == 0 && verifier.reordered == 0 && verifier.duplicates == 0)
    }

    @Test func gapsDuplicatesAndLateFramesAreCounted() {
        var verifier = StreamVerifier(sizing: Self.sizing)
        for sequence: UInt32 in [0, 1, 3, 3, 2, 200] {
            let (header, message) = Self.frame(sequence)
            _ = verifier.receive(header, message: message, arrivalNanoseconds: 2_000)
        }
        #expect(verifier.duplicates == 1)
        #expect(verifier.reordered == 1)  // 2 after 3
        #expect(verifier.distinct == 5)
        #expect(verifier.lost(sent: 201) == 196)
    }

    @Test func aChangedByteOrAWrongSizeIsCorrupt() {
        var verifier = StreamVerifier(sizing: Self.sizing)
        var (header, message) = Self.frame(4)
        message[message.count - 1] ^= 1
        #expect(verifier.receive(header, message: message, arrivalNanoseconds: 2_000) == .corrupt)
        (header, message) = Self.frame(5, size: 101)
        #expect(verifier.receive(header, message: message, arrivalNanoseconds: 2_000) == .corrupt)
        // Frame 6's payload under frame 7's header.
        let (header7, _) = Self.frame(7)
        (_, message) = Self.frame(6)
        #expect(verifier.receive(header7, message: header7.bytes + message[MediaFrameHeader.size...], arrivalNanoseconds: 2_000) == .corrupt)
        #expect(verifier.corrupt == 3)
    }

    /// The header is checked too: flags that are not the frame's, and (with a base) a media time
    /// after the payload's write time, even one whose nanoseconds overflow.
    @Test func aWrongFlagOrMediaTimeIsCorrupt() {
        var verifier = StreamVerifier(sizing: Self.sizing)
        let (header, message) = Self.frame(10, sentAt: 5_000_000)
        #expect(verifier.receive(header, message: message, arrivalNanoseconds: 6_000_000, mediaTimeBase: 0) == .intact(latencyMicros: 1000))
        for bad in [MediaFrameFlags(), [.keyframe, .initSegment]] {
            var flagged = header
            flagged.flags = bad
            #expect(verifier.receive(flagged, message: flagged.bytes + message[MediaFrameHeader.size...], arrivalNanoseconds: 6_000_000) == .corrupt)
        }
        #expect(verifier.receive(header, message: message, arrivalNanoseconds: 6_000_000, mediaTimeBase: 0) == .intact(latencyMicros: 1000))
        for micros: UInt64 in [5_001, .max, 1 << 60] {
            var timed = header
            timed.mediaTimeMicros = micros
            #expect(verifier.receive(timed, message: timed.bytes + message[MediaFrameHeader.size...], arrivalNanoseconds: 6_000_000,
                                     mediaTimeBase: 0) == .corrupt)
        }
        #expect(verifier.corrupt == 5)
    }

    @Test func anAbsurdSequenceIsCorruptAndAllocatesNothing() {
        var verifier = StreamVerifier(sizing: Self.sizing)
        let (header, message) = Self.frame(UInt32.max - 1)
        #expect(verifier.receive(header, message: message, arrivalNanoseconds: 2_000) == .corrupt)
        #expect(verifier.distinct == 0 && verifier.corrupt == 1)
    }

    @Test func aMessageCarriesItsSendTimeAndChecksOut() throws {
        let header = MediaFrameHeader(stream: .screen, flags: .keyframe, sequence: 9, mediaTimeMicros: 77)
        let message = CheckablePayload.message(header: header.bytes, sequence: 9, size: 70_000, sentNanoseconds: 123_456_789)
        #expect(message.count == MediaFrameHeader.size + 70_000)
        #expect(try MediaFrameHeader.parse(message) == header)
        let reading = try #require(message.withUnsafeBytes { CheckablePayload.read(UnsafeRawBufferPointer(rebasing: $0[MediaFrameHeader.size...])) })
        #expect(reading == CheckablePayload.Reading(sequence: 9, sentNanoseconds: 123_456_789, intact: true))
        // The same payload as `make` apart from the send time.
        var plain = CheckablePayload.make(sequence: 9, size: 70_000)
        CheckablePayload.stamp(&plain, payloadOffset: 0, nanoseconds: 123_456_789)
        #expect(Array(message[MediaFrameHeader.size...]) == plain)
    }
}
