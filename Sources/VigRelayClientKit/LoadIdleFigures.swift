/// What `load --idle` measured besides the relay's memory: how long creating every session took,
/// and how long from starting the connections until every one of them had its `welcome`. Pure value.
public struct LoadIdleFigures: Sendable, Equatable {
    /// Sessions created before any connection started.
    public var sessionsCreated: Int
    /// Creating them, seconds: from the first `POST /v1/sessions` to the last answer.
    public var createSeconds: Double
    /// Connections that got their `welcome`.
    public var connectionsWelcomed: Int
    /// Connections asked for: two per pair.
    public var connectionsRequested: Int
    /// From starting the connections to the last `welcome`; nil unless every connection got one.
    public var allWelcomedSeconds: Double?
    /// The relay's RSS before the sessions were created, bytes; nil when not sampled.
    public var rssBeforeSessionsBytes: Int?

    public init(sessionsCreated: Int, createSeconds: Double, connectionsWelcomed: Int, connectionsRequested: Int,
                allWelcomedSeconds: Double?, rssBeforeSessionsBytes: Int?) {
        self.sessionsCreated = sessionsCreated
        self.createSeconds = createSeconds
        self.connectionsWelcomed = connectionsWelcomed
        self.connectionsRequested = connectionsRequested
        self.allWelcomedSeconds = allWelcomedSeconds
        self.rssBeforeSessionsBytes = rssBeforeSessionsBytes
    }

    /// The figures of a run whose connections started at `connectStart` (monotonic ns): every
    /// welcome is in `figures.welcome`, the last one at `figures.lastWelcomeNanoseconds`.
    init(sessionsCreated: Int, createSeconds: Double, pairs: Int, connectStart: UInt64, figures: LoadFigures, rssBeforeSessionsBytes: Int?) {
        let welcomed = Int(figures.welcome.totalCount)
        let all = welcomed == 2 * pairs && pairs > 0 && figures.lastWelcomeNanoseconds >= connectStart
        self.init(sessionsCreated: sessionsCreated, createSeconds: createSeconds, connectionsWelcomed: welcomed,
                  connectionsRequested: 2 * pairs,
                  allWelcomedSeconds: all ? Double(figures.lastWelcomeNanoseconds - connectStart) / 1e9 : nil,
                  rssBeforeSessionsBytes: rssBeforeSessionsBytes)
    }
}
