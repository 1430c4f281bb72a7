import CLinuxIO
import Foundation
import VigRelayCore

/// What a `MediaSender` did.
struct SendSummary: Sendable, Equatable {
    /// Media frames queued, not counting the end-of-stream frame.
    var frames = 0
    /// Payload bytes of those frames.
    var payloadBytes = 0
    /// Message bytes (headers included).
    var messageBytes = 0
    /// `CLOCK_MONOTONIC` when sending started.
    var startNanoseconds: UInt64 = 0
    /// Why it stopped early, if it did.
    var error: ClientError?
}

/// Sends one stream: takes frames from a source, paces them, puts the 16-byte header in front,
/// queues them on the session, and ends with an end-of-stream frame (flag 4).
///
/// Thread: runs on its own thread (blocking reads, sleeps and back-pressure waits happen there);
/// `finished` and `cancel()` are thread-safe.
final class MediaSender: @unchecked Sendable {
    /// Fulfilled when the sender stops.
    let finished = Latch<SendSummary>()
    private let session: SessionConnection
    private let stream: MediaStream
    private let pacing: Pacing
    private let durationNanoseconds: UInt64?
    private let window: FlowWindow?
    // Touched only by the sender thread once started.
    private var source: any FrameSource
    private let cancelled = Latch<Bool>()

    init(session: SessionConnection, stream: MediaStream, source: any FrameSource, pacing: Pacing,
         durationSeconds: Double?, window: FlowWindow? = nil) {
        self.session = session
        self.stream = stream
        self.source = source
        self.pacing = pacing
        self.durationNanoseconds = durationSeconds.map { UInt64($0 * 1e9) }
        self.window = window
    }

    /// Starts the sender thread.
    func start() {
        let thread = Thread { [self] in
            _ = vr_name_thread("send-\(stream)")
            finished.fulfil(run())
        }
        thread.start()
    }

    /// Asks the sender to stop after the current frame (it still sends end of stream). Any thread.
    func cancel() { cancelled.fulfil(true) }

    private var shouldStop: Bool { cancelled.current != nil || Interruption.requested }

    private func run() -> SendSummary {
        var summary = SendSummary(startNanoseconds: MonotonicClock.nanoseconds())
        let start = summary.startNanoseconds
        var sequence: UInt32 = 0
        do throws(ClientError) {
            while !shouldStop {
                let due = pacing.dueNanoseconds(index: summary.frames, bytesBefore: summary.payloadBytes)
                if let durationNanoseconds, due >= durationNanoseconds || MonotonicClock.nanoseconds() - start >= durationNanoseconds { break }
                if !sleep(until: start + due) { break }
                guard let frame = try source.next() else { break }
                let mediaTime = (pacing == .unpaced ? MonotonicClock.nanoseconds() - start : due) / 1000
                let header = MediaFrameHeader(stream: stream, flags: frame.flags, sequence: sequence, mediaTimeMicros: mediaTime)
                var message = header.bytes
                message.reserveCapacity(MediaFrameHeader.size + frame.payload.count)
                message.append(contentsOf: frame.payload)
                if let window, !window.acquire(message.count, until: Date().addingTimeInterval(10)) {
                    throw .protocolError("no \(stream) frame arrived at the other side for 10 s; the relay or the receiver stalled")
                }
                source.finish(&message)
                try session.sendBinary(message)
                summary.frames += 1
                summary.payloadBytes += frame.payload.count
                summary.messageBytes += message.count
                sequence &+= 1
            }
            let elapsed = (MonotonicClock.nanoseconds() - start) / 1000
            let end = MediaFrameHeader(stream: stream, flags: .endOfStream, sequence: sequence, mediaTimeMicros: elapsed)
            try session.sendBinary(end.bytes)
        } catch {
            summary.error = error
        }
        return summary
    }

    /// Sleeps until the monotonic clock reads `deadline`, in slices so a stop request is noticed.
    /// False when stopped.
    private func sleep(until deadline: UInt64) -> Bool {
        while true {
            if shouldStop { return false }
            let now = MonotonicClock.nanoseconds()
            if now >= deadline { return true }
            MonotonicClock.sleep(until: min(deadline, now + 100_000_000))
        }
    }
}
