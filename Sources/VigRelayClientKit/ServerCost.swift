/// What the load cost the relay's process, from two `ServerSampler` readings. Pure value.
public struct ServerCost: Sendable, Equatable {
    public var pid: Int32
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

    init(pid: Int32, start: ServerSampler.Sample, end: ServerSampler.Sample, peakRSSBytes: Int, payloadBytesRelayed: Int,
         sessions: Int, connections: Int, processEnded: Bool = false) {
        self.pid = pid
        self.processEnded = processEnded
        cpuSeconds = max(0, end.cpuSeconds - start.cpuSeconds)
        wallSeconds = Double(end.atNanoseconds &- start.atNanoseconds) / 1e9
        cpuShare = wallSeconds > 0 ? cpuSeconds / wallSeconds : 0
        cpuSecondsPerGB = payloadBytesRelayed > 0 ? cpuSeconds / (Double(payloadBytesRelayed) / 1e9) : nil
        cpuSecondsPerSession = sessions > 0 ? cpuSeconds / Double(sessions) : nil
        rssStartBytes = start.rssBytes
        rssEndBytes = end.rssBytes
        rssPeakBytes = max(peakRSSBytes, start.rssBytes, end.rssBytes)
        rssPerConnectionBytes = connections > 0 ? max(0, rssPeakBytes - rssStartBytes) / connections : nil
    }
}
