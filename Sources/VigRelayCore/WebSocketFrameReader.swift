/// Reads WebSocket frames (RFC 6455, section 5) out of a decrypted byte stream and hands over whole
/// messages, pings, pongs and the close frame. The relay reads its clients' frames with it (masked),
/// the load generator and client its server's (unmasked).
///
/// Why not lws's own parsers: lws 4.1's client parser takes the stream one byte at a time, a
/// function call and a state check per byte (`lws_ws_client_rx_sm`); in the load generator that
/// was about 60% of its CPU and capped one receiving thread near 300 MB/s. Its server parser unmasks
/// four bytes at a time and hands the payload over in pieces that are then copied into the message:
/// most of lws's share of the relay's CPU. Here a frame's header is read byte by byte (at most 14
/// bytes), its payload copied and unmasked into the message in one pass (`WebSocketMask`).
///
/// A client's frames must be masked and a server's must not; with no extension negotiated there are
/// no RSV bits; control frames are at most 125 bytes and never fragmented; a text message is UTF-8;
/// a message is at most `limitBytes`. Anything else is a `.failure` with the close code to send,
/// after which the reader reads nothing more.
///
/// Pure: the caller feeds it what the socket gave, in order. Owned by one connection on its lws thread.
public struct WebSocketFrameReader: Sendable {
    /// What one step of reading completed.
    public enum Event: Equatable, Sendable {
        case message([UInt8], binary: Bool)
        case ping([UInt8])
        case pong
        /// The peer's close frame: its code (nil when it carried none) and reason.
        case close(code: UInt16?, reason: String)
        /// The stream broke the protocol: close with `code` (1002 protocol error, 1007 text not UTF-8,
        /// 1009 too large).
        case failure(code: UInt16, reason: String)
    }

    /// Largest message accepted.
    public let limitBytes: Int
    /// Whether frames must be masked (the relay reading a client) or must not be (a client reading
    /// the relay).
    public let masked: Bool
    /// Most reserved ahead for a message: a header announcing a huge frame must not make the reader
    /// set memory aside before the bytes come.
    static let reserveLimitBytes = 1 << 20

    /// The current frame's header bytes, while incomplete (2 to 14 bytes).
    private var header: [UInt8] = []
    /// The current frame, once its header is read: its masking key as it applies to the next payload
    /// byte (rotated as the payload goes by; 0 when unmasked).
    private var frame: (opcode: UInt8, fin: Bool, remaining: Int, key: UInt32)?
    /// The data message being put together (its first frame's opcode says text or binary).
    private var message: [UInt8] = []
    private var messageBinary: Bool?
    /// A control frame's payload being read.
    private var control: [UInt8] = []
    private var failed = false

    public init(limitBytes: Int, masked: Bool) {
        self.limitBytes = limitBytes
        self.masked = masked
    }

    /// Whether a `.failure` was returned (nothing more is read).
    public var hasFailed: Bool { failed }

    /// Reads from `input` at `position` (moving it on) until one event completes; nil when `input`
    /// is used up first (the state carries over to the next call).
    public mutating func next(_ input: UnsafeRawBufferPointer, at position: inout Int) -> Event? {
        guard !failed else {
            position = input.count
            return nil
        }
        while position < input.count {
            guard let current = frame else {
                header.append(input[position])
                position += 1
                if let failure = readHeader() { return fail(failure) }
                if let done = frame, done.remaining == 0, let event = endFrame() { return event }
                continue
            }
            let take = min(current.remaining, input.count - position)
            let piece = UnsafeRawBufferPointer(rebasing: input[position..<(position + take)])
            if current.opcode >= 0x8 {
                Self.append(piece, to: &control, key: current.key)
            } else {
                Self.append(piece, to: &message, key: current.key)
            }
            position += take
            frame?.remaining -= take
            // The key turns by the bytes taken: the next piece starts at that byte of it.
            frame?.key = Self.rotate(current.key, by: take)
            if take == current.remaining, let event = endFrame() { return event }
        }
        return nil
    }

