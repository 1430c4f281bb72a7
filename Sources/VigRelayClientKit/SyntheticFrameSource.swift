import VigRelayCore

/// Synthetic frames with checkable payloads (`CheckablePayload`), sized by a `FrameSizing`.
/// The first frame is flagged init segment and keyframe, later keyframes keyframe.
/// Thread: the sender's thread.
struct SyntheticFrameSource: FrameSource {
    let sizing: FrameSizing
    /// Frames to produce, or nil for no limit (the sender's duration ends it).
    let count: Int?
    private var sequence: UInt64 = 0

    init(sizing: FrameSizing, count: Int?) {
        self.sizing = sizing
        self.count = count
    }

    mutating func next() throws(ClientError) -> SourceFrame? {
        if let count, sequence >= UInt64(count) { return nil }
        defer { sequence += 1 }
        return SourceFrame(payload: CheckablePayload.make(sequence: sequence, size: sizing.size(of: sequence)), flags: sizing.flags(of: sequence))
    }

    func finish(_ message: inout [UInt8]) {
        CheckablePayload.stamp(&message, payloadOffset: MediaFrameHeader.size, nanoseconds: MonotonicClock.nanoseconds())
    }
}
