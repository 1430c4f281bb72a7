/// What a viewer who joins late needs to start decoding a stream at once: the stream's last init
/// segment and the frames since its last keyframe.
///
/// Bounded in bytes: past the cap the oldest frames go (a stream without keyframe flags keeps its
/// init segment and its most recent frames). Owned by the lws thread, inside `RelayCore`.
public struct StreamCache: Sendable {
    /// Upper bound on the bytes of cached frames (the init segment is kept regardless).
    public let capacityBytes: Int
    public private(set) var initSegment: [UInt8]?
    public private(set) var frames: [[UInt8]] = []
    public private(set) var frameBytes = 0

    public init(capacityBytes: Int) { self.capacityBytes = capacityBytes }

    /// Takes note of one relayed media message (header included).
    public mutating func record(_ message: [UInt8], flags: MediaFrameFlags) {
        if flags.contains(.endOfStream) {
            initSegment = nil
            removeFrames()
        } else if flags.contains(.initSegment) {
            initSegment = message
            removeFrames()
        } else if flags.contains(.keyframe) {
            removeFrames()
            append(message)
        } else {
            append(message)
        }
    }

    /// The messages to send a new viewer, in order: init segment first, then frames.
    public var replay: [[UInt8]] { (initSegment.map { [$0] } ?? []) + frames }

    private mutating func append(_ message: [UInt8]) {
        frames.append(message)
        frameBytes += message.count
        var drop = 0
        var bytes = frameBytes
        while bytes > capacityBytes, drop < frames.count {
            bytes -= frames[drop].count
            drop += 1
        }
        if drop > 0 {
            frames.removeFirst(drop)
            frameBytes = bytes
        }
    }

    private mutating func removeFrames() {
        frames.removeAll(keepingCapacity: true)
        frameBytes = 0
    }
}
