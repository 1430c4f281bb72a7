/// The relay's tunable limits, with the defaults the contract documents.
public struct RelayLimits: Sendable, Equatable {
    /// Largest WebSocket message accepted; larger gets `too_large` and close 1009.
    public var maxMessageBytes: Int = 16 << 20
    /// Seconds a new connection has to send `hello`.
    public var helloTimeoutSeconds: Int = 5
    /// Bytes of frames kept per stream for late joiners (beside the init segment).
    public var streamCacheBytes: Int = 8 << 20
    /// Seconds a stream's cache is kept after its sender left (a reconnecting sender resets it anyway).
    public var staleCacheSeconds: Int = 120
    /// Bytes of media a viewer's send queue always may hold before frames are skipped to the next
    /// start point (`--viewer-queue-bytes`): 8 MiB is about 27 s of a 2.5 Mbit/s camera.
    public var viewerQueueBytes: Int = 8 << 20
    /// Seconds of its stream's recent media a viewer's send queue may hold when that is more than
    /// `viewerQueueBytes` (`--viewer-queue-time`): a fast stream, such as a sharp screen share,
    /// is given a few seconds too.
    public var viewerQueueSeconds: Int = 4
    /// The most a viewer's send queue may hold for a fast stream, whatever its rate, so memory stays
    /// bounded: four times `viewerQueueBytes` (32 MiB by default: 4 s of a 64 Mbit/s stream).
    public var viewerQueueCeilingBytes: Int { 4 * viewerQueueBytes }
    /// Connections one address (an IPv4 address or an IPv6 /64) may hold open at once
    /// (`--max-connections-per-address`; 0: no limit). An office of practitioners behind one NAT uses
    /// a few each (a WebSocket and the browser's HTTP connections); a load test from one machine
    /// needs more, and its server must be started with a higher limit or 0.
    public var maxConnectionsPerAddress: Int = 1000
    /// Largest `POST` body accepted by the HTTP API.
    public var maxRequestBodyBytes: Int = 64 << 10
    /// Seconds a request body may take to arrive in full, from the request's head
    /// (`--request-body-timeout`). lws's own timeout only bounds the gap between two of its pieces,
    /// so a body sent a byte at a time would otherwise hold its connection for hours.
    public var requestBodySeconds: Int = 30
    /// Seconds a running recording waits for a side that left (the family's camera, or the
    /// practitioner) before it stops as if the practitioner had stopped it (`--reconnect-grace`).
    public var reconnectGraceSeconds: Int = 120
    /// Lifetime of a family invite.
    public var inviteTTLSeconds: Int = 7 * 86400
    /// Seconds a case's recordings are kept after its last session (`--retention`; nil: until
    /// deleted): 60 days, the "about two months after the end of the work" of typical VIG consent
    /// forms. Both sides are told it in `welcome`, so the family knows before it agrees.
    public var retentionSeconds: Int? = 60 * 86400
    /// Space the data directory's file system must have left for a recording to start
    /// (`--min-free-space`): 2 GB by default (a 20-minute filming at 2.5 Mbit/s is about 375 MB).
    /// Recordings already running go on below it, so a filming under way is not cut short: what is
    /// kept back is for them, and for the sessions' records and logs.
    public var minFreeSpaceBytes: Int64 = 2_000_000_000
    /// Whether the practitioner may give the family a copy of a clip to keep (`--family-copies`; off
    /// by default). Many services delete every video at the end of the work and make no copies; some
    /// let the family keep their clips, under their consent form. The operator decides which.
    public var familyCopies = false

    public init() {}

    /// The bytes of media a viewer's send queue may hold, given the bytes its stream carried in
    /// the last `viewerQueueSeconds`: at least `viewerQueueBytes`, at most four times it.
    public func viewerQueueLimit(recentBytes: Int) -> Int {
        max(viewerQueueBytes, min(recentBytes, viewerQueueCeilingBytes))
    }
}
