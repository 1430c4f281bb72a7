import VigRelayCore

/// One frame's payload and flags, before the header is put in front.
struct SourceFrame {
    var payload: [UInt8]
    var flags: MediaFrameFlags
}

/// Where a `MediaSender` gets its frames: synthetic, a file, stdin.
///
/// Thread: owned by the sender's thread (blocking reads are fine there).
protocol FrameSource {
    /// The next frame, or nil at the end.
    mutating func next() throws(ClientError) -> SourceFrame?
    /// Last changes just before the whole message (header included) is queued, e.g. the send time.
    func finish(_ message: inout [UInt8])
}

extension FrameSource {
    func finish(_ message: inout [UInt8]) {}
}

/// When frames are due, measured from the start of sending.
enum Pacing: Sendable, Equatable {
    /// As fast as the connection takes them.
    case unpaced
    /// Frame n is due at n / rate seconds.
    case frameRate(Double)
    /// A frame is due when the bytes before it would have taken that long at this many bytes per second.
    case byteRate(Double)

    /// Nanoseconds after the start at which frame `index` is due, given the payload bytes before it.
    func dueNanoseconds(index: Int, bytesBefore: Int) -> UInt64 {
        switch self {
        case .unpaced: return 0
        case .frameRate(let rate): return UInt64(Double(index) / rate * 1e9)
        case .byteRate(let rate): return UInt64(Double(bytesBefore) / rate * 1e9)
        }
    }

    /// Pacing for a bitrate in bits per second: 0 means unpaced.
    static func bytes(ofBitrate bits: Double) -> Pacing { bits > 0 ? .byteRate(bits / 8) : .unpaced }
}
