import Foundation
import VigRelayCore

/// One media stream of a `load` pair (the camera family -> practitioner, or the screen back): paces
/// and builds the sender's frames, verifies the receiver's, and says when it stalled.
///
/// A paced frame is built ahead and handed to its connection `handOverLeadNanoseconds` before it is
/// due, held there until then (`TransmitQueue`'s `notBefore`): the connection's lws thread, woken by
/// its loop's alarm, writes it when due, so the only wake-up between the due time and the network is
/// that thread's own (the driver thread's timer and its hand-over are out of the path).
///
/// Latency is counted from when each paced frame was *due* (its header's media time after the
/// stream's start), so a client or relay that falls behind shows up in the latency instead of hiding
/// it (no coordinated omission). The connection stamps each frame's payload with the time its lws
/// thread writes it (`writeTimeOffset`), so latency is also counted from there (`writeLatency`): what
/// the path from the sender's write to the receiver adds, without the load generator's own lateness
/// in sending, which is the difference of the two and is counted apart (`sendLag`).
/// Unpaced streams (bitrate 0) count from when each frame was built and keep at most `windowBytes`
/// in flight.
/// After a `skipped` notice the next frame must be a start point (else a bad resume); at a slow
/// viewer (`load --slow-viewers` for the camera, `--slow-families` for the screen) the frames the
/// relay said it skipped are not lost, and its latency is recorded apart.
///
/// Thread: `begin`, `pump` and `finishNow` on the owning worker's driver thread (the `driver`
/// state); `receive` on the receiving connection's lws thread; what both touch is guarded by `lock`.
final class LoadStream: @unchecked Sendable {
    /// What one `pump` left.
    enum PumpResult: Equatable {
        /// Call again at this time (monotonic ns).
        case at(UInt64)
        /// The end-of-stream frame is queued: nothing more to send.
        case ended
        /// The connection is gone.
        case closed
    }

    /// What the stream did, for the report.
    struct Figures: Sendable, Equatable {
        var framesSent = 0
        var payloadBytesSent = 0
        var framesReceived = 0
        var payloadBytesReceived = 0
        /// Frames sent and never received; for a slow viewer, less those the relay said it skipped.
        var lost = 0
        var corrupt = 0
        var reordered = 0
        var duplicates = 0
        /// Frames the relay said it skipped because the receiver fell behind.
        var skippedByRelay = 0
        /// Frames after a `skipped` notice that were not a start point (keyframe or init segment),
        /// where the relay must resume a viewer it skipped.
        var badResumes = 0
        /// The receiver is one of `load --slow-viewers` or `--slow-families`: the relay's skips are expected, not lost.
        var slowViewer = false
        /// `catch_up` requests the (slow) receiver made.
        var catchUpsAsked = 0
        var endOfStreamSent = false
        var endOfStreamReceived = false
    }

    /// Where in a frame message the connection stamps its write time: over the send time of the
    /// payload (`CheckablePayload`), after the frame header.
    static let writeTimeOffset = MediaFrameHeader.size + 8

    /// How long before a paced frame is due the driver hands it to its connection: longer than the
    /// driver may be late (its wake-up slack, `LoadPlan.driverWakeSlackNanoseconds`, and its timer)
    /// but for rare stalls (a frame handed over late is written at once, and counted late), short
    /// enough that few frames wait built.
    static let handOverLeadNanoseconds: UInt64 = 20_000_000

    let kind: MediaStream
    let sizing: FrameSizing
    private let intervalNanoseconds: UInt64?
    private let windowBytes: Int
    private let stats: LoadStats
    /// The receiver emulates a slow download (`LoadPlan.slowDownloads(of:)`).
    private let slowViewer: Bool

    // Driver thread only.
    private var startNanoseconds: UInt64 = 0
    private var endNanoseconds: UInt64 = 0
    private var nextSequence: UInt32 = 0
    /// The next frame, built; `since` is when it was due (or built, if later): the send queue's stall clock.
    private var pending: (message: [UInt8], due: UInt64, since: UInt64)?
    private var sentEnd = false

