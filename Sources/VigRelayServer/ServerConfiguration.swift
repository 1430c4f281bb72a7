import VigRelayCore

/// Everything `vigrelay serve` needs, with the documented defaults. Sendable: built once at start.
public struct ServerConfiguration: Sendable {
    /// Address to listen on.
    public var host = "127.0.0.1"
    public var port = 8443
    /// Root of sessions and the secret (`DATA`).
    public var dataDir = "./data"
    public var certPath = "certs/dev/server.crt"
    public var keyPath = "certs/dev/server.key"
    /// Base of `joinUrl`; default `https://HOST:PORT`.
    public var publicURL: String?
    /// Directory of the web app's files (`web/`), read once at start; nil: found next to the
    /// executable (`WebSiteLoader.locate`), or no pages are served if there is none.
    public var webDir: String?
    /// Seconds to wait for connections to close on shutdown before exiting anyway.
    public var shutdownGraceSeconds = 3
    public var limits = RelayLimits()
    /// When the relay pings a quiet WebSocket and when it hangs up on one that stays silent.
    public var keepalive = Keepalive.Policy(pingAfterSeconds: 30, hangUpAfterSeconds: 70)
    /// Bytes of recorded media that may wait for the disk before senders are paused: this much,
    /// plus `recordingQueueBytesPerRecording` for each running recording (see `recordingQueueBudget`).
    public var recordingQueueBytes = 32 << 20
    /// What each running recording adds to the writer queue's budget: about 3 s of a 2.5 Mbit/s
    /// camera. A fixed budget is a shorter disk hiccup the more families record: 32 MiB was 0.1 s of
    /// 1,000 recordings' media, and pausing their cameras for it stalls what the practitioners see.
    public var recordingQueueBytesPerRecording = 1 << 20
    /// Upper bound on one recording's media bytes (nil: none); exceeding it fails the recording.
    public var recordingQuotaBytes: Int64?
    /// The recording key (`--recording-key`): recordings are encrypted at rest under it; nil: they
    /// are written as received.
    public var recordingKeyring: RecordingKeyring?
    /// TEST ONLY, never for production: milliseconds the disk writer sleeps before each recording
    /// append, so end-to-end tests can check that a slow disk neither blocks the lws thread nor lets
    /// the writer queue grow past `recordingQueueBytes`. Set from the environment variable
    /// `VIGRELAY_TEST_WRITER_DELAY_MS` (read once at start by `vigrelay serve`; no command-line
    /// flag); 0, the default, means no delay.
    public var testWriterDelayMs = 0

    public init() {}

    /// Bytes of recorded media that may wait for the disk while `recordings` recordings run. Memory
    /// stays bounded by the recordings running, as it is by each live viewer's queue.
    public func recordingQueueBudget(recordings: Int) -> Int {
        recordingQueueBytes + recordingQueueBytesPerRecording * recordings
    }

    /// `publicURL`, or the URL of the listen address.
    public var effectivePublicURL: String {
        if let publicURL { return publicURL }
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "https://\(hostPart):\(port)"
    }
}
