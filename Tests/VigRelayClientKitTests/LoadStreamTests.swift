import Testing
import VigRelayCore
@testable import VigRelayClientKit

/// `LoadStream` driven by hand: a fake connection that keeps what is sent, and arrivals fed back.
struct LoadStreamTests {
    static let ms: UInt64 = 1_000_000
    static let sizing = FrameSizing(keyframeSize: 300, deltaSize: 100, framesPerKeyframe: 10)

    final class FakeConnection {
        var sent: [[UInt8]] = []
        /// Each sent message's `notBefore` (0: at once).
        var heldUntil: [UInt64] = []
        var full = false
        var closed = false

        func send(_ message: [UInt8], overLimit: Bool, notBefore: UInt64) -> TransmitQueue.PushOutcome {
            if closed { return .closed }
            if full && !overLimit { return .stalled }
            sent.append(message)
            heldUntil.append(notBefore)
            return .queued(wasEmpty: sent.count == 1)
        }
    }

    /// A camera stream at 10 frames a second, begun at t0 (1 s) for a second, with its stats and connection.
    static func pacedCamera() -> (LoadStream, LoadStats, FakeConnection, UInt64) {
        let stats = LoadStats()
        let stream = LoadStream(kind: .camera, sizing: sizing, intervalNanoseconds: 100 * ms, windowBytes: 1 << 20, stats: stats)
        let t0: UInt64 = 1_000 * ms
        stream.begin(now: t0, end: t0 + 1_000 * ms)
        return (stream, stats, FakeConnection(), t0)
    }

    static let lead = LoadStream.handOverLeadNanoseconds

    @Test func pacedFramesAreHandedOverAheadHeldUntilDueStampedWithTheirDueTimeThenEndOfStream() throws {
        let (stream, stats, fake, t0) = Self.pacedCamera()
        #expect(stream.pump(now: t0, send: fake.send) == .at(t0 + 100 * Self.ms - Self.lead))
        #expect(fake.sent.count == 1 && fake.heldUntil == [0])
        // The lead before frame 1 is due: handed over, held until its time.
        #expect(stream.pump(now: t0 + 100 * Self.ms - Self.lead, send: fake.send) == .at(t0 + 200 * Self.ms - Self.lead))
        #expect(fake.sent.count == 2 && fake.heldUntil == [0, t0 + 100 * Self.ms])
        // 350 ms after the start: frames 2 and 3 are due (late) and go at once, each stamped with its own due time.
        #expect(stream.pump(now: t0 + 350 * Self.ms, send: fake.send) == .at(t0 + 400 * Self.ms - Self.lead))
        #expect(fake.sent.count == 4 && fake.heldUntil[2...] == [0, 0])
        let headers = try fake.sent.map { try MediaFrameHeader.parse($0) }
        #expect(headers.map(\.sequence) == [0, 1, 2, 3])
        #expect(headers[0].flags == [.initSegment, .keyframe] && headers[1].flags == [])
        #expect(fake.sent.map(\.count) == [316, 116, 116, 116])
        let stamp = try #require(fake.sent[2].withUnsafeBytes { CheckablePayload.read(UnsafeRawBufferPointer(rebasing: $0[16...])) })
        #expect(stamp.sentNanoseconds == t0 + 200 * Self.ms)
        // Past the end: the frames due before it, then end of stream.
        #expect(stream.pump(now: t0 + 1_000 * Self.ms, send: fake.send) == .ended)
        #expect(fake.sent.count == 11)
        let end = try MediaFrameHeader.parse(fake.sent[10])
        #expect(end.flags == .endOfStream && end.sequence == 10 && fake.sent[10].count == 16)
        #expect(stream.pump(now: t0 + 2_000 * Self.ms, send: fake.send) == .ended && fake.sent.count == 11)
        #expect(fake.heldUntil[10] == 0, "the end of stream queues behind any frame still held")

        for message in fake.sent {
            _ = stream.receive(try MediaFrameHeader.parse(message), message: message, now: t0 + 1_001 * Self.ms)
        }
        let figures = stream.figures()
        #expect(figures.framesSent == 10 && figures.framesReceived == 10 && figures.lost == 0 && figures.corrupt == 0)
        #expect(figures.payloadBytesSent == 300 + 9 * 100 && figures.payloadBytesSent == figures.payloadBytesReceived)
        #expect(figures.endOfStreamSent && figures.endOfStreamReceived && stream.ended)
        #expect(stats.snapshot().framesReceived == 10)
    }