    private let lock = NSLock()
    // Guarded by `lock`.
    /// `startNanoseconds`, for the receiving side: a frame was due then plus its media time.
    private var dueBase: UInt64 = 0
    private var verifier: StreamVerifier
    private var framesSent = 0
    private var payloadBytesSent = 0
    private var messageBytesSent = 0
    private var messageBytesReceived = 0
    private var endQueued = false
    private var endReceived = false
    private var skipped = 0
    private var badResumes = 0
    private var catchUpsAsked = 0
    /// A `skipped` notice with frames came: the next frame must be a start point.
    private var resumeMustStart = false
    /// Since when something sent has been waiting with nothing arriving; nil when nothing is outstanding.
    private var waitingSince: UInt64?

    init(kind: MediaStream, sizing: FrameSizing, intervalNanoseconds: UInt64?, windowBytes: Int, stats: LoadStats,
         slowViewer: Bool = false) {
        self.kind = kind
        self.slowViewer = slowViewer
        self.sizing = sizing
        self.intervalNanoseconds = intervalNanoseconds
        self.windowBytes = windowBytes
        self.stats = stats
        verifier = StreamVerifier(sizing: sizing)
    }

    /// Starts sending at `now` (which may be a little ahead: the pair's phase), until `end` (monotonic
    /// ns). Driver thread.
    func begin(now: UInt64, end: UInt64) {
        startNanoseconds = now
        endNanoseconds = max(now, end)
        lock.lock()
        dueBase = now
        lock.unlock()
    }

    /// Makes the stream end at `now` (Ctrl-C): the next `pump` queues the end-of-stream frame. Driver thread.
    func finishNow(_ now: UInt64) { endNanoseconds = min(endNanoseconds, now) }

    /// Queues every frame that is due within `handOverLeadNanoseconds`, through `send` (which must not
    /// wait), each held until it is due (`notBefore`; 0 for what may go at once), and builds the next
    /// paced frame before it is handed over; returns when to come back. Driver thread.
    func pump(now: UInt64, send: ([UInt8], _ overLimit: Bool, _ notBefore: UInt64) -> TransmitQueue.PushOutcome) -> PumpResult {
        if sentEnd { return .ended }
        var sentThisTurn = 0
        while true {
            // A frame built ahead that is not due before the end (`finishNow` moved it) is not sent.
            if let frame = pending, frame.due >= endNanoseconds, frame.due > now { pending = nil }
            if pending == nil {
                // Paced: frame n is due at start + n * interval, up to the last one due before the end
                // (sent even if late); unpaced: frames until the end.
                let due = intervalNanoseconds.map { startNanoseconds + UInt64(nextSequence) * $0 } ?? now
                if due >= endNanoseconds {
                    let end = MediaFrameHeader(stream: kind, flags: .endOfStream, sequence: nextSequence,
                                               mediaTimeMicros: (max(now, startNanoseconds) - startNanoseconds) / 1000)
                    // Queued behind any frame still held, so it goes after the last one.
                    guard case .queued = send(end.bytes, true, 0) else { return .closed }
                    sentEnd = true
                    lock.lock()
                    endQueued = true
                    if waitingSince == nil, !endReceived { waitingSince = now }
                    lock.unlock()
                    return .ended
                }
                if intervalNanoseconds == nil, inFlightBytes() >= windowBytes { return .at(now + 1_000_000) }
                if sentThisTurn >= 64 { return .at(now) }  // let other pairs have a turn
                let sequence = UInt64(nextSequence)
                let header = MediaFrameHeader(stream: kind, flags: sizing.flags(of: sequence), sequence: nextSequence,
                                              mediaTimeMicros: (due - startNanoseconds) / 1000)
                let message = CheckablePayload.message(header: header.bytes, sequence: sequence, size: sizing.size(of: sequence),
                                                       sentNanoseconds: due)
                // Built ahead of time when paced, handed over before it is due.
                pending = (message, due, max(now, due))
            }
            guard let frame = pending else { continue }
            if frame.due > now + Self.handOverLeadNanoseconds { return .at(frame.due - Self.handOverLeadNanoseconds) }
            switch send(frame.message, false, frame.due > now ? frame.due : 0) {
            case .queued:
                pending = nil
                nextSequence &+= 1
                sentThisTurn += 1
                let payload = frame.message.count - MediaFrameHeader.size
                lock.lock()
                framesSent += 1
                payloadBytesSent += payload
                messageBytesSent += frame.message.count
                // The frame may have arrived already (the lws thread is quick): then nothing waits.
                if waitingSince == nil, verifier.framesReceived < framesSent { waitingSince = now }
                lock.unlock()
                stats.frameSent(payloadBytes: payload, at: max(now, frame.due))
            case .stalled:
                return .at(now + 2_000_000)  // the send queue is full: the network or the relay is behind
            case .closed:
                return .closed
            }
        }
    }

