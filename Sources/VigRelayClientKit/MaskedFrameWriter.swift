import VigRelayCore

/// Writes one client-to-server WebSocket frame (RFC 6455, section 5.2): the header, then the payload
/// masked with a 4-byte key, in one pass over the payload.
///
/// Why not lws's own framing: lws 4.1 masks a client's payload one byte at a time, reloading its
/// state for each byte; with hundreds of load-test pairs that loop was a third of the load
/// generator's CPU (perf, 400 pairs at 2.5 Mbit/s). Here the payload is masked 64 bytes at a time
/// while it is copied into the send buffer, and the frame goes to lws as raw bytes
/// (`WebSocketClientConnection.writeable`). Control frames (ping, pong, close) are written the same way.
///
/// Pure; usable from any thread.
enum MaskedFrameWriter {
    /// Frame opcodes.
    enum Opcode: UInt8 {
        case continuation = 0x0
        case text = 0x1
        case binary = 0x2
        case close = 0x8
        case ping = 0x9
        case pong = 0xA
    }

    /// Header bytes for a payload of `count` bytes: 2, the length in 0, 2 or 8 more, the 4-byte key
    /// (at most 14, which fits in `LWS_PRE`: see the shim).
    static func headerBytes(payloadCount count: Int) -> Int {
        count < 126 ? 6 : count <= 0xFFFF ? 8 : 14
    }

    /// Writes the header for `payload` at `into`, then the payload masked with `key`; returns the
    /// frame's length. `into` must have room for `headerBytes(payloadCount:) + payload.count`
    /// bytes and must not overlap `payload`. With `stamp`, the frame carries `nanoseconds`
    /// (big-endian) at `offset` of the payload in place of the payload's own 8 bytes there (the
    /// load test's write time, `LoadStream`); a stamp that does not fit in the payload is left out.
    static func write(into: UnsafeMutableRawPointer, payload: UnsafeRawBufferPointer, opcode: Opcode, fin: Bool,
                      key: UInt32, stamp: (offset: Int, nanoseconds: UInt64)? = nil) -> Int {
        let count = payload.count
        let out = into.assumingMemoryBound(to: UInt8.self)
        out[0] = (fin ? 0x80 : 0) | opcode.rawValue
        var at: Int
        if count < 126 {
            out[1] = 0x80 | UInt8(count)
            at = 2
        } else if count <= 0xFFFF {
            out[1] = 0x80 | 126
            into.storeBytes(of: UInt16(count).bigEndian, toByteOffset: 2, as: UInt16.self)
            at = 4
        } else {
            out[1] = 0x80 | 127
            into.storeBytes(of: UInt64(count).bigEndian, toByteOffset: 2, as: UInt64.self)
            at = 10
        }
        // The key goes on the wire in the order its bytes are applied: byte i of the payload is
        // XORed with key byte i % 4.
        into.storeBytes(of: key.bigEndian, toByteOffset: at, as: UInt32.self)
        at += 4
        mask(from: payload, to: into + at, key: key)
        if let stamp, stamp.offset >= 0, stamp.offset + 8 <= count {
            // Masked like the payload bytes it replaces: the key (in memory order) turned to the offset.
            let memoryKey = key.bigEndian, turn = UInt32(stamp.offset & 3) * 8
            withUnsafeBytes(of: stamp.nanoseconds.bigEndian) { bytes in
                WebSocketMask.apply(from: bytes.baseAddress!, to: into + at + stamp.offset, count: 8,
                                    key: turn == 0 ? memoryKey : memoryKey >> turn | memoryKey << (32 - turn))
            }
        }
        return at + count
    }

    /// Copies `payload` to `to`, XORing byte i with byte i % 4 of `key` (big-endian: the first
    /// key byte on the wire is its most significant byte, so in memory order it is `key.bigEndian`).
    private static func mask(from payload: UnsafeRawBufferPointer, to: UnsafeMutableRawPointer, key: UInt32) {
        guard let source = payload.baseAddress else { return }
        WebSocketMask.apply(from: source, to: to, count: payload.count, key: key.bigEndian)
    }
}
