/// The header of a server-to-client WebSocket frame (RFC 6455, section 5.2): unmasked, so it
/// depends only on the opcode, FIN and the payload's length.
///
/// The relay writes a frame as this header followed by the payload straight from the message
/// (`vr_batch_send`), instead of copying the whole payload behind lws's header room first.
///
/// Pure; usable from any thread.
public enum WebSocketFrameHeader {
    /// The longest header: 2 bytes, then a 64-bit length.
    public static let maxBytes = 10

    /// Writes the header at `into` (room for `maxBytes`) and returns its length: 2, 4 or 10 bytes.
    public static func write(into: UnsafeMutableRawPointer, opcode: UInt8, fin: Bool, payloadCount count: Int) -> Int {
        into.storeBytes(of: (fin ? 0x80 : 0) | (opcode & 0x0F), as: UInt8.self)
        if count < 126 {
            into.storeBytes(of: UInt8(count), toByteOffset: 1, as: UInt8.self)
            return 2
        }
        if count <= 0xFFFF {
            into.storeBytes(of: 126, toByteOffset: 1, as: UInt8.self)
            into.storeBytes(of: UInt16(count).bigEndian, toByteOffset: 2, as: UInt16.self)
            return 4
        }
        into.storeBytes(of: 127, toByteOffset: 1, as: UInt8.self)
        into.storeBytes(of: UInt64(count).bigEndian, toByteOffset: 2, as: UInt64.self)
        return 10
    }
}
