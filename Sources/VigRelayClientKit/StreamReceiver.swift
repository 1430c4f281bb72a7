import Foundation
import VigRelayCore

/// Why a receiving participant stopped waiting.
enum ReceiverStop: Sendable, Equatable {
    /// The watched stream sent end of stream (flag 4).
    case endOfStream
    /// The connection ended first.
    case ended(SessionEnd)
}

/// Receives one stream of a session (camera for the practitioner, screen for the family): writes
/// each frame's payload to an optional sink, reports notices, and notes the end.
///
/// Thread: observer callbacks on the lws thread; `stop`, `peerJoined` and `counts` are thread-safe.
final class StreamReceiver: SessionObserver, @unchecked Sendable {
    /// The stream saved and watched for its end.
    let stream: MediaStream
    /// Fulfilled at end of stream or when the connection ends.
    let stop = Latch<ReceiverStop>()
    /// Fulfilled when the relay says the peer joined (or welcome says it is there).
    let peerJoined = Latch<Bool>()
    private let sink: PayloadSink?
    /// Recording-related messages, for a command that consents, records or marks.
    let recordingEvents = RecordingEvents()
    private let log: @Sendable (SessionNotice) -> Void
    private let lock = NSLock()
    // Guarded by `lock`.
    private var frames = 0
    private var payloadBytes = 0
    private var skipped = 0

    init(stream: MediaStream, sink: PayloadSink?, log: @escaping @Sendable (SessionNotice) -> Void) {
        self.stream = stream
        self.sink = sink
        self.log = log
    }

    /// Frames and payload bytes received so far on the watched stream, and frames the relay skipped.
    var counts: (frames: Int, payloadBytes: Int, skipped: Int) {
        lock.lock(); defer { lock.unlock() }
        return (frames, payloadBytes, skipped)
    }

    var readyToReceive: Bool { sink?.readyForMore ?? true }

    func session(_ session: SessionConnection, notice: SessionNotice) {
        switch notice {
        case .welcome(_, _, true), .peer("joined", _):
            peerJoined.fulfil(true)
        case .skipped(let frames, let number) where number == Int(stream.rawValue):
            lock.lock()
            skipped += frames
            lock.unlock()
        default:
            break
        }
        recordingEvents.add(notice)
        log(notice)
    }

    func session(_ session: SessionConnection, frame: MediaFrameHeader, message: [UInt8]) {
        guard frame.streamKind == stream else { return }
        let payload = message[MediaFrameHeader.size...]
        if !payload.isEmpty {
            lock.lock()
            frames += 1
            payloadBytes += payload.count
            lock.unlock()
            if let sink, !sink.write(payload) { session.pauseReceiving() }
        }
        if frame.flags.contains(.endOfStream) { stop.fulfil(.endOfStream) }
    }

    func session(_ session: SessionConnection, ended: SessionEnd) {
        stop.fulfil(.ended(ended))
    }
}