    @Test func latencyCountsFromTheDueTimeAndFromTheWriteTimeTheConnectionStampedAndTheirDifferenceIsTheSendLag() throws {
        let (stream, stats, fake, t0) = Self.pacedCamera()
        _ = stream.pump(now: t0, send: fake.send)
        _ = stream.pump(now: t0 + 130 * Self.ms, send: fake.send)  // frame 1, due at 100 ms, handed over 30 ms late
        #expect(fake.sent.count == 2)
        // Its connection wrote it at 140 ms (the stamp goes where `writeTimeOffset` says); it arrived at 145 ms.
        var written = fake.sent[1]
        CheckablePayload.stamp(&written, payloadOffset: LoadStream.writeTimeOffset - 8, nanoseconds: t0 + 140 * Self.ms)
        _ = stream.receive(try MediaFrameHeader.parse(written), message: written, now: t0 + 145 * Self.ms)
        let figures = stats.snapshot()
        let fromDue = LatencySummary(microseconds: figures.cameraLatency), fromWrite = LatencySummary(microseconds: figures.writeLatency)
        #expect(fromDue.count == 1 && abs(fromDue.max - 45) < 0.05)  // ms
        #expect(fromWrite.count == 1 && abs(fromWrite.max - 5) < 0.01)
        let lag = LatencySummary(microseconds: figures.sendLag)
        #expect(lag.count == 1 && abs(lag.max - 40) < 0.05, "written 40 ms after it was due")
    }

    @Test func aFullSendQueueKeepsTheFrameAndStallsAfterTheLimit() {
        let stream = LoadStream(kind: .camera, sizing: Self.sizing, intervalNanoseconds: 100 * Self.ms, windowBytes: 1 << 20, stats: LoadStats())
        let fake = FakeConnection()
        let t0: UInt64 = 5_000 * Self.ms
        stream.begin(now: t0, end: t0 + 60_000 * Self.ms)
        fake.full = true
        #expect(stream.pump(now: t0, send: fake.send) == .at(t0 + 2 * Self.ms))
        #expect(fake.sent.isEmpty && stream.figures().framesSent == 0)
        #expect(stream.stall(now: t0 + 9_000 * Self.ms, limit: 10_000 * Self.ms) == nil)
        #expect(stream.stall(now: t0 + 10_001 * Self.ms, limit: 10_000 * Self.ms)?.contains("send queue stayed full") == true)
        fake.full = false
        _ = stream.pump(now: t0 + 10_002 * Self.ms, send: fake.send)
        #expect(fake.sent.count == 64, "a late stream catches up at most 64 frames per turn")
    }

    @Test func framesSentAndNotArrivingStallTheStreamButSlowFramesDoNot() throws {
        let stream = LoadStream(kind: .screen, sizing: Self.sizing, intervalNanoseconds: 20_000 * Self.ms, windowBytes: 1 << 20, stats: LoadStats())
        let fake = FakeConnection()
        let t0: UInt64 = 1_000 * Self.ms
        stream.begin(now: t0, end: t0 + 100_000 * Self.ms)
        _ = stream.pump(now: t0, send: fake.send)
        #expect(stream.stall(now: t0 + 11_000 * Self.ms, limit: 10_000 * Self.ms)?.contains("no screen frame arrived") == true)
        // It arrives: nothing is outstanding, so 19 s of quiet before the next frame is no stall.
        _ = stream.receive(try MediaFrameHeader.parse(fake.sent[0]), message: fake.sent[0], now: t0 + 11_500 * Self.ms)
        #expect(stream.stall(now: t0 + 19_000 * Self.ms, limit: 10_000 * Self.ms) == nil)
    }

