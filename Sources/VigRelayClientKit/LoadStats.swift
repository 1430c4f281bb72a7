import Foundation
import Histogram
import VigRelayCore

/// How long after it was due and after it was written an intact frame arrived, µs, and how late it
/// was written (`sendLag`, paced frames only).
struct FrameLatency: Equatable {
    var fromDue: UInt64
    var fromWrite: UInt64
    var sendLag: UInt64?
}

/// Figures of `load` that many pairs add to: counters, histograms and error counts. A pure value,
/// merged across workers for the progress line and the report.
struct LoadFigures: Sendable {
    var framesSent = 0
    var payloadBytesSent = 0
    var framesReceived = 0
    var payloadBytesReceived = 0
    /// Pairs streaming right now.
    var pairsStreaming = 0
    /// Pairs that got as far as they will before the hold of `--idle`: holding, or failed or cancelled before.
    var pairsSettled = 0
    /// One-way latency per stream from when each frame was due, microseconds (intact frames only).
    var cameraLatency = LatencySummary.makeHistogram()
    var screenLatency = LatencySummary.makeHistogram()
    /// The same for the camera at `--slow-viewers` and the screen at `--slow-families`, kept apart:
    /// their frames are seconds late by design, and the other pairs' latency is what shows whether
    /// they cost anyone else.
    var slowViewerLatency = LatencySummary.makeHistogram()
    var slowFamilyLatency = LatencySummary.makeHistogram()
    /// One-way latency from when the sending lws thread wrote each frame, both streams, µs (see `LoadStream`).
    var writeLatency = LatencySummary.makeHistogram()
    /// From starting a WebSocket connection to its handshake completing (TCP, TLS, HTTP upgrade), µs.
    var connect = LatencySummary.makeHistogram()
    /// From starting a WebSocket connection to the relay's `welcome`, µs.
    var welcome = LatencySummary.makeHistogram()
    /// `POST /v1/sessions`, from opening the connection to the 201, µs.
    var create = LatencySummary.makeHistogram()
    /// How late the sending lws thread wrote each paced frame after it was due, µs (a loaded client
    /// shows here): the latency from due less the latency from the write, of each intact frame.
    var sendLag = LatencySummary.makeHistogram()
    /// Errors by code: the relay's (`error` messages, refusals) and the client's own (see `LoadFailure`).
    var relayErrors: [String: Int] = [:]
    var clientErrors: [String: Int] = [:]
    /// `CLOCK_MONOTONIC` of the first frame queued and the last frame received, 0 if none.
    var firstSendNanoseconds: UInt64 = 0
    var lastArrivalNanoseconds: UInt64 = 0
    /// `CLOCK_MONOTONIC` of the last `welcome` any connection got, 0 if none: with `--idle`, when
    /// every connection was up.
    var lastWelcomeNanoseconds: UInt64 = 0

    /// The latency histogram of a stream's slow receivers.
    func slowLatency(_ stream: MediaStream) -> Histogram<UInt64> { self[keyPath: Self.slowLatency(stream)] }

    /// Where `slowLatency(stream)` is kept.
    static func slowLatency(_ stream: MediaStream) -> WritableKeyPath<LoadFigures, Histogram<UInt64>> {
        stream == .screen ? \.slowFamilyLatency : \.slowViewerLatency
    }

    /// Every error counted, of both kinds.
    var errorCount: Int { relayErrors.values.reduce(0, +) + clientErrors.values.reduce(0, +) }

    /// Adds another worker's figures to these.
    mutating func merge(_ other: LoadFigures) {
        framesSent += other.framesSent
        payloadBytesSent += other.payloadBytesSent
        framesReceived += other.framesReceived
        payloadBytesReceived += other.payloadBytesReceived
        pairsStreaming += other.pairsStreaming
        pairsSettled += other.pairsSettled
        cameraLatency.add(other.cameraLatency)
        screenLatency.add(other.screenLatency)
        slowViewerLatency.add(other.slowViewerLatency)
        slowFamilyLatency.add(other.slowFamilyLatency)
        writeLatency.add(other.writeLatency)
        connect.add(other.connect)
        welcome.add(other.welcome)
        create.add(other.create)
        sendLag.add(other.sendLag)
        relayErrors.merge(other.relayErrors, uniquingKeysWith: +)
        clientErrors.merge(other.clientErrors, uniquingKeysWith: +)
        if other.firstSendNanoseconds != 0, firstSendNanoseconds == 0 || other.firstSendNanoseconds < firstSendNanoseconds {
            firstSendNanoseconds = other.firstSendNanoseconds
        }
        lastArrivalNanoseconds = max(lastArrivalNanoseconds, other.lastArrivalNanoseconds)
        lastWelcomeNanoseconds = max(lastWelcomeNanoseconds, other.lastWelcomeNanoseconds)
    }

