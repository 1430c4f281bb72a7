import VigRelayCore

/// The media of one load pair: the family's camera and, if asked, the practitioner's screen, and what
/// every kind of pair (`LoadPair`, `MirrorPair`) does with them: start and stop streaming, pump
/// frames out, notice stalls, find the stream a side receives.
///
/// Thread: the owning worker's driver thread, except `received(_:at:)`, which only reads the
/// immutable stream references and is called from lws threads.
final class LoadPairStreams: @unchecked Sendable {
    let camera: LoadStream
    let screen: LoadStream?
    private let stats: LoadStats
    /// How long after `begin` the first paced frame goes (`LoadPlan.streamPhaseNanoseconds`).
    private let phaseNanoseconds: UInt64
    /// Whether this pair is counted in the run's "streaming" figure (driver thread only).
    private var counted = false

    init(plan: LoadPlan, pair index: Int, stats: LoadStats) {
        self.stats = stats
        phaseNanoseconds = plan.streamPhaseNanoseconds(pair: index)
        camera = LoadStream(kind: .camera, sizing: plan.cameraSizing, intervalNanoseconds: plan.cameraIntervalNanoseconds,
                            windowBytes: plan.windowBytes, stats: stats, slowViewer: plan.slowDownload(pair: index, of: .camera) != nil)
        screen = plan.screenSizing.map {
            LoadStream(kind: .screen, sizing: $0, intervalNanoseconds: UInt64(1e9 / plan.framesPerSecond), windowBytes: plan.windowBytes, stats: stats,
                       slowViewer: plan.slowDownload(pair: index, of: .screen) != nil)
        }
    }

    /// Starts both streams, their first frames a phase after `now`, to end at `end` (monotonic ns).
    func begin(now: UInt64, end: UInt64) {
        camera.begin(now: now + phaseNanoseconds, end: end)
        screen?.begin(now: now + phaseNanoseconds, end: end)
        stats.streaming(1)
        counted = true
    }

    /// Counts an idle pair (`--idle`: joined, sending nothing) in the "streaming" figure, which the
    /// progress line then shows as pairs connected; `stop` takes it out again.
    func hold() {
        if !counted { stats.streaming(1) }
        counted = true
    }

    /// Takes the pair out of the "streaming" figure (idempotent).
    func stop() {
        if counted { stats.streaming(-1) }
        counted = false
    }

    /// Ctrl-C: both streams end now (with their end-of-stream frames).
    func finishNow(_ now: UInt64) {
        camera.finishNow(now)
        screen?.finishNow(now)
    }

    /// Sends what is due: the camera from the family, the screen from the practitioner. Returns when
    /// to pump again (at least once a second, to notice stalls), or nil once both streams have sent
    /// everything.
    func pump(now: UInt64, send: (_ from: Role, _ message: [UInt8], _ overLimit: Bool, _ notBefore: UInt64) -> TransmitQueue.PushOutcome) -> UInt64? {
        var wake = now + 1_000_000_000
        var sending = false
        for (stream, role) in [(camera, Role.family)] + (screen.map { [($0, Role.practitioner)] } ?? []) {
            switch stream.pump(now: now, send: { send(role, $0, $1, $2) }) {
            case .at(let time):
                wake = min(wake, time)
                sending = true
            case .ended:
                break
            case .closed:
                sending = true  // the connection's end arrives as an event and fails the pair
            }
        }
        return sending ? wake : nil
    }

    /// Why a stream stalled (nothing arrived for `limitSeconds`), if one did.
    func stall(now: UInt64, limitSeconds: Double) -> String? {
        let limit = UInt64(limitSeconds * 1e9)
        return camera.stall(now: now, limit: limit) ?? screen?.stall(now: now, limit: limit)
    }

    /// Whether every frame sent arrived, end of stream included.
    var ended: Bool { camera.ended && (screen?.ended ?? true) }

    /// The stream `role` receives: the camera at the practitioner, the screen at the family.
    func received(_ kind: MediaStream, at role: Role) -> LoadStream? {
        switch (kind, role) {
        case (.camera, .practitioner): return camera
        case (.screen, .family): return screen
        default: return nil
        }
    }
}
