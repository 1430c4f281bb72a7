/// Rebuilds whole WebSocket messages from the pieces lws hands over (one per RECEIVE callback), for
/// the relay and the client alike.
///
/// Each message gets a buffer of its own, reserved on its first piece for the whole WebSocket frame
/// lws announced (`frameRemaining`), and handed over whole: nothing is copied on hand-over and no
/// capacity is carried from one message to the next. (Handing over a shared buffer and clearing it
/// with `keepingCapacity` made every message allocate a fresh buffer a page larger than the last:
/// an `mmap` per frame, page faults to fill it, and a burst of `munmap`s when the relay's
/// late-joiner cache let go of a second of frames at each keyframe.)
///
/// Pure: the lws thread feeds it what `lws_is_first_fragment` / `lws_is_final_fragment` /
/// `lws_frame_is_binary` / `lws_remaining_packet_payload` said about each piece. Owned by one
/// connection on its lws thread.
public struct MessageAssembler {
    /// Largest message accepted; a bigger one is reported as `tooLarge`.
    public let limitBytes: Int
    /// Most reserved ahead of the bytes: a peer announcing a huge frame and sending nothing must not
    /// make the relay set aside memory for it; past this the buffer grows as bytes arrive.
    public static let reserveLimitBytes = 1 << 20
    private var buffer: [UInt8] = []
    private var isBinary = false

    /// What one piece completed.
    public enum Outcome: Equatable {
        /// More pieces are needed.
        case partial
        /// A whole message.
        case message([UInt8], binary: Bool)
        /// The message grew past the limit; the bytes were dropped.
        case tooLarge
    }

    public init(limitBytes: Int) { self.limitBytes = limitBytes }

    /// Adds one piece. `frameRemaining` is how many bytes of the piece's WebSocket frame are still
    /// to come after it (lws_remaining_packet_payload); on a message's first piece it sizes the buffer.
    public mutating func append(_ piece: UnsafeRawBufferPointer, first: Bool, final: Bool, binary: Bool,
                                frameRemaining: Int = 0) -> Outcome {
        if first {
            buffer = []
            buffer.reserveCapacity(min(limitBytes, Self.reserveLimitBytes, piece.count + max(0, frameRemaining)))
            isBinary = binary
        }
        guard buffer.count + piece.count <= limitBytes else {
            buffer = []
            return .tooLarge
        }
        buffer.append(contentsOf: piece)
        guard final else { return .partial }
        let message = buffer
        buffer = []
        return .message(message, binary: isBinary)
    }
}
