import Foundation

/// The payload of a synthetic frame whose every byte can be checked from its sequence number.
///
/// Layout: `u64 sequence | u64 send time (CLOCK_MONOTONIC ns) | filler`, big-endian, where filler
/// byte i is `(sequence + i) % 251` (a prime period, so shifted or swapped frames do not match).
/// Pure; the filler is copied from a precomputed table so it stays cheap in debug builds.
enum CheckablePayload {
    /// Bytes before the filler.
    static let prefixSize = 16
    private static let period = 251
    private static let span = 64 << 10
    /// `period + span` bytes of the repeating pattern, so any phase has `span` bytes after it.
    private static let table: [UInt8] = (0..<(period + span)).map { UInt8($0 % period) }

    /// A payload of `size` bytes (at least `prefixSize`) for this sequence, with send time 0.
    static func make(sequence: UInt64, size: Int) -> [UInt8] {
        precondition(size >= prefixSize, "a checkable payload needs at least \(prefixSize) bytes")
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            fill(UnsafeMutableRawBufferPointer(buffer), sequence: sequence, sentNanoseconds: 0)
            count = size
        }
    }

    /// A whole message in one allocation: `header`, then a payload of `size` bytes for this sequence
    /// stamped with `sentNanoseconds`.
    static func message(header: [UInt8], sequence: UInt64, size: Int, sentNanoseconds: UInt64) -> [UInt8] {
        precondition(size >= prefixSize, "a checkable payload needs at least \(prefixSize) bytes")
        return [UInt8](unsafeUninitializedCapacity: header.count + size) { buffer, count in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            header.withUnsafeBytes { raw.copyMemory(from: $0) }
            fill(UnsafeMutableRawBufferPointer(rebasing: raw[header.count...]), sequence: sequence, sentNanoseconds: sentNanoseconds)
            count = header.count + size
        }
    }

    /// Writes the prefix and the filler for `sequence` over the whole of `raw`.
    private static func fill(_ raw: UnsafeMutableRawBufferPointer, sequence: UInt64, sentNanoseconds: UInt64) {
        store(sequence, at: 0, in: raw)
        store(sentNanoseconds, at: 8, in: raw)
        var phase = Int(sequence % UInt64(period))
        var offset = prefixSize
        table.withUnsafeBytes { pattern in
            while offset < raw.count {
                let n = min(span, raw.count - offset)
                (raw.baseAddress! + offset).copyMemory(from: pattern.baseAddress! + phase, byteCount: n)
                offset += n
                phase = (phase + n) % period
            }
        }
    }

    /// Writes the send time into a payload that starts at `offset` of `message`.
    static func stamp(_ message: inout [UInt8], payloadOffset offset: Int, nanoseconds: UInt64) {
        message.withUnsafeMutableBytes { store(nanoseconds, at: offset + 8, in: $0) }
    }

    /// What a received payload says about itself.
    struct Reading: Equatable {
        var sequence: UInt64
        var sentNanoseconds: UInt64
        /// The filler matches the sequence.
        var intact: Bool
    }

    /// Reads and checks a payload; nil when it is shorter than the prefix.
    static func read(_ payload: UnsafeRawBufferPointer) -> Reading? {
        guard payload.count >= prefixSize else { return nil }
        let sequence = load(payload, at: 0)
        let sent = load(payload, at: 8)
        var phase = Int(sequence % UInt64(period))
        var offset = prefixSize
        var intact = true
        table.withUnsafeBytes { pattern in
            while offset < payload.count, intact {
                let n = min(span, payload.count - offset)
                intact = memcmp(payload.baseAddress! + offset, pattern.baseAddress! + phase, n) == 0
                offset += n
                phase = (phase + n) % period
            }
        }
        return Reading(sequence: sequence, sentNanoseconds: sent, intact: intact)
    }

    private static func store(_ value: UInt64, at offset: Int, in raw: UnsafeMutableRawBufferPointer) {
        for i in 0..<8 { raw[offset + i] = UInt8(truncatingIfNeeded: value >> UInt64(56 - 8 * i)) }
    }

    private static func load(_ raw: UnsafeRawBufferPointer, at offset: Int) -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<8 { value = value << 8 | UInt64(raw[offset + i]) }
        return value
    }
}