    @Test func unpacedStreamsKeepTheirWindowAndStampTheQueueTime() throws {
        let stream = LoadStream(kind: .camera, sizing: .uniform(1000, framesPerKeyframe: 10), intervalNanoseconds: nil, windowBytes: 5000,
                                stats: LoadStats())
        let fake = FakeConnection()
        let t0: UInt64 = 1_000 * Self.ms
        stream.begin(now: t0, end: t0 + 10_000 * Self.ms)
        #expect(stream.pump(now: t0 + 5, send: fake.send) == .at(t0 + 5 + Self.ms))
        #expect(fake.sent.count == 5, "5 x 1016 bytes fill a 5000-byte window")
        let stamp = try #require(fake.sent[4].withUnsafeBytes { CheckablePayload.read(UnsafeRawBufferPointer(rebasing: $0[16...])) })
        #expect(stamp.sentNanoseconds == t0 + 5)
        _ = stream.receive(try MediaFrameHeader.parse(fake.sent[0]), message: fake.sent[0], now: t0 + 10)
        _ = stream.pump(now: t0 + 20, send: fake.send)
        #expect(fake.sent.count == 6)
        #expect(stream.pump(now: t0 + 30, send: fake.send) == .at(t0 + 30 + Self.ms), "window full again")
        _ = stream.receive(try MediaFrameHeader.parse(fake.sent[1]), message: fake.sent[1], now: t0 + 40)
        fake.closed = true
        #expect(stream.pump(now: t0 + 50, send: fake.send) == .closed)
    }

    @Test func finishNowEndsTheStreamAtTheNextTurn() throws {
        let stream = LoadStream(kind: .camera, sizing: Self.sizing, intervalNanoseconds: 100 * Self.ms, windowBytes: 1 << 20, stats: LoadStats())
        let fake = FakeConnection()
        stream.begin(now: 0, end: 60_000 * Self.ms)
        _ = stream.pump(now: 0, send: fake.send)
        stream.finishNow(50 * Self.ms)
        #expect(stream.pump(now: 50 * Self.ms, send: fake.send) == .ended)
        #expect(try MediaFrameHeader.parse(fake.sent[1]).flags == .endOfStream)
    }

    /// The next paced frame is built before it is handed over; it waits for its time, and the send
    /// queue's stall clock starts when it is due, not when it was built or first offered.
    @Test func aFrameBuiltAheadWaitsForItsTimeAndDoesNotCountAsStalledBefore() throws {
        let stream = LoadStream(kind: .camera, sizing: Self.sizing, intervalNanoseconds: 100 * Self.ms, windowBytes: 1 << 20, stats: LoadStats())
        let fake = FakeConnection()
        let t0: UInt64 = 1_000 * Self.ms
        stream.begin(now: t0, end: t0 + 60_000 * Self.ms)
        #expect(stream.pump(now: t0, send: fake.send) == .at(t0 + 100 * Self.ms - Self.lead))
        _ = stream.receive(try MediaFrameHeader.parse(fake.sent[0]), message: fake.sent[0], now: t0 + Self.ms)
        #expect(stream.pump(now: t0 + 79 * Self.ms, send: fake.send) == .at(t0 + 100 * Self.ms - Self.lead))
        #expect(fake.sent.count == 1)
        #expect(stream.stall(now: t0 + 99 * Self.ms, limit: 50 * Self.ms) == nil)
        // Offered ahead, but the send queue is full: stalled only once the limit passed since it was due.
        fake.full = true
        #expect(stream.pump(now: t0 + 90 * Self.ms, send: fake.send) == .at(t0 + 92 * Self.ms))
        #expect(stream.stall(now: t0 + 140 * Self.ms, limit: 50 * Self.ms) == nil)
        #expect(stream.stall(now: t0 + 160 * Self.ms, limit: 50 * Self.ms) != nil)
        fake.full = false
        #expect(stream.pump(now: t0 + 160 * Self.ms, send: fake.send) == .at(t0 + 200 * Self.ms - Self.lead))
        let stamp = try #require(fake.sent[1].withUnsafeBytes { CheckablePayload.read(UnsafeRawBufferPointer(rebasing: $0[16...])) })
        #expect(stamp.sequence == 1 && stamp.sentNanoseconds == t0 + 100 * Self.ms)
    }

