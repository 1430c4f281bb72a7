/// What became of one pair of `load`, for the report. Pure value.
struct LoadPairOutcome: Sendable, Equatable {
    enum State: String, Sendable {
        /// Streamed and ended cleanly (end of stream on every stream, recording stopped, bye).
        case completed
        /// Met an error (`failure`).
        case failed
        /// Ctrl-C came before the pair started streaming.
        case cancelled
    }

    /// The pair's number, from 0.
    var index: Int
    /// The session (vigrelay) or pair id (mirror); nil if it never got that far.
    var sessionID: String?
    var state: State
    /// The first error the pair met.
    var failure: LoadFailure?
    /// Both connections completed their WebSocket handshakes.
    var connected: Bool
    var camera: LoadStream.Figures
    var screen: LoadStream.Figures?
    /// The recording as the relay reported it when it stopped (with `--record`).
    var recording: RecordingSummary?
}
