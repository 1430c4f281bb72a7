/// What one side sends and how fast: a file, stdin, or synthetic frames.
public struct SendPlan: Sendable, Equatable {
    /// Where the bytes come from.
    public enum Input: Sendable, Equatable {
        case file(String)
        case stdin
        /// Checkable synthetic frames: a keyframe every second, smaller frames between.
        case synthetic
    }

    public var input: Input
    /// Bits per second; 0 sends as fast as the connection takes it.
    public var bitsPerSecond: Double
    /// Frame rate of synthetic frames.
    public var framesPerSecond: Double
    /// Bytes per frame when cutting a file or stdin.
    public var chunkSize: Int
    /// Stop after this long (nil: at the end of the input).
    public var durationSeconds: Double?

    public init(input: Input, bitsPerSecond: Double, framesPerSecond: Double, chunkSize: Int, durationSeconds: Double?) {
        self.input = input
        self.bitsPerSecond = bitsPerSecond
        self.framesPerSecond = framesPerSecond
        self.chunkSize = chunkSize
        self.durationSeconds = durationSeconds
    }

    /// The source and its pacing. Files are paced by bytes, synthetic frames by frame rate.
    func makeSource() throws(ClientError) -> (source: any FrameSource, pacing: Pacing) {
        switch input {
        case .file(let path):
            return (try ChunkedFileSource(path: path, chunkSize: chunkSize), .bytes(ofBitrate: bitsPerSecond))
        case .stdin:
            return (try ChunkedFileSource(path: nil, chunkSize: chunkSize), .bytes(ofBitrate: bitsPerSecond))
        case .synthetic:
            let sizing = FrameSizing.cameraLike(bitsPerSecond: bitsPerSecond, framesPerSecond: framesPerSecond)
            return (SyntheticFrameSource(sizing: sizing, count: nil), bitsPerSecond > 0 ? .frameRate(framesPerSecond) : .unpaced)
        }
    }
}