    /// Frames 0-9 of a paced camera (keyframes at 0, 4 and 8) and its end of stream, sent; the stream and what went.
    static func sentSecond(slowViewer: Bool) -> (LoadStream, LoadStats, [[UInt8]], UInt64) {
        let stats = LoadStats()
        let stream = LoadStream(kind: .camera, sizing: FrameSizing(keyframeSize: 300, deltaSize: 100, framesPerKeyframe: 4),
                                intervalNanoseconds: 100 * ms, windowBytes: 1 << 20, stats: stats, slowViewer: slowViewer)
        let t0: UInt64 = 1_000 * ms
        stream.begin(now: t0, end: t0 + 1_000 * ms)
        let fake = FakeConnection()
        _ = stream.pump(now: t0 + 2_000 * ms, send: fake.send)
        return (stream, stats, fake.sent, t0)
    }

    @Test func aSlowViewersFramesTheRelaySaidItSkippedAreNotLostAndItsLatencyIsKeptApart() throws {
        let (stream, stats, sent, t0) = Self.sentSecond(slowViewer: true)
        // Frames 0-2 arrive, the relay skips 3 (up to the keyframe at 4), then 4-9 and the end.
        for i in 0..<3 { _ = stream.receive(try MediaFrameHeader.parse(sent[i]), message: sent[i], now: t0 + 3_000 * Self.ms) }
        stream.relaySkipped(1)
        for i in 4..<sent.count { _ = stream.receive(try MediaFrameHeader.parse(sent[i]), message: sent[i], now: t0 + 3_000 * Self.ms) }
        let figures = stream.figures()
        #expect(figures.framesSent == 10 && figures.framesReceived == 9 && figures.skippedByRelay == 1)
        #expect(figures.lost == 0 && figures.badResumes == 0 && figures.slowViewer)
        let snapshot = stats.snapshot()
        #expect(snapshot.slowViewerLatency.totalCount == 9 && snapshot.cameraLatency.totalCount == 0)
        // A frame the relay did not account for is lost all the same.
        let (other, _, again, _) = Self.sentSecond(slowViewer: true)
        for i in [0, 1, 2, 4] { _ = other.receive(try MediaFrameHeader.parse(again[i]), message: again[i], now: t0 + 3_000 * Self.ms) }
        other.relaySkipped(1)
        #expect(other.figures().lost == 5, "10 sent, 4 received, 1 skipped")
    }

    @Test func aViewerThatReadsAtFullSpeedCountsTheRelaysSkipsAsLost() throws {
        let (stream, stats, sent, t0) = Self.sentSecond(slowViewer: false)
        for i in [0, 1, 2] + Array(4..<sent.count) {
            _ = stream.receive(try MediaFrameHeader.parse(sent[i]), message: sent[i], now: t0 + 3_000 * Self.ms)
        }
        stream.relaySkipped(1)
        #expect(stream.figures().lost == 1 && stream.figures().skippedByRelay == 1)
        #expect(stats.snapshot().cameraLatency.totalCount == 9 && stats.snapshot().slowViewerLatency.totalCount == 0)
    }

    @Test func aFrameAfterASkipThatIsNotAStartPointIsABadResume() throws {
        let (stream, _, sent, t0) = Self.sentSecond(slowViewer: true)
        _ = stream.receive(try MediaFrameHeader.parse(sent[0]), message: sent[0], now: t0 + 3_000 * Self.ms)
        stream.relaySkipped(1)  // then frame 2, a delta frame: the relay should have resumed at a keyframe
        _ = stream.receive(try MediaFrameHeader.parse(sent[2]), message: sent[2], now: t0 + 3_000 * Self.ms)
        _ = stream.receive(try MediaFrameHeader.parse(sent[3]), message: sent[3], now: t0 + 3_000 * Self.ms)
        #expect(stream.figures().badResumes == 1)
        // A skip of nothing (`frames` 0: nothing waited) asks nothing of the next frame.
        stream.relaySkipped(0)
        _ = stream.receive(try MediaFrameHeader.parse(sent[5]), message: sent[5], now: t0 + 3_000 * Self.ms)
        #expect(stream.figures().badResumes == 1)
    }
}
