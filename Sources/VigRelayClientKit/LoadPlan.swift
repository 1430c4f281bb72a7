import Foundation
import VigRelayCore

/// What `vigrelay-client load` does: how many pairs, what they stream, for how long, against what.
///
/// Pure value, made by the command from its options and read by `LoadRun` and every pair.
public struct LoadPlan: Sendable, Equatable {
    /// What the pairs connect to.
    public enum Target: Sendable, Equatable {
        /// A vigrelay: sessions created with this practitioner token, the vigrelay protocol.
        case relay(ServerEndpoint, token: String)
        /// Another relay that mirrors each pair's two sockets to each other (`MirrorTarget`).
        case mirror(MirrorTarget)

        /// Host and port the connections go to.
        public var endpoint: ServerEndpoint {
            switch self {
            case .relay(let endpoint, _): return endpoint
            case .mirror(let target): return target.endpoint
            }
        }
    }

    public var target: Target
    public var trust: ClientTrust
    /// Practitioner/family pairs (one session each).
    public var pairs: Int
    /// Camera bits per second per pair; 0 streams as fast as each pair's window allows.
    public var bitsPerSecond: Double
    /// Frames per second (a keyframe every second); with `frameSize` and a bitrate, the bitrate
    /// divided by the frame's bits.
    public var framesPerSecond: Double
    /// Every camera frame this many payload bytes (keyframe flag every second), instead of camera-like sizes.
    public var frameSize: Int?
    /// How long every pair streams together once the ramp is over.
    public var durationSeconds: Double
    /// Pairs start spread evenly over this long.
    public var rampSeconds: Double
    /// The practitioner records each session's camera from before the first frame to the end.
    public var record: Bool
    /// Screen bits per second practitioner -> family; 0: no screen stream.
    public var screenBitsPerSecond: Double
    /// Worker threads, each with its own lws client context.
    public var workers: Int
    /// The relay's process, for CPU and memory figures; nil: look for the process listening on the port.
    public var serverPID: Int32?
    /// `--metrics-token`: sample the relay's CPU and memory from its `GET /metrics` instead.
    public var serverMetricsToken: String?
    /// Idle connections (`--idle`): every session is created first, then both sides join and hold
    /// without media until ramp + duration has passed, then say bye. Measures how fast connections
    /// come up and what an idle one costs the relay.
    public var idle = false
    /// With `idle`: `POST /v1/sessions` requests in flight at once while the sessions are created.
    public var createsInFlight = 32
    /// At most this many pairs connecting (from opening their connections to both `welcome`s) at
    /// once, over all workers (`--connect-window`); 0: no limit.
    public var connectWindow = 0
    /// A stream with frames outstanding and nothing arriving for this long fails its pair.
    public var stallSeconds = 10.0
    /// Time past ramp + duration before the run gives up on unfinished pairs.
    public var graceSeconds = 60.0
    /// With `idle`: the hold starts when every pair has connected, or at the latest this long after the ramp.
    public var idleConnectLimitSeconds = 120.0
    /// Longest wait for one protocol answer (session created, welcome, consent, record start).
    public var answerSeconds = 15.0
    /// Longest wait for a recording to be flushed after stop.
    public var recordStopSeconds = 30.0
    /// Pairs' practitioners taking the camera as if over a slow download (`load --slow-viewers`).
    public var slowViewers = SlowDownloads()
    /// Pairs' families taking the practitioner's screen as if over a slow download (`load --slow-families`).
    public var slowFamilies = SlowDownloads()
    /// Unpaced streams (bitrate 0) keep at most this many bytes sent but not received, below the
    /// relay's 8 MiB slow-viewer limit, so they measure throughput instead of provoking skips.
    public var windowBytes = 4 << 20

    public init(target: Target, trust: ClientTrust, pairs: Int, bitsPerSecond: Double, framesPerSecond: Double,
                frameSize: Int?, durationSeconds: Double, rampSeconds: Double, record: Bool,
                screenBitsPerSecond: Double, workers: Int, serverPID: Int32?) {
        self.target = target
        self.trust = trust
        self.pairs = pairs
        self.bitsPerSecond = bitsPerSecond
        if let frameSize, bitsPerSecond > 0 {
            self.framesPerSecond = bitsPerSecond / Double(8 * frameSize)
        } else {
            self.framesPerSecond = framesPerSecond
        }
        self.frameSize = frameSize
        self.durationSeconds = durationSeconds
        self.rampSeconds = rampSeconds
        self.record = record
        self.screenBitsPerSecond = screenBitsPerSecond
        self.workers = workers
        self.serverPID = serverPID
    }

    /// `mirror` or `vigrelay`.
    public var modeName: String {
        if case .mirror = target { return "mirror" }
        return "vigrelay"
    }

    /// Worker `index`'s share of `connectWindow` (0: no limit), the shares adding up to it.
    func connectWindow(ofWorker index: Int) -> Int {
        guard connectWindow > 0 else { return 0 }
        return max(1, connectWindow / workers + (index < connectWindow % workers ? 1 : 0))
    }

    /// The receivers of `stream` on slow downloads: the practitioners for the camera, the families for the screen.
    func slowDownloads(of stream: MediaStream) -> SlowDownloads { stream == .screen ? slowFamilies : slowViewers }