    /// Takes one media message of this stream. Returns true for the end-of-stream frame. lws thread.
    func receive(_ header: MediaFrameHeader, message: [UInt8], now: UInt64) -> Bool {
        lock.lock()
        let check = verifier.receive(header, message: message, arrivalNanoseconds: now, mediaTimeBase: dueBase)
        if check == .endOfStream {
            endReceived = true
            waitingSince = nil
            lock.unlock()
            return true
        }
        messageBytesReceived += message.count
        if resumeMustStart {
            resumeMustStart = false
            if header.flags.isDisjoint(with: [.keyframe, .initSegment]) { badResumes += 1 }
        }
        waitingSince = verifier.framesReceived >= framesSent && !endQueued ? nil : now
        // An intact frame was due no later than its stamp: this cannot overflow.
        let due = dueBase &+ header.mediaTimeMicros &* 1000
        lock.unlock()
        var latency: FrameLatency?
        // The verifier counts from the payload's stamp: the write time.
        if case .intact(let micros) = check {
            let fromDue = now > due ? (now - due) / 1000 : 0
            latency = FrameLatency(fromDue: fromDue, fromWrite: micros,
                                   sendLag: intervalNanoseconds == nil ? nil : fromDue - min(fromDue, micros))
        }
        stats.frameReceived(kind, payloadBytes: message.count - MediaFrameHeader.size, at: now, latency: latency, slowViewer: slowViewer)
        return false
    }

    /// The relay skipped frames of this stream for a slow receiver. lws thread.
    func relaySkipped(_ frames: Int) {
        lock.lock(); defer { lock.unlock() }
        skipped += frames
        if frames > 0 { resumeMustStart = true }
    }

    /// The (slow) receiver asked the relay to catch it up. lws thread.
    func askedToCatchUp() {
        lock.lock(); defer { lock.unlock() }
        catchUpsAsked += 1
    }

    /// Whether the end-of-stream frame arrived.
    var ended: Bool {
        lock.lock(); defer { lock.unlock() }
        return endReceived
    }

    /// A reason when the stream stalled at `now`: something was sent (or waits to be queued) and
    /// nothing arrived for `limit` ns. Driver thread.
    func stall(now: UInt64, limit: UInt64) -> String? {
        if let pending, now > pending.since, now - pending.since > limit {
            return "no \(kind) frame could be queued for \(limit / 1_000_000_000) s: the send queue stayed full (the relay or the network stopped taking data)"
        }
        lock.lock(); defer { lock.unlock() }
        guard !endReceived, let waitingSince, now > waitingSince, now - waitingSince > limit else { return nil }
        return "no \(kind) frame arrived for \(limit / 1_000_000_000) s while \(framesSent - verifier.framesReceived) frame(s)"
            + (endQueued ? " and the end of stream" : "") + " were outstanding"
    }

    /// Message bytes sent and not received yet.
    private func inFlightBytes() -> Int {
        lock.lock(); defer { lock.unlock() }
        return messageBytesSent - messageBytesReceived
    }

    /// What the stream did so far.
    func figures() -> Figures {
        lock.lock(); defer { lock.unlock() }
        return Figures(framesSent: framesSent, payloadBytesSent: payloadBytesSent, framesReceived: verifier.framesReceived,
                       payloadBytesReceived: verifier.payloadBytesReceived,
                       lost: max(0, verifier.lost(sent: framesSent) - (slowViewer ? skipped : 0)),
                       corrupt: verifier.corrupt, reordered: verifier.reordered, duplicates: verifier.duplicates,
                       skippedByRelay: skipped, badResumes: badResumes, slowViewer: slowViewer, catchUpsAsked: catchUpsAsked,
                       endOfStreamSent: endQueued, endOfStreamReceived: endReceived)
    }
}
