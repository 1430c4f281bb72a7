import Testing
@testable import VigRelayCore

/// The reader of WebSocket frames, the relay's (masked client frames) and the client's (unmasked
/// server frames): whole messages out of any split of the stream, control frames between fragments,
/// and the protocol errors that close the connection.
struct WebSocketFrameReaderTests {
    /// A frame; masked with `key` when one is given (a client's frame), as RFC 6455 lays it out.
    static func frame(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true, rsv: UInt8 = 0, key: [UInt8]? = nil) -> [UInt8] {
        var out: [UInt8] = [(fin ? 0x80 : 0) | rsv | opcode]
        let mask: UInt8 = key != nil ? 0x80 : 0
        if payload.count < 126 {
            out.append(mask | UInt8(payload.count))
        } else if payload.count <= 0xFFFF {
            out += [mask | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            out.append(mask | 127)
            out += (0..<8).reversed().map { UInt8(truncatingIfNeeded: UInt64(payload.count) >> (8 * UInt64($0))) }
        }
        guard let key else { return out + payload }
        return out + key + payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
    }

    static func pattern(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) } }

    /// Feeds `stream` in pieces of `piece` bytes; returns every event.
    static func read(_ stream: [UInt8], piece: Int, limit: Int = 1 << 20, masked: Bool = false) -> [WebSocketFrameReader.Event] {
        var reader = WebSocketFrameReader(limitBytes: limit, masked: masked)
        var events: [WebSocketFrameReader.Event] = []
        var start = 0
        while start < stream.count {
            let end = min(stream.count, start + piece)
            stream[start..<end].withUnsafeBytes { bytes in
                var position = 0
                while let event = reader.next(bytes, at: &position) { events.append(event) }
                #expect(position == bytes.count, "every byte given is read")
            }
            start = end
        }
        return events
    }

    /// Payload lengths on each side of the 7-bit, 16-bit and 64-bit length forms, fed whole, a byte
    /// at a time and in odd pieces.
    @Test(arguments: [1, 3, 1000, 1 << 20])
    func messagesOfEveryLengthFormSurviveAnySplit(piece: Int) {
        let sizes = [0, 1, 125, 126, 127, 65_535, 65_536, 70_001]
        var stream: [UInt8] = []
        var expected: [WebSocketFrameReader.Event] = []
        for (i, size) in sizes.enumerated() {
            let binary = i % 2 == 0
            let payload = binary ? Self.pattern(size) : Self.pattern(size).map { $0 & 0x7F }  // text: ASCII
            stream += Self.frame(binary ? 0x2 : 0x1, payload)
            expected.append(.message(payload, binary: binary))
        }
        #expect(Self.read(stream, piece: piece) == expected)
    }

    @Test func fragmentsJoinAndControlFramesMayComeBetweenThem() {
        let stream = Self.frame(0x2, [1, 2], fin: false) + Self.frame(0x9, [7, 7]) + Self.frame(0x0, [3], fin: false)
            + Self.frame(0xA, []) + Self.frame(0x0, [4, 5])
        #expect(Self.read(stream, piece: 2) == [.ping([7, 7]), .pong, .message([1, 2, 3, 4, 5], binary: true)])
    }

    @Test func closeCarriesItsCodeAndReason() {
        let close = Self.frame(0x8, [0x03, 0xE8] + Array("bye".utf8))
        #expect(Self.read(close, piece: 1) == [.close(code: 1000, reason: "bye")])
        #expect(Self.read(Self.frame(0x8, []), piece: 5) == [.close(code: nil, reason: "")])
    }

    /// What a server must never send, and the close code to answer it with.
    static let brokenStreams: [([UInt8], UInt16)] = [
        (frame(0x2, [1], key: [1, 2, 3, 4]), 1002),
        (frame(0x1, [0xC3, 0x28]), 1007),
        (frame(0x2, [1], rsv: 0x40), 1002),
        (frame(0x0, [1]), 1002),
        (frame(0x3, [1]), 1002),
        (frame(0x9, [1], fin: false), 1002),
        (frame(0x9, pattern(126)), 1002),
        (frame(0x2, [1], fin: false) + frame(0x1, [2]), 1002),
        (frame(0x2, pattern(2000)), 1009),
        (frame(0x8, [3]), 1002),
        (frame(0x8, [0x03, 0xED]), 1002),  // 1005
        (frame(0x8, [0x03, 0xEE]), 1002),  // 1006
        (frame(0x8, [0x03, 0xF7]), 1002),  // 1015
        (frame(0x8, [0x03, 0xE7]), 1002),  // 999
        (frame(0x8, [0x13, 0x88]), 1002),  // 5000
    ]

    /// Each ends reading with its close code; nothing after it is read.
    @Test(arguments: brokenStreams)
    func protocolErrorsFailWithTheirCode(stream: [UInt8], code: UInt16) {
        let events = Self.read(stream + Self.frame(0x2, [9]), piece: 7, limit: 1000)
        guard case .failure(let got, _)? = events.last else {
            Issue.record("no failure: \(events)")
            return
        }
        #expect(got == code)
        #expect(events.count == 1, "nothing is read after a failure")
    }

    /// A client's frames, masked with keys whose bytes all differ, in every length form, fragmented
    /// at odd lengths (so the key turns part-way between frames and pieces), split any way.
    @Test(arguments: [1, 3, 7, 1000, 1 << 20])
    func maskedFramesAreUnmaskedWhateverTheSplit(piece: Int) {
        let sizes = [0, 1, 5, 125, 126, 127, 1_001, 65_535, 65_536, 70_001]
        var stream: [UInt8] = []
        var expected: [WebSocketFrameReader.Event] = []
        for (i, size) in sizes.enumerated() {
            let payload = Self.pattern(size)
            let key: [UInt8] = [UInt8(truncatingIfNeeded: 0x11 &* (i + 1)), 0xA5, UInt8(truncatingIfNeeded: 0x3C &+ i), 0x96]
            if size > 10 {
                // In three frames of odd lengths, the middle one with a ping after it.
                let a = size / 3 | 1, b = size / 3 | 1
                stream += Self.frame(0x2, Array(payload[..<a]), fin: false, key: key)
                stream += Self.frame(0x0, Array(payload[a..<(a + b)]), fin: false, key: key.reversed())
                stream += Self.frame(0x9, [9, 8, 7], key: key)
                stream += Self.frame(0x0, Array(payload[(a + b)...]), key: [key[1], key[3], key[0], key[2]])
                expected += [.ping([9, 8, 7]), .message(payload, binary: true)]
            } else {
                stream += Self.frame(0x1, Array("text \(i)".utf8), key: key)
                expected.append(.message(Array("text \(i)".utf8), binary: false))
            }
        }
        stream += Self.frame(0x8, [0x0F, 0xA1] + Array("gone".utf8), key: [0xFF, 0, 0x80, 1])
        expected.append(.close(code: 4001, reason: "gone"))
        #expect(Self.read(stream, piece: piece, masked: true) == expected)
    }

    @Test func aClientFrameMustBeMasked() {
        let events = Self.read(Self.frame(0x2, [1, 2, 3]), piece: 4, masked: true)
        guard case .failure(let code, _)? = events.first else {
            Issue.record("no failure: \(events)")
            return
        }
        #expect(code == 1002)
    }

    /// Unmasking against the RFC's definition, byte i XOR key[i % 4], at every length around the
    /// 8- and 64-byte steps and at every turn of the key.
    @Test func unmaskingMatchesTheDefinition() {
        let key: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        for count in 0...140 {
            for turn in 0..<4 {
                let plain = Self.pattern(count)
                var bytes = plain
                let turned = key.withUnsafeBytes { WebSocketFrameReader.rotate($0.loadUnaligned(as: UInt32.self), by: turn) }
                bytes.withUnsafeMutableBytes { WebSocketMask.apply(from: $0.baseAddress!, to: $0.baseAddress!, count: count, key: turned) }
                #expect(bytes == plain.enumerated().map { $0.element ^ key[($0.offset + turn) % 4] }, "count \(count), turn \(turn)")
            }
        }
    }

    @Test func aMessageOverTheLimitAcrossFragmentsFails() {
        let stream = Self.frame(0x2, Self.pattern(600), fin: false) + Self.frame(0x0, Self.pattern(600))
        let codes: [UInt16?] = Self.read(stream, piece: 100, limit: 1000).map { event in
            if case .failure(let code, _) = event { return code }
            return nil
        }
        #expect(codes == [1009])
    }

    /// A 64-bit length header as a peer may send it, whatever the payload that follows.
    static func header(_ opcode: UInt8, fin: Bool, length: UInt64) -> [UInt8] {
        [(fin ? 0x80 : 0) | opcode, 127] + (0..<8).reversed().map { UInt8(truncatingIfNeeded: length >> (8 * UInt64($0))) }
    }

    /// Lengths up to Int.max fail with 1009, on a message's first frame and on a continuation of a
    /// message already under way (where the sum with what was taken must not overflow), and
    /// a length past Int.max fails too.
    @Test(arguments: [UInt64(Int.max), UInt64(Int.max) - 1, UInt64(Int.max) + 1, UInt64.max])
    func hugeDeclaredLengthsFailWithoutOverflow(length: UInt64) {
        for stream in [Self.header(0x2, fin: true, length: length),
                       Self.frame(0x2, [1], fin: false) + Self.header(0x0, fin: true, length: length)] {
            let events = Self.read(stream, piece: 3, limit: 1000)
            guard case .failure(let code, _)? = events.last else {
                Issue.record("no failure: \(events)")
                continue
            }
            #expect(code == 1009)
        }
    }
}