    /// The download of pair `index`'s receiver of `stream`, bits per second, when it is one of the
    /// slow ones (spread evenly over the pairs, and so over the ramp and the workers, the first pair
    /// among them); nil when it reads at full speed.
    func slowDownload(pair index: Int, of stream: MediaStream) -> Double? {
        let slow = slowDownloads(of: stream)
        guard slow.count > 0, (0..<pairs).contains(index) else { return nil }
        // The share ceil(i x count / pairs) steps up by one at exactly `count` indices, the first at 0.
        func ceilingShare(_ i: Int) -> Int { (i * slow.count + pairs - 1) / pairs }
        return ceilingShare(index + 1) > ceilingShare(index) ? slow.bitsPerSecond : nil
    }

    /// The slowest download a slow receiver of `stream` may have, in whole kbit/s: one over which
    /// the stream's keyframe crosses in half the time a stream may go without a frame before its
    /// pair fails (`stallSeconds`). 0 when there is no such stream.
    public func slowestDownloadBitsPerSecond(of stream: MediaStream) -> Double {
        (Double(keyframeBytes(of: stream) * 8) * 2 / stallSeconds / 1000).rounded(.up) * 1000
    }

    /// Payload bytes of a keyframe of `stream` (0 when there is no screen stream).
    public func keyframeBytes(of stream: MediaStream) -> Int {
        stream == .screen ? screenSizing?.keyframeSize ?? 0 : cameraSizing.keyframeSize
    }

    /// Frames per keyframe: one keyframe a second.
    var framesPerKeyframe: Int { max(1, Int(framesPerSecond.rounded())) }

    /// Sizes of camera frames: `frameSize` each, or camera-like (a keyframe a second three times the
    /// size of the frames between, adding up to the bitrate).
    var cameraSizing: FrameSizing {
        if let frameSize { return .uniform(frameSize, framesPerKeyframe: framesPerKeyframe) }
        return .cameraLike(bitsPerSecond: bitsPerSecond, framesPerSecond: framesPerSecond)
    }

    /// Nanoseconds between camera frames; nil when unpaced (bitrate 0).
    var cameraIntervalNanoseconds: UInt64? {
        guard bitsPerSecond > 0 else { return nil }
        return UInt64(1e9 / framesPerSecond)
    }

    /// How late a worker's driver thread may wake for a pair's turn, so that one wake-up serves every
    /// turn falling within it: 5 ms, or 0 when the camera streams unpaced (bitrate 0, not `--idle`).
    ///
    /// Why: a paced frame's turn is to hand it to its connection `LoadStream.handOverLeadNanoseconds`
    /// (20 ms) before it is due, and the connection's lws thread writes it on its own timer when due,
    /// so a driver a few milliseconds late costs nothing; waking exactly for each frame cost a thread
    /// switch per frame, thousands a second at hundreds of pairs. An unpaced stream's turn is a poll
    /// of its window every millisecond while full, which lateness would slow (scenario 1 lost a fifth
    /// of its throughput with the slack).
    var driverWakeSlackNanoseconds: UInt64 { idle || cameraIntervalNanoseconds != nil ? 5_000_000 : 0 }

    /// Sizes of screen frames (camera-like at the screen bitrate), when there is a screen stream.
    var screenSizing: FrameSizing? {
        screenBitsPerSecond > 0 ? .cameraLike(bitsPerSecond: screenBitsPerSecond, framesPerSecond: framesPerSecond) : nil
    }

    /// When pair `index` starts, in seconds from the start of the run: spread evenly over the ramp.
    func startOffsetSeconds(pair index: Int) -> Double {
        pairs > 0 ? rampSeconds * Double(index) / Double(pairs) : 0
    }

    /// How long after it is ready pair `index` sends its first paced frame: a fraction of one camera
    /// frame interval, frac(index x golden ratio), so that frames of different pairs are spread over
    /// the interval for any number of pairs. Without it, pairs the ramp spaces a whole number of
    /// frame intervals apart (10 pairs over 2 s at 10 fps) send in step, every frame of every pair
    /// falling due together, which independent families' cameras do not. 0 when unpaced.
    func streamPhaseNanoseconds(pair index: Int) -> UInt64 {
        guard let interval = cameraIntervalNanoseconds else { return 0 }
        let fraction = (Double(index) * 0.618_033_988_749_895).truncatingRemainder(dividingBy: 1)
        return UInt64(fraction * Double(interval))
    }

    /// Every pair stops streaming this long after the start of the run.
    var streamEndSeconds: Double { rampSeconds + durationSeconds }

    /// Descriptors the run needs at most: two WebSockets and one session request per pair, and lws's own.
    var descriptorsNeeded: Int { 3 * pairs + 16 * workers + 256 }

    /// How many of one stream's receivers read as over a slow download, and how fast it is. Each such
    /// receiver takes the stream no faster than `bitsPerSecond` (`SlowLink`) and asks the relay to
    /// catch it up as the pages do (`CatchUpWatch`): what poor downloads cost the relay, and whether
    /// the other pairs notice.
    public struct SlowDownloads: Sendable, Equatable {
        /// How many pairs' receivers of the stream.
        public var count = 0
        /// Their download, bits per second (below the stream's bitrate).
        public var bitsPerSecond = 0.0

        public init(count: Int = 0, bitsPerSecond: Double = 0) {
            self.count = count
            self.bitsPerSecond = bitsPerSecond
        }
    }
}