    /// Parses `header` once it is complete; returns a failure, or nil (complete or not yet).
    private mutating func readHeader() -> (UInt16, String)? {
        let first = header[0]
        guard header.count >= 2 else { return nil }
        let second = header[1]
        let short = Int(second & 0x7F)
        let keyBytes = second & 0x80 != 0 ? 4 : 0
        let needed = (short == 127 ? 10 : short == 126 ? 4 : 2) + keyBytes
        guard header.count == needed else { return nil }
        let length: Int
        switch short {
        case 127:
            let value = header[2..<10].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            guard value <= UInt64(Int.max) else { return (1009, "a frame longer than any message") }
            length = Int(value)
        case 126:
            length = Int(header[2]) << 8 | Int(header[3])
        default:
            length = short
        }
        // The key's first byte applies to the payload's first byte: loaded as it lies in memory.
        let key = keyBytes == 0 ? 0 : header[(needed - 4)...].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
        header.removeAll(keepingCapacity: true)
        let opcode = first & 0x0F
        let fin = first & 0x80 != 0
        if first & 0x70 != 0 { return (1002, "a frame with RSV bits set, but no extension was agreed") }
        if masked, keyBytes == 0 { return (1002, "an unmasked frame from a client") }
        if !masked, keyBytes != 0 { return (1002, "a masked frame from the server") }
        switch opcode {
        case 0x8, 0x9, 0xA:
            if !fin || length > 125 { return (1002, "a fragmented or long control frame") }
            control.removeAll(keepingCapacity: true)
        case 0x0:
            if messageBinary == nil { return (1002, "a continuation frame outside a message") }
        case 0x1, 0x2:
            if messageBinary != nil { return (1002, "a new message inside a fragmented one") }
            messageBinary = opcode == 0x2
            message = []
            message.reserveCapacity(min(length, limitBytes, Self.reserveLimitBytes))
        default:
            return (1002, "a frame with unknown opcode \(opcode)")
        }
        // `length` is the peer's (up to Int.max): compared so that nothing can overflow.
        if opcode < 0x8, length > limitBytes - message.count { return (1009, "a message larger than \(limitBytes) bytes") }
        frame = (opcode, fin, length, key)
        return nil
    }

    /// The current frame's payload is complete: the event it finishes, if any.
    private mutating func endFrame() -> Event? {
        guard let done = frame else { return nil }
        frame = nil
        switch done.opcode {
        case 0x8:
            let fields = control.withUnsafeBytes { Self.closeFields($0) }
            // RFC 6455 7.4: a code needs two bytes, and 1005, 1006, 1015 and those below 1000 are never sent.
            if control.count == 1 { return fail((1002, "a close frame with a one-byte payload")) }
            if let code = fields.code, !Self.isSendableCloseCode(code) { return fail((1002, "close code \(code) may not be sent")) }
            return .close(code: fields.code, reason: fields.reason)
        case 0x9:
            return .ping(control)
        case 0xA:
            return .pong
        default:
            guard done.fin, let binary = messageBinary else { return nil }
            let whole = message
            message = []
            messageBinary = nil
            if !binary, String(validating: whole, as: UTF8.self) == nil { return fail((1007, "a text message that is not UTF-8")) }
            return .message(whole, binary: binary)
        }
    }

    /// Appends `piece` to `bytes`, unmasked with `key` (as it applies to the piece's first byte):
    /// copied and unmasked in one pass, straight into the message's spare capacity.
    static func append(_ piece: UnsafeRawBufferPointer, to bytes: inout [UInt8], key: UInt32) {
        guard key != 0, let source = piece.baseAddress else {
            bytes.append(contentsOf: piece)
            return
        }
        let needed = bytes.count + piece.count
        // Room ahead, growing geometrically (a message is reserved for its first frame only).
        if bytes.capacity < needed { bytes.reserveCapacity(max(needed, bytes.capacity * 2)) }
        bytes.append(addingCapacity: piece.count) { span in
            span.withUnsafeMutableBufferPointer { buffer, initialized in
                guard let base = buffer.baseAddress else { return }
                WebSocketMask.apply(from: source, to: UnsafeMutableRawPointer(base + initialized), count: piece.count, key: key)
                initialized += piece.count
            }
        }
    }

    /// `key` as it applies `count` bytes further on (in memory order: a turn by whole bytes).
    static func rotate(_ key: UInt32, by count: Int) -> UInt32 {
        let bits = UInt32(count & 3) * 8
        return bits == 0 ? key : key >> bits | key << (32 - bits)
    }

    /// Whether a peer may send `code` in a close frame: the registered codes an endpoint may send,
    /// and the ranges for libraries and applications (RFC 6455 7.4).
    public static func isSendableCloseCode(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: true
        default: false
        }
    }

    /// The code (nil when there is none) and reason in a close frame's payload.
    public static func closeFields(_ payload: UnsafeRawBufferPointer) -> (code: UInt16?, reason: String) {
        guard payload.count >= 2 else { return (nil, "") }
        return (UInt16(payload[0]) << 8 | UInt16(payload[1]), String(decoding: payload[2...], as: UTF8.self))
    }

    private mutating func fail(_ failure: (UInt16, String)) -> Event {
        failed = true
        message = []
        return .failure(code: failure.0, reason: failure.1)
    }
}
