import Foundation
import Histogram
import VigRelayCore

/// The receiving side in `pair`: feeds every frame of its stream to a `StreamVerifier`, gives the
/// sender's flow window back, and notes end of stream.
///
/// Thread: observer callbacks on the lws thread; `verifier` is read through `snapshot()` (guarded
/// by `lock`) and `endOfStream` is a latch, so the command's thread may read them.
final class VerifyingReceiver: SessionObserver, @unchecked Sendable {
    /// The stream verified.
    let stream: MediaStream
    /// Fulfilled at end of stream, or false when the connection ended first.
    let endOfStream = Latch<Bool>()
    /// The sender's window, released as frames arrive.
    let window: FlowWindow
    private let log: @Sendable (SessionNotice) -> Void
    private let lock = NSLock()
    // Guarded by `lock`.
    private var verifier: StreamVerifier
    private var latency = LatencySummary.makeHistogram()

    init(stream: MediaStream, sizing: FrameSizing, window: FlowWindow, log: @escaping @Sendable (SessionNotice) -> Void) {
        self.stream = stream
        self.verifier = StreamVerifier(sizing: sizing)
        self.window = window
        self.log = log
    }

    /// A copy of the verifier's state and the latency histogram (microseconds).
    func snapshot() -> (verifier: StreamVerifier, latency: Histogram<UInt64>) {
        lock.lock(); defer { lock.unlock() }
        return (verifier, latency)
    }

    var readyToReceive: Bool { true }

    func session(_ session: SessionConnection, notice: SessionNotice) { log(notice) }

    func session(_ session: SessionConnection, frame: MediaFrameHeader, message: [UInt8]) {
        guard frame.streamKind == stream else { return }
        let now = MonotonicClock.nanoseconds()
        lock.lock()
        if case .intact(let micros) = verifier.receive(frame, message: message, arrivalNanoseconds: now) {
            _ = latency.record(micros)
        }
        lock.unlock()
        if frame.flags.contains(.endOfStream) {
            endOfStream.fulfil(true)
        } else {
            window.release(message.count)
        }
    }

    func session(_ session: SessionConnection, ended: SessionEnd) { endOfStream.fulfil(false) }
}
