import VigRelayCore

/// Sizes of synthetic frames: a keyframe every `framesPerKeyframe` frames, smaller frames between.
/// Pure; the sender and the verifier share it, so the verifier knows each frame's size.
struct FrameSizing: Sendable, Equatable {
    /// Payload bytes of a keyframe.
    var keyframeSize: Int
    /// Payload bytes of the frames between keyframes.
    var deltaSize: Int
    /// A keyframe every this many frames (1: every frame).
    var framesPerKeyframe: Int

    /// Whether frame `sequence` is a keyframe.
    func isKeyframe(_ sequence: UInt64) -> Bool { sequence % UInt64(max(1, framesPerKeyframe)) == 0 }

    /// The header flags of frame `sequence`: keyframe as above, and the first is the init segment.
    func flags(of sequence: UInt64) -> MediaFrameFlags {
        var flags: MediaFrameFlags = isKeyframe(sequence) ? .keyframe : []
        if sequence == 0 { flags.insert(.initSegment) }
        return flags
    }

    /// Payload size of frame `sequence`.
    func size(of sequence: UInt64) -> Int { isKeyframe(sequence) ? keyframeSize : deltaSize }

    /// Every frame the same size, a keyframe flag every `framesPerKeyframe` frames (used by `pair`).
    static func uniform(_ size: Int, framesPerKeyframe: Int) -> FrameSizing {
        FrameSizing(keyframeSize: size, deltaSize: size, framesPerKeyframe: framesPerKeyframe)
    }

    /// A camera-like stream: a keyframe every `round(fps)` frames (about one a second) three times the
    /// size of the frames between, the sizes adding up to the bitrate at `framesPerSecond` (also when
    /// it is not a whole number). With no bitrate (0): 64 KiB keyframes, 16 KiB frames.
    static func cameraLike(bitsPerSecond: Double, framesPerSecond: Double) -> FrameSizing {
        let perKeyframe = max(1, Int(framesPerSecond.rounded()))
        guard bitsPerSecond > 0 else { return FrameSizing(keyframeSize: 64 << 10, deltaSize: 16 << 10, framesPerKeyframe: perKeyframe) }
        let bytesPerSecond = bitsPerSecond / 8
        let minimum = CheckablePayload.prefixSize
        if perKeyframe == 1 {
            let size = max(minimum, Int(bytesPerSecond / framesPerSecond))
            return .uniform(size, framesPerKeyframe: 1)
        }
        // One keyframe cycle lasts perKeyframe / fps seconds and holds perKeyframe + 2 deltas' bytes.
        let cycleBytes = bytesPerSecond * Double(perKeyframe) / framesPerSecond
        let delta = max(minimum, Int(cycleBytes / Double(perKeyframe + 2)))
        return FrameSizing(keyframeSize: 3 * delta, deltaSize: delta, framesPerKeyframe: perKeyframe)
    }
}
