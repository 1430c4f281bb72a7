/// Reads the frames a WebSocket server sends (RFC 6455, section 5) out of the decrypted byte
/// stream and hands over whole messages, pings, pongs and the close frame.
///
/// Why not lws's own parser: lws 4.1's client parser takes the stream one byte at a time, a
/// function call and a state check per byte (`lws_ws_client_rx_sm`); in the load generator that
/// was about 60% of its CPU and capped one receiving thread near 300 MB/s. Here a frame's header
/// is read byte by byte (at most 10 bytes) and its payload is copied in one piece.
///
/// Server frames are never masked and, with no extension negotiated, have no RSV bits; control
/// frames are at most 125 bytes and never fragmented; a message is at most `limitBytes`. Anything
/// else is a `.failure` with the close code to send, after which the reader reads nothing more.
///
/// Pure: the caller feeds it what the socket gave, in order. Owned by one connection on its lws thread.
struct WebSocketFrameReader {
    /// What one step of reading completed.
    enum Event: Equatable {
        case message([UInt8], binary: Bool)
        case ping([UInt8])
        case pong
        /// The server's close frame: its code (nil when it carried none) and reason.
        case close(code: UInt16?, reason: String)
        /// The stream broke the protocol: close with `code` (1002 protocol error, 1009 too large).
        case failure(code: UInt16, reason: String)
    }

    /// Largest message accepted.
    let limitBytes: Int
    /// Most reserved ahead for a message: a header announcing a huge frame must not make the client
    /// set memory aside before the bytes come.
    static let reserveLimitBytes = 1 << 20

    /// The current frame's header bytes, while incomplete (2 to 10 bytes: no mask from a server).
    private var header: [UInt8] = []
    /// The current frame, once its header is read.
    private var frame: (opcode: UInt8, fin: Bool, remaining: Int)?
    /// The data message being put together (its first frame's opcode says text or binary).
    private var message: [UInt8] = []
    private var messageBinary: Bool?
    /// A control frame's payload being read.
    private var control: [UInt8] = []
    private var failed = false

    init(limitBytes: Int) { self.limitBytes = limitBytes }

    /// Whether a `.failure` was returned (nothing more is read).
    var hasFailed: Bool { failed }

    /// Reads from `input` at `position` (moving it on) until one event completes; nil when `input`
    /// is used up first (the state carries over to the next call).
    mutating func next(_ input: UnsafeRawBufferPointer, at position: inout Int) -> Event? {
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
            if current.opcode >= 0x8 { control.append(contentsOf: piece) } else { message.append(contentsOf: piece) }
            position += take
            frame?.remaining -= take
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
        let needed = short == 127 ? 10 : short == 126 ? 4 : 2
        guard header.count == needed else { return nil }
        let length: Int
        switch short {
        case 127:
            let value = header[2...].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            guard value <= UInt64(Int.max) else { return (1009, "a frame longer than any message") }
            length = Int(value)
        case 126:
            length = Int(header[2]) << 8 | Int(header[3])
        default:
            length = short
        }
        header.removeAll(keepingCapacity: true)
        let opcode = first & 0x0F
        let fin = first & 0x80 != 0
        if first & 0x70 != 0 { return (1002, "a frame with RSV bits set, but no extension was agreed") }
        if second & 0x80 != 0 { return (1002, "a masked frame from the server") }
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
        if opcode < 0x8, message.count + length > limitBytes { return (1009, "a message larger than \(limitBytes) bytes") }
        frame = (opcode, fin, length)
        return nil
    }

    /// The current frame's payload is complete: the event it finishes, if any.
    private mutating func endFrame() -> Event? {
        guard let done = frame else { return nil }
        frame = nil
        switch done.opcode {
        case 0x8:
            let fields = control.withUnsafeBytes { Self.closeFields($0) }
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
            return .message(whole, binary: binary)
        }
    }

    /// The code (nil when there is none) and reason in a close frame's payload.
    static func closeFields(_ payload: UnsafeRawBufferPointer) -> (code: UInt16?, reason: String) {
        guard payload.count >= 2 else { return (nil, "") }
        return (UInt16(payload[0]) << 8 | UInt16(payload[1]), String(decoding: payload[2...], as: UTF8.self))
    }

    private mutating func fail(_ failure: (UInt16, String)) -> Event {
        failed = true
        message = []
        return .failure(code: failure.0, reason: failure.1)
    }
}