    /// All figures merged.
    static func merged(_ parts: [LoadFigures]) -> LoadFigures {
        var total = LoadFigures()
        for part in parts { total.merge(part) }
        return total
    }
}

/// One worker's `LoadFigures` as they are recorded: by its driver thread (frames queued, handshake
/// times, errors) and by the lws threads its pairs' connections live on (arrivals). Each worker has
/// its own, so threads of different workers never share a lock here; the progress line copies
/// them once a second and the report merges them at the end.
///
/// Thread-safe: `lock` guards `figures`.
final class LoadStats: @unchecked Sendable {
    private let lock = NSLock()
    // Guarded by `lock`.
    private var figures = LoadFigures()

    /// A copy of the figures so far. Any thread.
    func snapshot() -> LoadFigures {
        lock.lock(); defer { lock.unlock() }
        return figures
    }

    /// Pairs streaming (or holding, with `--idle`) right now. Any thread.
    var pairsStreaming: Int {
        lock.lock(); defer { lock.unlock() }
        return figures.pairsStreaming
    }

    /// Pairs settled before the hold of `--idle` (see `LoadFigures.pairsSettled`). Any thread.
    var pairsSettled: Int {
        lock.lock(); defer { lock.unlock() }
        return figures.pairsSettled
    }

    /// A pair settled: it holds, or it ended before it could. Once per pair; driver thread.
    func settled() {
        lock.lock(); defer { lock.unlock() }
        figures.pairsSettled += 1
    }

    /// A frame was queued, to go at `now` (monotonic ns). Driver thread.
    func frameSent(payloadBytes: Int, at now: UInt64) {
        lock.lock(); defer { lock.unlock() }
        figures.framesSent += 1
        figures.payloadBytesSent += payloadBytes
        if figures.firstSendNanoseconds == 0 || now < figures.firstSendNanoseconds { figures.firstSendNanoseconds = now }
    }

    /// A frame arrived, `latency` after it was due and after it was written; nil when it was corrupt.
    /// A slow receiver's latency goes to its stream's slow histogram only. lws thread.
    func frameReceived(_ stream: MediaStream, payloadBytes: Int, at now: UInt64, latency: FrameLatency?, slowViewer: Bool = false) {
        lock.lock(); defer { lock.unlock() }
        figures.framesReceived += 1
        figures.payloadBytesReceived += payloadBytes
        figures.lastArrivalNanoseconds = max(figures.lastArrivalNanoseconds, now)
        if let latency, slowViewer {
            _ = figures[keyPath: LoadFigures.slowLatency(stream)].record(latency.fromDue)
        } else if let latency {
            if stream == .screen { _ = figures.screenLatency.record(latency.fromDue) } else { _ = figures.cameraLatency.record(latency.fromDue) }
            _ = figures.writeLatency.record(latency.fromWrite)
            if let lag = latency.sendLag { _ = figures.sendLag.record(lag) }
        }
    }

    /// A handshake took this long. Driver thread.
    func timed(_ kind: WritableKeyPath<LoadFigures, Histogram<UInt64>>, micros: UInt64) {
        lock.lock(); defer { lock.unlock() }
        _ = figures[keyPath: kind].record(micros)
    }

    /// A connection got its `welcome` at `now` (monotonic ns), `micros` after it started. Driver thread.
    func welcomed(at now: UInt64, micros: UInt64) {
        lock.lock(); defer { lock.unlock() }
        _ = figures.welcome.record(micros)
        figures.lastWelcomeNanoseconds = max(figures.lastWelcomeNanoseconds, now)
    }

    /// An error happened. Any thread.
    func count(_ failure: LoadFailure) {
        lock.lock(); defer { lock.unlock() }
        switch failure.source {
        case .relay: figures.relayErrors[failure.code, default: 0] += 1
        case .client: figures.clientErrors[failure.code, default: 0] += 1
        }
    }

    /// A pair started (+1) or stopped (-1) streaming. Driver thread.
    func streaming(_ delta: Int) {
        lock.lock(); defer { lock.unlock() }
        figures.pairsStreaming += delta
    }
}
