import Testing
import VigRelayCore

/// Server frame headers, against RFC 6455's examples (section 5.7) and the length boundaries.
struct WebSocketFrameHeaderTests {
    static func header(opcode: UInt8, fin: Bool, count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0xEE, count: WebSocketFrameHeader.maxBytes)
        let length = out.withUnsafeMutableBytes { WebSocketFrameHeader.write(into: $0.baseAddress!, opcode: opcode, fin: fin, payloadCount: count) }
        return Array(out.prefix(length))
    }

    @Test func rfcExamples() {
        #expect(Self.header(opcode: 0x1, fin: true, count: 5) == [0x81, 0x05], "a single-frame unmasked text message, \"Hello\"")
        #expect(Self.header(opcode: 0x1, fin: false, count: 3) == [0x01, 0x03], "the first fragment of a text message")
        #expect(Self.header(opcode: 0x0, fin: true, count: 2) == [0x80, 0x02], "its last fragment")
        #expect(Self.header(opcode: 0x2, fin: true, count: 256) == [0x82, 0x7E, 0x01, 0x00], "256 bytes of binary data")
        #expect(Self.header(opcode: 0x2, fin: true, count: 65536) == [0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00], "64 KiB of binary data")
    }

    @Test func lengthBoundaries() {
        #expect(Self.header(opcode: 0x2, fin: true, count: 0) == [0x82, 0x00])
        #expect(Self.header(opcode: 0x2, fin: true, count: 125) == [0x82, 125])
        #expect(Self.header(opcode: 0x2, fin: true, count: 126) == [0x82, 126, 0x00, 126])
        #expect(Self.header(opcode: 0x2, fin: true, count: 0xFFFF) == [0x82, 126, 0xFF, 0xFF])
        #expect(Self.header(opcode: 0x2, fin: true, count: 0x10000) == [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0])
    }

    @Test func readsBackThroughTheClientsReader() {
        // What the relay writes, the client's reader (unmasked frames) takes as the same message.
        let payload = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var frame = Self.header(opcode: 0x2, fin: true, count: payload.count) + payload
        var reader = WebSocketFrameReader(limitBytes: 1 << 20, masked: false)
        var position = 0
        let event = frame.withUnsafeMutableBytes { reader.next(UnsafeRawBufferPointer($0), at: &position) }
        #expect(event == .message(payload, binary: true))
        #expect(position == frame.count)
        frame.removeAll()
    }
}
