/// What the load cost the relay's process, from two `ServerSampler` readings. Pure value.
public struct ServerCost: Sendable, Equatable {
    /// The relay's process id when it was read through `/proc`; nil when read from its `GET /metrics`.
    public var pid: Int32?
    /// User + system CPU seconds used between the two readings.
    public var cpuSeconds: Double
    /// Seconds between the two readings.
    public var wallSeconds: Double
    /// `cpuSeconds / wallSeconds`: 1.0 is one core busy all the time.
    public var cpuShare: Double
    /// CPU seconds per 10^9 payload bytes the clients received through the relay; nil when none.
    public var cpuSecondsPerGB: Double?
    /// CPU seconds per session (pair that connected); nil when none.
    public var cpuSecondsPerSession: Double?
    public var rssStartBytes: Int
    public var rssEndBytes: Int
    /// The largest RSS seen while the run went on (sampled about once a second).
    public var rssPeakBytes: Int
    /// `(rssPeakBytes - rssStartBytes) / connections`, connections being two per pair that connected; nil when none.
    public var rssPerConnectionBytes: Int?
    /// The process could no longer be read at the end (it died): the figures stop at its last reading.
    public var processEnded: Bool
    /// `cpuShare` while every pair was streaming (or holding, with `--idle`): from the end of the ramp
    /// to the end of the streams, without session setup and closing; nil when not read at both ends.
    public var steadyCPUShare: Double?
    /// Seconds of that window.
    public var steadyWallSeconds: Double?
    /// The relay's service thread's CPU seconds over the wall seconds, over the run and while every
    /// pair streamed: how much of the one core that thread can use it used (1.0 is full); nil when
    /// it could not be read (another relay, or a vigrelay without the figure).
    public var serviceThreadShare: Double?
    public var steadyServiceThreadShare: Double?

    /// The cost between `start` and `end`; `steady` is the pair of readings taken at the end of the
    /// ramp and at the end of the streams, when both were taken.
    init(pid: Int32?, start: ServerSampler.Sample, end: ServerSampler.Sample, peakRSSBytes: Int, payloadBytesRelayed: Int,
         sessions: Int, connections: Int, processEnded: Bool = false,
         steady: (from: ServerSampler.Sample, to: ServerSampler.Sample)? = nil) {
        self.pid = pid
        self.processEnded = processEnded
        if let steady, steady.to.atNanoseconds > steady.from.atNanoseconds {
            let seconds = Double(steady.to.atNanoseconds - steady.from.atNanoseconds) / 1e9
            steadyWallSeconds = seconds
            steadyCPUShare = max(0, steady.to.cpuSeconds - steady.from.cpuSeconds) / seconds
            steadyServiceThreadShare = Self.share(from: steady.from, to: steady.to, seconds: seconds)
        }
        cpuSeconds = max(0, end.cpuSeconds - start.cpuSeconds)
        wallSeconds = Double(end.atNanoseconds &- start.atNanoseconds) / 1e9
        cpuShare = wallSeconds > 0 ? cpuSeconds / wallSeconds : 0
        serviceThreadShare = wallSeconds > 0 ? Self.share(from: start, to: end, seconds: wallSeconds) : nil
        cpuSecondsPerGB = payloadBytesRelayed > 0 ? cpuSeconds / (Double(payloadBytesRelayed) / 1e9) : nil
        cpuSecondsPerSession = sessions > 0 ? cpuSeconds / Double(sessions) : nil
        rssStartBytes = start.rssBytes
        rssEndBytes = end.rssBytes
        rssPeakBytes = max(peakRSSBytes, start.rssBytes, end.rssBytes)
        rssPerConnectionBytes = connections > 0 ? max(0, rssPeakBytes - rssStartBytes) / connections : nil
    }

    /// The service thread's CPU seconds between two readings over `seconds`, when both have it.
    private static func share(from: ServerSampler.Sample, to: ServerSampler.Sample, seconds: Double) -> Double? {
        guard let first = from.serviceThreadCPUSeconds, let last = to.serviceThreadCPUSeconds else { return nil }
        return max(0, last - first) / seconds
    }
}
