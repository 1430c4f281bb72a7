/// Rebuilds whole WebSocket messages from the pieces lws hands over (one per RECEIVE callback).
///
/// Pure: the lws thread feeds it what `lws_is_first_fragment` / `lws_is_final_fragment` /
/// `lws_frame_is_binary` said about each piece. Owned by one connection on the lws thread.
struct MessageAssembler {
    /// Largest message accepted; a bigger one is reported as `tooLarge`.
    let limitBytes: Int
    private var buffer: [UInt8] = []
    private var isBinary = false

    /// What one piece completed.
    enum Outcome: Equatable {
        /// More pieces are needed.
        case partial
        /// A whole message.
        case message([UInt8], binary: Bool)
        /// The message grew past the limit; the bytes were dropped.
        case tooLarge
    }

    init(limitBytes: Int) { self.limitBytes = limitBytes }

    /// Adds one piece.
    mutating func append(_ piece: UnsafeRawBufferPointer, first: Bool, final: Bool, binary: Bool) -> Outcome {
        if first {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 4 << 20)
            isBinary = binary
        }
        guard buffer.count + piece.count <= limitBytes else {
            buffer = []
            return .tooLarge
        }
        buffer.append(contentsOf: piece)
        guard final else { return .partial }
        let message = buffer
        buffer.removeAll(keepingCapacity: true)
        return .message(message, binary: isBinary)
    }
}
