import Testing
@testable import VigRelayClientKit

struct MaskedFrameWriterTests {
    /// Writes a frame into a fresh buffer and returns its bytes.
    private func frame(_ payload: [UInt8], opcode: MaskedFrameWriter.Opcode = .binary, fin: Bool = true, key: UInt32,
                       stamp: (offset: Int, nanoseconds: UInt64)? = nil) -> [UInt8] {
        let room = MaskedFrameWriter.headerBytes(payloadCount: payload.count) + payload.count
        var out = [UInt8](repeating: 0xEE, count: room + 8)  // 8 guard bytes that must stay untouched
        let length = out.withUnsafeMutableBytes { buffer in
            payload.withUnsafeBytes { MaskedFrameWriter.write(into: buffer.baseAddress!, payload: $0, opcode: opcode, fin: fin, key: key, stamp: stamp) }
        }
        #expect(length == room)
        #expect(out[room...].allSatisfy { $0 == 0xEE }, "wrote past the frame")
        return Array(out[..<length])
    }

    /// The RFC's own way: payload byte i XOR key byte i % 4, key bytes as they appear on the wire.
    private func referenceMask(_ payload: [UInt8], key: UInt32) -> [UInt8] {
        let keyBytes = [UInt8(key >> 24), UInt8((key >> 16) & 0xFF), UInt8((key >> 8) & 0xFF), UInt8(key & 0xFF)]
        return payload.enumerated().map { $0.element ^ keyBytes[$0.offset % 4] }
    }

    @Test func theRFCsMaskedHelloComesOutByteForByte() {
        // RFC 6455 section 5.7: "A single-frame masked text message".
        #expect(frame(Array("Hello".utf8), opcode: .text, key: 0x37FA_213D)
                == [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
    }

    @Test func theLengthTakesOneTwoOrEightBytesAtTheRFCsBoundaries() {
        for (count, header) in [(0, 6), (125, 6), (126, 8), (65_535, 8), (65_536, 14), (256 << 10, 14)] {
            let bytes = frame([UInt8](repeating: 7, count: count), key: 1)
            #expect(MaskedFrameWriter.headerBytes(payloadCount: count) == header)
            #expect(bytes.count == header + count)
            var length = Int(bytes[1] & 0x7F)
            if length == 126 { length = Int(bytes[2]) << 8 | Int(bytes[3]) }
            if length == 127 { length = bytes[2..<10].reduce(0) { $0 << 8 | Int($1) } }
            #expect(bytes[1] & 0x80 == 0x80, "the mask bit is set")
            #expect(length == count, "length field for \(count)")
        }
    }

    @Test func theFirstByteCarriesFinAndOpcode() {
        #expect(frame([1], opcode: .binary, fin: false, key: 0)[0] == 0x02)
        #expect(frame([1], opcode: .continuation, fin: false, key: 0)[0] == 0x00)
        #expect(frame([1], opcode: .continuation, fin: true, key: 0)[0] == 0x80)
        #expect(frame([1], opcode: .text, fin: true, key: 0)[0] == 0x81)
    }

    @Test func everyLengthIsMaskedAsTheRFCSaysWhateverItsRemainderByEight() {
        var generator = SystemRandomNumberGenerator()
        for count in Array(0...40) + [1000, 4093, 65_537] {
            let payload = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let key = UInt32.random(in: .min ... .max, using: &generator)
            let bytes = frame(payload, key: key)
            let header = MaskedFrameWriter.headerBytes(payloadCount: count)
            let wireKey = bytes[(header - 4)..<header].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            #expect(wireKey == key)
            #expect(Array(bytes[header...]) == referenceMask(payload, key: key), "payload of \(count) bytes")
        }
    }

    @Test func aStampReplacesEightPayloadBytesAtItsOffsetMaskedLikeThem() {
        var generator = SystemRandomNumberGenerator()
        let payload = (0..<64).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let nanoseconds: UInt64 = 0x0102_0304_0506_0708
        for offset in [0, 1, 2, 3, 24, 56] {
            let key = UInt32.random(in: .min ... .max, using: &generator)
            var expected = payload
            expected.replaceSubrange(offset..<(offset + 8), with: [1, 2, 3, 4, 5, 6, 7, 8])
            let bytes = frame(payload, key: key, stamp: (offset, nanoseconds))
            let header = MaskedFrameWriter.headerBytes(payloadCount: payload.count)
            #expect(Array(bytes[header...]) == referenceMask(expected, key: key), "stamp at \(offset)")
        }
    }

    @Test func aStampThatDoesNotFitLeavesThePayloadAsItIs() {
        let payload = [UInt8](repeating: 9, count: 20)
        for offset in [13, 20, -1] {
            #expect(frame(payload, key: 0x1234_5678, stamp: (offset, 42)) == frame(payload, key: 0x1234_5678), "stamp at \(offset)")
        }
    }
}
