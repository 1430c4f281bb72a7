import Foundation
import VigRelayCore

/// `vigrelay-client pair`: create a session, join both sides in this process, stream synthetic
/// checkable frames family -> practitioner (and practitioner -> family with `screen`), verify them.
///
/// Each side has its own `ClientLoop` (lws context and thread), so sending and receiving run in
/// parallel as they would on two machines.
public struct PairRun: Sendable {
    /// Practitioner token; `pair` creates the session with it.
    public var token: String
    /// Bits per second per stream; 0 sends as fast as possible (bounded by `windowBytes`).
    public var bitsPerSecond: Double
    /// Frame rate, and a keyframe flag every second.
    public var framesPerSecond: Double
    /// Stop after this long, unless `frames` is set.
    public var durationSeconds: Double
    /// Send exactly this many frames per stream.
    public var frames: Int?
    /// Payload bytes per frame; nil derives it from the bitrate and frame rate (64 KiB unpaced).
    public var frameSize: Int?
    /// Also stream screen frames practitioner -> family.
    public var screen: Bool
    /// Bytes sent but not yet received, per stream, kept below the relay's 8 MiB viewer limit.
    public var windowBytes = 4 << 20

    public init(token: String, bitsPerSecond: Double, framesPerSecond: Double, durationSeconds: Double,
                frames: Int?, frameSize: Int?, screen: Bool) {
        self.token = token
        self.bitsPerSecond = bitsPerSecond
        self.framesPerSecond = framesPerSecond
        self.durationSeconds = durationSeconds
        self.frames = frames
        self.frameSize = frameSize
        self.screen = screen
    }

    /// Payload bytes of each frame.
    var payloadSize: Int {
        if let frameSize { return frameSize }
        guard bitsPerSecond > 0 else { return 64 << 10 }
        return max(CheckablePayload.prefixSize, Int(bitsPerSecond / 8 / framesPerSecond))
    }

    /// Frame-rate pacing for derived sizes, byte pacing for an explicit `frameSize`, none at bitrate 0.
    var pacing: Pacing {
        guard bitsPerSecond > 0 else { return .unpaced }
        return frameSize == nil ? .frameRate(framesPerSecond) : .byteRate(bitsPerSecond / 8)
    }

    /// Runs the pair and returns the report (check `report.passed`). `log` gets notable events.
    public func run(practitionerLoop: ClientLoop, familyLoop: ClientLoop,
                    log: @escaping @Sendable (String) -> Void) throws(ClientError) -> PairReport {
        guard payloadSize >= CheckablePayload.prefixSize else {
            throw .usage("--frame-size must be at least \(CheckablePayload.prefixSize) bytes (sequence and send time)")
        }
        let created = try SessionCreator.create(loop: practitionerLoop, token: token, labels: SessionLabels())
        let invite = try InviteLink(parsing: created.inviteToken)
        let sizing = FrameSizing.uniform(payloadSize, framesPerKeyframe: max(1, Int(framesPerSecond.rounded())))
        let notable: @Sendable (String, SessionNotice) -> Void = { role, notice in
            switch notice {
            case .error, .skipped, .other: log("\(role): \(notice)")
            default: break
            }
        }
        let camera = VerifyingReceiver(stream: .camera, sizing: sizing, window: FlowWindow(limitBytes: windowBytes)) { notable("practitioner", $0) }
        let screenReceiver = VerifyingReceiver(stream: .screen, sizing: sizing, window: FlowWindow(limitBytes: windowBytes)) { notable("family", $0) }
        let practitioner = SessionConnection(loop: practitionerLoop, role: .practitioner, sessionID: created.sessionID, token: token, observer: camera)
        practitioner.start()
        _ = try practitioner.waitForWelcome(seconds: 10)
        let family = SessionConnection(loop: familyLoop, role: .family, sessionID: invite.sessionID, token: invite.token, observer: screenReceiver)
        family.start()
        _ = try family.waitForWelcome(seconds: 10)

        var senders: [(MediaSender, VerifyingReceiver)] = []
        let duration = frames == nil ? durationSeconds : nil
        let cameraSender = MediaSender(session: family, stream: .camera, source: SyntheticFrameSource(sizing: sizing, count: frames),
                                       pacing: pacing, durationSeconds: duration, window: camera.window)
        senders.append((cameraSender, camera))
        if screen {
            let screenSender = MediaSender(session: practitioner, stream: .screen, source: SyntheticFrameSource(sizing: sizing, count: frames),
                                           pacing: pacing, durationSeconds: duration, window: screenReceiver.window)
            senders.append((screenSender, screenReceiver))
        }
        senders.forEach { $0.0.start() }

        var reports: [StreamReport] = []
        var failure: ClientError?
        for (sender, receiver) in senders {
            guard let sent = sender.finished.wait(until: .distantFuture) else { continue }
            if let error = sent.error, failure == nil { failure = error }
            _ = Interruption.wait(for: receiver.endOfStream, until: Date().addingTimeInterval(10))
            let received = receiver.snapshot()
            reports.append(StreamReport(stream: receiver.stream, sent: sent, verifier: received.verifier, latency: received.latency))
        }
        for session in [family, practitioner] { session.sendBye() }
        for session in [family, practitioner] { _ = session.waitForEnd(seconds: 5) }
        let report = PairReport(sessionID: created.sessionID, streams: reports, error: failure)
        return report
    }
}
