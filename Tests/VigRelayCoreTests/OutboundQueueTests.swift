import Testing
import VigRelayCore

/// A viewer's queue with its writer, as a reference so `#expect` can call mutating methods.
final class Viewer {
    var queue: OutboundQueue
    init(limitBytes: Int, headroomBytes: Int = 1 << 30) { queue = OutboundQueue(limitBytes: limitBytes, headroomBytes: headroomBytes) }

    @discardableResult
    func enqueue(_ message: OutboundMessage) -> Bool { queue.enqueue(message) != .skipped }

    /// Writes out everything queued, whole messages at a time.
    func drain() -> [(bytes: [UInt8], isBinary: Bool)] {
        var out: [(bytes: [UInt8], isBinary: Bool)] = []
        while let chunk = queue.peekChunk(maxBytes: 1 << 30) {
            #expect(chunk.isFirst && chunk.isLast)
            out.append((Array(chunk.bytes), chunk.isBinary))
            queue.consume(chunk.bytes.count)
        }
        return out
    }

    /// Writes out one whole message.
    func writeOne() -> [UInt8]? {
        guard let chunk = queue.peekChunk(maxBytes: 1 << 30) else { return nil }
        queue.consume(chunk.bytes.count)
        return Array(chunk.bytes)
    }
}

struct OutboundQueueTests {
    func media(_ stream: MediaStream, _ flags: MediaFrameFlags = [], size: Int, _ sequence: UInt32 = 0) -> OutboundMessage {
        let bytes = mediaBytes(stream, flags, size: size, sequence: sequence)
        return .mediaFrame(bytes, header: MediaFrameHeader(stream: stream, flags: flags, sequence: sequence, mediaTimeMicros: 0))
    }

    func text(_ s: String) -> OutboundMessage { .text(utf8(s)) }

    @Test func startPointsAreKeyframesInitSegmentsAndEndOfStream() {
        #expect(media(.camera, .keyframe, size: 16).media?.startOffset == 0)
        #expect(media(.camera, .initSegment, size: 16).media?.startOffset == 0)
        #expect(media(.camera, .endOfStream, size: 16).media?.startOffset == 0)
        #expect(media(.camera, [], size: 16).media?.startOffset == nil)
        #expect(media(.screen, [], size: 16).media?.stream == 2)
        #expect(text("{}").media == nil && !text("{}").isBinary)
    }

    @Test func keepsEverythingUnderTheLimitInOrder() {
        let viewer = Viewer(limitBytes: 1000)
        let messages = [media(.camera, .initSegment, size: 100), text(#"{"type":"peer"}"#), media(.camera, .keyframe, size: 300, 1),
                        media(.screen, .keyframe, size: 200, 1), media(.camera, size: 300, 2), text(#"{"type":"signal"}"#)]
        for m in messages { #expect(viewer.enqueue(m)) }
        #expect(viewer.queue.count == messages.count)
        #expect(viewer.queue.queuedBytes == messages.reduce(0) { $0 + $1.bytes.count })
        let written = viewer.drain()
        #expect(written.map { $0.bytes } == messages.map(\.bytes))
        #expect(written.map { $0.isBinary } == messages.map(\.isBinary))
        #expect(viewer.queue.skippedTotal == 0)
        #expect(viewer.queue.isEmpty && viewer.queue.queuedBytes == 0)
    }

    /// The pong goes ahead of queued media (so a page's ping measures its own upload), after the
    /// control messages queued before it (a reply keeps its order) and never inside a frame being written.
    @Test func aPongGoesAheadOfQueuedMediaButNotOfControlMessagesOrAFrameBeingWritten() {
        let viewer = Viewer(limitBytes: 1 << 20)
        let k1 = media(.screen, .keyframe, size: 300, 1), f2 = media(.screen, size: 300, 2), f3 = media(.screen, size: 300, 3)
        let reply = text(#"{"type":"marked"}"#)
        let pong1 = OutboundMessage.aheadOfMedia(utf8(#"{"id":1,"type":"pong"}"#))
        let pong2 = OutboundMessage.aheadOfMedia(utf8(#"{"id":2,"type":"pong"}"#))
        #expect(viewer.enqueue(k1))
        let part = viewer.queue.peekChunk(maxBytes: 100)
        viewer.queue.consume(part?.bytes.count ?? 0)  // k1 is being written
        for m in [f2, reply, f3, pong1, pong2] { #expect(viewer.enqueue(m)) }
        #expect(viewer.queue.queuedBytes == [k1, f2, reply, f3, pong1, pong2].reduce(0) { $0 + $1.bytes.count })
        var written: [[UInt8]] = []
        while let chunk = viewer.queue.peekChunk(maxBytes: 1 << 30) {
            written.append(Array(chunk.bytes))
            viewer.queue.consume(chunk.bytes.count)
        }
        #expect(written == [Array(k1.bytes.dropFirst(100)), f2.bytes, reply.bytes, pong1.bytes, pong2.bytes, f3.bytes])
        #expect(viewer.queue.isEmpty && viewer.queue.queuedBytes == 0)
        // Into an empty queue, or one that holds only media not begun: first.
        #expect(viewer.enqueue(f2) && viewer.enqueue(pong1))
        #expect(viewer.writeOne() == pong1.bytes && viewer.writeOne() == f2.bytes)
    }

    @Test func exactlyAtTheLimitStillFits() {
        let viewer = Viewer(limitBytes: 200)
        #expect(viewer.enqueue(media(.camera, .keyframe, size: 100)))
        #expect(viewer.enqueue(media(.camera, size: 100, 1)))
        #expect(!viewer.enqueue(media(.camera, size: 16, 2)))
    }

    @Test func anEmptyQueueTakesAFrameLargerThanTheLimit() {
        let viewer = Viewer(limitBytes: 50)
        #expect(viewer.enqueue(media(.camera, .keyframe, size: 500)))
        #expect(viewer.queue.queuedBytes == 500)
    }

    @Test func skipsWholeFramesUntilAKeyframeFitsThenSaysHowMany() throws {
        let viewer = Viewer(limitBytes: 100)
        let k1 = media(.camera, .keyframe, size: 60, 1)
        #expect(viewer.enqueue(k1))
        #expect(!viewer.enqueue(media(.camera, size: 50, 2)), "over the limit")
        #expect(!viewer.enqueue(media(.camera, size: 20, 3)), "fits, but cannot be decoded without frame 2")
        #expect(!viewer.enqueue(media(.camera, .keyframe, size: 50, 4)), "a keyframe that does not fit is skipped too")
        #expect(viewer.queue.count == 1)
        #expect(viewer.writeOne() == k1.bytes)
        #expect(!viewer.enqueue(media(.camera, size: 20, 5)), "still waiting for a start point")
        let k2 = media(.camera, .keyframe, size: 30, 6)
        #expect(viewer.enqueue(k2))
        let d = media(.camera, size: 20, 7)
        #expect(viewer.enqueue(d), "skipping is over")

        let written = viewer.drain()
        #expect(written.count == 3)
        let notice = try #require(jsonObject(written[0].bytes))
        #expect(!written[0].isBinary)
        #expect(notice["type"] as? String == "skipped")
        #expect(notice["frames"] as? Int == 4)
        #expect(notice["stream"] as? Int == 1)
        #expect(written[1].bytes == k2.bytes)
        #expect(written[2].bytes == d.bytes)
        #expect(viewer.queue.skippedTotal == 4)
    }

    @Test func anInitSegmentEndsSkipping() throws {
        let viewer = Viewer(limitBytes: 100)
        #expect(viewer.enqueue(media(.screen, .keyframe, size: 90)))
        #expect(!viewer.enqueue(media(.screen, size: 30, 1)))
        _ = viewer.writeOne()
        let initSegment = media(.screen, .initSegment, size: 40, 2)
        #expect(viewer.enqueue(initSegment))
        let written = viewer.drain()
        let notice = try #require(jsonObject(written.first?.bytes ?? []))
        #expect(notice["type"] as? String == "skipped")
        #expect(notice["frames"] as? Int == 1)
        #expect(notice["stream"] as? Int == 2)
        #expect(written.last?.bytes == initSegment.bytes)
    }

    /// An init segment or an end of stream that does not fit is queued anyway, ending a skip with
    /// its notice: the viewer needs the new stream's init segment to decode it, and the end to stop
    /// waiting. Only the hard limit refuses them.
    @Test(arguments: [MediaFrameFlags.initSegment, .endOfStream])
    func initSegmentsAndEndsOfStreamAreNeverSkipped(flags: MediaFrameFlags) throws {
        let viewer = Viewer(limitBytes: 100, headroomBytes: 100)
        #expect(viewer.queue.enqueue(media(.camera, .keyframe, size: 90)) == .queued)
        let essential = media(.camera, flags, size: 40, 1)
        #expect(viewer.queue.enqueue(essential) == .queued, "not skipping: queued past the limit")
        #expect(viewer.queue.enqueue(media(.camera, size: 30, 2)) == .skipped)
        #expect(viewer.queue.enqueue(essential) == .resumed(afterSkipping: 1), "skipping: ends the skip past the limit")
        #expect(viewer.queue.enqueue(media(.camera, flags, size: 60, 3)) == .overLimit, "past the hard limit")
        let written = viewer.drain()
        #expect(written.count == 4)
        #expect(written[1].bytes == essential.bytes && written[3].bytes == essential.bytes)
        let notice = try #require(jsonObject(written[2].bytes))
        #expect(notice["type"] as? String == "skipped" && notice["frames"] as? Int == 1)
    }

    @Test func noticeCountsOnlyTheFramesSinceTheLastRecovery() throws {
        let viewer = Viewer(limitBytes: 100)
        for round in 1...3 {
            #expect(viewer.enqueue(media(.camera, .keyframe, size: 90)))
            for _ in 0..<round { #expect(!viewer.enqueue(media(.camera, size: 30))) }
            _ = viewer.drain()
            #expect(viewer.enqueue(media(.camera, .keyframe, size: 90)))
            let written = viewer.drain()
            let notice = try #require(jsonObject(written[0].bytes))
            #expect(notice["frames"] as? Int == round)
        }
        #expect(viewer.queue.skippedTotal == 6)
    }

    @Test func eachStreamSkipsOnItsOwn() {
        let viewer = Viewer(limitBytes: 100)
        #expect(viewer.enqueue(media(.camera, .keyframe, size: 60)))
        #expect(!viewer.enqueue(media(.camera, size: 50, 1)))
        #expect(viewer.enqueue(media(.screen, size: 30)), "screen fits and is not skipping")
        #expect(!viewer.enqueue(media(.camera, size: 16, 2)), "camera still skipping")
        #expect(viewer.queue.count == 2)
        #expect(viewer.queue.skippedTotal == 2)
    }

    @Test func controlMessagesAreNeverSkipped() throws {
        let viewer = Viewer(limitBytes: 100)
        #expect(viewer.enqueue(media(.camera, .keyframe, size: 90)))
        #expect(!viewer.enqueue(media(.camera, size: 50)))
        let big = text(#"{"type":"signal","sdp":"\#(String(repeating: "x", count: 500))"}"#)
        #expect(viewer.enqueue(big), "control over the limit while skipping")
        #expect(viewer.enqueue(text(#"{"type":"peer","event":"left","role":"family"}"#)))
        #expect(viewer.queue.queuedBytes > 100)
        #expect(viewer.queue.count == 3)
        #expect(!viewer.enqueue(media(.screen, .keyframe, size: 16)), "control messages count towards the limit")
        let written = viewer.drain()
        #expect(written[1].bytes == big.bytes)
        #expect(!written[1].isBinary)
    }

    /// Control messages past the hard limit are refused (the connection is then closed); one larger
    /// than the limit still goes into an empty queue, and media is skipped, never refused.
    @Test func controlMessagesStopAtTheHardLimit() throws {
        let viewer = Viewer(limitBytes: 100, headroomBytes: 150)
        #expect(viewer.queue.enqueue(media(.camera, .keyframe, size: 90)) == .queued)
        let ping = text(String(repeating: "p", count: 100))
        #expect(viewer.queue.enqueue(ping) == .queued)
        #expect(viewer.queue.enqueue(ping) == .overLimit, "90 + 100 + 100 > 250")
        #expect(viewer.queue.queuedBytes == 190)
        #expect(viewer.queue.enqueue(media(.camera, .keyframe, size: 70)) == .skipped)
        _ = viewer.drain()
        #expect(viewer.queue.enqueue(text(String(repeating: "x", count: 500))) == .queued, "alone, a message may be larger")
    }

    /// A fast stream's frames carry a larger limit (a few seconds of it): the queue holds that much
    /// before skipping, never less than its own limit, and control messages get their headroom
    /// above whatever media limit is in force.
    @Test func mediaLimitFollowsTheNewestFramesQueueLimit() {
        func frame(_ flags: MediaFrameFlags, size: Int, _ sequence: UInt32, limit: Int?) -> OutboundMessage {
            .mediaFrame(mediaBytes(.camera, flags, size: size, sequence: sequence),
                        header: MediaFrameHeader(stream: .camera, flags: flags, sequence: sequence, mediaTimeMicros: 0),
                        startOffset: flags.isStartPoint ? 0 : nil, queueLimit: limit)
        }
        let viewer = Viewer(limitBytes: 100, headroomBytes: 50)
        #expect(viewer.queue.enqueue(frame(.keyframe, size: 90, 0, limit: 300)) == .queued)
        #expect(viewer.queue.enqueue(frame([], size: 90, 1, limit: 300)) == .queued, "past 100, within 300")
        #expect(viewer.queue.mediaLimitBytes == 300 && viewer.queue.hardLimitBytes == 350)
        let control = text(String(repeating: "c", count: 100))
        #expect(viewer.queue.enqueue(control) == .queued, "control within the media limit and headroom")
        #expect(viewer.queue.enqueue(frame([], size: 90, 2, limit: 300)) == .skipped, "past 300")
        #expect(viewer.queue.enqueue(frame(.keyframe, size: 40, 3, limit: 40)) == .skipped,
                "a smaller limit than the queue's own counts as the queue's own (100)")
        #expect(viewer.queue.mediaLimitBytes == 100)
        #expect(viewer.queue.enqueue(control) == .overLimit, "the hard limit follows the media limit down")
        _ = viewer.drain()
        #expect(viewer.queue.enqueue(frame(.keyframe, size: 90, 4, limit: nil)) == .resumed(afterSkipping: 2))
    }

    @Test func chunksCarryFirstAndLastFlags() {
        let viewer = Viewer(limitBytes: 1000)
        let frame = media(.camera, .keyframe, size: 26)
        let note = text(#"{"a":1}"#)
        viewer.enqueue(frame)
        viewer.enqueue(note)

        var pieces: [(ArraySlice<UInt8>, Bool, Bool, Bool)] = []
        while let chunk = viewer.queue.peekChunk(maxBytes: 10) {
            pieces.append((chunk.bytes, chunk.isBinary, chunk.isFirst, chunk.isLast))
            #expect(viewer.queue.peekChunk(maxBytes: 10)?.bytes == chunk.bytes, "peeking does not advance")
            viewer.queue.consume(chunk.bytes.count)
        }
        #expect(pieces.map { Array($0.0) } == [Array(frame.bytes[0..<10]), Array(frame.bytes[10..<20]), Array(frame.bytes[20..<26]), note.bytes])
        #expect(pieces.map { $0.1 } == [true, true, true, false])
        #expect(pieces.map { $0.2 } == [true, false, false, true])
        #expect(pieces.map { $0.3 } == [false, false, true, true])
        #expect(viewer.queue.isEmpty)
        #expect(viewer.queue.peekChunk(maxBytes: 10) == nil)
    }

    @Test func bytesStayQueuedUntilTheWholeMessageIsWritten() {
        let viewer = Viewer(limitBytes: 1000)
        viewer.enqueue(media(.camera, .keyframe, size: 100))
        viewer.queue.consume(60)
        #expect(viewer.queue.queuedBytes == 100)
        #expect(viewer.queue.count == 1)
        #expect(viewer.queue.peekChunk(maxBytes: 100)?.bytes.count == 40)
        #expect(viewer.queue.peekChunk(maxBytes: 100)?.isFirst == false)
        viewer.queue.consume(40)
        #expect(viewer.queue.queuedBytes == 0)
        #expect(viewer.queue.isEmpty)
    }

    @Test func aPartlyWrittenFrameIsNeverSkipped() {
        let viewer = Viewer(limitBytes: 100)
        let frame = media(.camera, .keyframe, size: 100)
        viewer.enqueue(frame)
        let first = viewer.queue.peekChunk(maxBytes: 30).map { Array($0.bytes) } ?? []
        viewer.queue.consume(30)
        #expect(!viewer.enqueue(media(.camera, size: 20, 1)))
        let rest = viewer.queue.peekChunk(maxBytes: 1000).map { Array($0.bytes) } ?? []
        #expect(first + rest == frame.bytes)
    }

    @Test func longRunsKeepTheirOrder() {
        let viewer = Viewer(limitBytes: 1 << 20)
        var expected: [[UInt8]] = []
        var written: [[UInt8]] = []
        var next = 0
        func push(_ n: Int) {
            for _ in 0..<n {
                let m = text(#"{"n":\#(next)}"#)
                expected.append(m.bytes)
                viewer.enqueue(m)
                next += 1
            }
        }
        func pull(_ n: Int) {
            for _ in 0..<n {
                var message: [UInt8] = []
                while let chunk = viewer.queue.peekChunk(maxBytes: 3) {
                    message += chunk.bytes
                    viewer.queue.consume(chunk.bytes.count)
                    if chunk.isLast { break }
                }
                written.append(message)
            }
        }
        push(150); pull(100); push(200); pull(150); push(10)
        #expect(viewer.queue.count == 110)
        pull(110)
        #expect(viewer.queue.isEmpty && viewer.queue.queuedBytes == 0)
        #expect(written == expected)
    }

    @Test func resumesAtAWebMClusterStartMidFrameWithTheFrameCutThere() throws {
        let viewer = Viewer(limitBytes: 100)
        #expect(viewer.queue.enqueue(media(.camera, .keyframe, size: 90)) == .queued)
        #expect(viewer.queue.enqueue(media(.camera, size: 50, 1)) == .skipped)
        // Frame 2 holds the start of a keyframe cluster 10 bytes into its payload.
        let payload = (0..<40).map { UInt8($0) }
        let frame2 = mediaBytes(stream: MediaStream.camera.rawValue, sequence: 2, time: 7, payload: payload)
        let header = try MediaFrameHeader.parse(frame2)
        #expect(viewer.queue.enqueue(.mediaFrame(frame2, header: header, startOffset: nil)) == .skipped, "no start point in it")
        _ = viewer.writeOne()
        let frame3 = mediaBytes(stream: MediaStream.camera.rawValue, sequence: 3, time: 8, payload: payload)
        #expect(viewer.queue.enqueue(.mediaFrame(frame3, header: try MediaFrameHeader.parse(frame3), startOffset: 10)) == .resumed(afterSkipping: 2))
        let out = viewer.drain()
        #expect(out.count == 2)
        #expect(String(decoding: out[0].bytes, as: UTF8.self) == #"{"frames":2,"stream":1,"type":"skipped"}"#)
        let resumed = try MediaFrameHeader.parse(out[1].bytes)
        #expect(resumed.flags == .keyframe && resumed.sequence == 3 && resumed.mediaTimeMicros == 8, "same header, flagged keyframe")
        #expect(Array(out[1].bytes.dropFirst(MediaFrameHeader.size)) == Array(payload[10...]), "the payload from the cluster on")
        #expect(viewer.queue.skippedTotal == 2)
    }

    /// A frame in which the relay found a WebM keyframe cluster starting at its first payload byte
    /// resumes a skip flagged keyframe, as one cut mid-frame does: the pages' players wait for that flag.
    @Test func resumesAtAClusterThatStartsTheFrameFlaggedKeyframe() throws {
        let viewer = Viewer(limitBytes: 100)
        #expect(viewer.queue.enqueue(media(.camera, .keyframe, size: 90)) == .queued)
        #expect(viewer.queue.enqueue(media(.camera, size: 50, 1)) == .skipped)
        _ = viewer.writeOne()
        let frame = mediaBytes(stream: MediaStream.camera.rawValue, sequence: 2, payload: [1, 2, 3])
        #expect(viewer.queue.enqueue(.mediaFrame(frame, header: try MediaFrameHeader.parse(frame), startOffset: 0)) == .resumed(afterSkipping: 1))
        let out = viewer.drain()
        #expect(try MediaFrameHeader.parse(out[1].bytes).flags == .keyframe)
        #expect(out[1].bytes.dropFirst(3) == frame.dropFirst(3), "the rest as it was")
    }

    /// `catch_up`: the frames of the stream queued before the newest start point go, the viewer is
    /// told how many just before it, and everything else (other streams, control messages, the
    /// frame being written) stays in its order.
    @Test func catchingUpDropsTheStreamsFramesBeforeTheNewestStartPointQueued() throws {
        let viewer = Viewer(limitBytes: 1 << 20)
        let k1 = media(.camera, .keyframe, size: 100, 1), d2 = media(.camera, size: 40, 2), signal = text(#"{"type":"signal"}"#)
        let screen = media(.screen, .keyframe, size: 30, 1), d3 = media(.camera, size: 40, 3), k4 = media(.camera, .keyframe, size: 60, 4)
        let d5 = media(.camera, size: 40, 5), k6 = media(.camera, .keyframe, size: 50, 6), d7 = media(.camera, size: 40, 7)
        for m in [k1, d2, signal, screen, d3, k4, d5, k6, d7] { #expect(viewer.enqueue(m)) }
        let part = viewer.queue.peekChunk(maxBytes: 30)
        viewer.queue.consume(part?.bytes.count ?? 0)  // k1 is being written
        #expect(viewer.queue.catchUp(stream: MediaStream.camera.rawValue) == 4, "d2, d3, k4 and d5")
        let notice = text(#"{"frames":4,"stream":1,"type":"skipped"}"#)
        let rest = [Array(k1.bytes.dropFirst(30)), signal.bytes, screen.bytes, notice.bytes, k6.bytes, d7.bytes]
        #expect(viewer.queue.queuedBytes == rest.dropFirst().reduce(k1.bytes.count) { $0 + $1.count }, "whole messages counted")
        var written: [[UInt8]] = []
        while let chunk = viewer.queue.peekChunk(maxBytes: 1 << 30) {
            written.append(Array(chunk.bytes))
            viewer.queue.consume(chunk.bytes.count)
        }
        #expect(written == rest)
        #expect(viewer.queue.skippedTotal == 4 && viewer.queue.queuedBytes == 0)
        #expect(viewer.enqueue(media(.camera, size: 40, 8)), "what comes next is queued as before")
    }

    /// A new stream queued (a new recorder, or a clip in the shared review) is left whole: only what
    /// of the old one waits before its init segment goes.
    @Test func catchingUpLeavesANewStreamQueuedWhole() throws {
        let viewer = Viewer(limitBytes: 1 << 20)
        let k1 = media(.screen, .keyframe, size: 40, 1), d2 = media(.screen, size: 40, 2)
        let clip = [media(.screen, .initSegment, size: 40, 3), media(.screen, .keyframe, size: 40, 4), media(.screen, size: 40, 5),
                    media(.screen, .keyframe, size: 40, 6), media(.screen, .endOfStream, size: 40, 7)]
        for m in [k1, d2] + clip { #expect(viewer.enqueue(m)) }
        #expect(viewer.queue.catchUp(stream: MediaStream.screen.rawValue) == 2)
        #expect(viewer.drain().map(\.bytes) == [text(#"{"frames":2,"stream":2,"type":"skipped"}"#).bytes] + clip.map(\.bytes))
    }

    /// With no start point queued, everything of the stream waiting goes and the queue skips until
    /// the next start point, as over its limit; one already skipping is left as it is.
    @Test func catchingUpWithNoStartPointQueuedSkipsToTheNextOne() throws {
        let viewer = Viewer(limitBytes: 1 << 20)
        for m in [media(.camera, size: 40, 1), media(.camera, size: 40, 2)] { #expect(viewer.enqueue(m)) }
        #expect(viewer.queue.catchUp(stream: MediaStream.camera.rawValue) == 2)
        #expect(viewer.queue.isEmpty && viewer.queue.queuedBytes == 0)
        #expect(viewer.queue.catchUp(stream: MediaStream.camera.rawValue) == 0, "already skipping")
        #expect(viewer.queue.enqueue(media(.camera, size: 40, 3)) == .skipped)
        #expect(viewer.queue.enqueue(media(.screen, size: 40, 1)) == .queued, "another stream goes on")
        let k4 = media(.camera, .keyframe, size: 40, 4)
        #expect(viewer.queue.enqueue(k4) == .resumed(afterSkipping: 3))
        #expect(viewer.drain().map(\.bytes).suffix(2) == [text(#"{"frames":3,"stream":1,"type":"skipped"}"#).bytes, k4.bytes])
        #expect(viewer.queue.skippedTotal == 3)
    }

    /// With nothing of the stream waiting (the frames came late from the sender, or the kernel
    /// holds them), nothing changes: `skipped` with 0 frames answers at once, and nothing that comes
    /// after is skipped.
    @Test func catchingUpWithNothingWaitingChangesNothingAndSaysSo() throws {
        let viewer = Viewer(limitBytes: 1 << 20)
        #expect(viewer.queue.catchUp(stream: MediaStream.camera.rawValue) == 0)
        let k1 = media(.camera, .keyframe, size: 40, 1), d2 = media(.camera, size: 40, 2)
        for m in [k1, d2] { #expect(viewer.queue.enqueue(m) == .queued) }
        #expect(viewer.queue.catchUp(stream: MediaStream.camera.rawValue) == 0, "k1 is the newest start point: nothing before it")
        let notice = text(#"{"frames":0,"stream":1,"type":"skipped"}"#).bytes
        #expect(viewer.drain().map(\.bytes) == [notice, k1.bytes, d2.bytes, notice])
        #expect(viewer.queue.skippedTotal == 0)
    }

    /// A viewer that asks with fewer init segments received than the queue has begun to write asked
    /// about a stream that has ended (a clip may be on its way to it): nothing is dropped.
    @Test func aCatchUpAboutAStreamThatHasEndedChangesNothing() throws {
        let viewer = Viewer(limitBytes: 1 << 20)
        let clip = [media(.screen, .initSegment, size: 40, 1), media(.screen, size: 40, 2), media(.screen, .keyframe, size: 40, 3)]
        for m in [media(.screen, .keyframe, size: 40, 0)] + clip { #expect(viewer.enqueue(m)) }
        _ = viewer.writeOne()
        let part = viewer.queue.peekChunk(maxBytes: 10)
        viewer.queue.consume(part?.bytes.count ?? 0)  // the clip's init segment begun
        #expect(viewer.queue.catchUp(stream: MediaStream.screen.rawValue, viewerStarts: 0) == nil)
        #expect(viewer.queue.catchUp(stream: MediaStream.screen.rawValue, viewerStarts: nil) == 1, "not said: the frames go")
        #expect(viewer.queue.catchUp(stream: MediaStream.screen.rawValue, viewerStarts: 1) == 0, "asked about this stream: done")
    }

    /// A frame already cut at its cluster (a skip resumed there) is the newest start point at the
    /// next catch-up: it goes out as it is, not cut a second time.
    @Test func aFrameResumedAtItsClusterIsNotCutAgainByACatchUp() throws {
        let viewer = Viewer(limitBytes: 100)
        #expect(viewer.queue.enqueue(media(.camera, size: 30, 1)) == .queued)
        #expect(viewer.queue.enqueue(media(.camera, size: 80, 2)) == .skipped, "over the limit")
        let payload = (0..<40).map { UInt8($0) }
        let frame = mediaBytes(stream: MediaStream.camera.rawValue, sequence: 3, payload: payload)
        #expect(viewer.queue.enqueue(.mediaFrame(frame, header: try MediaFrameHeader.parse(frame), startOffset: 10)) == .resumed(afterSkipping: 1))
        #expect(viewer.queue.catchUp(stream: MediaStream.camera.rawValue) == 1, "frame 1 goes")
        let out = viewer.drain()
        #expect(out.count == 3, "two notices and the frame")
        #expect(Array(out[2].bytes.dropFirst(MediaFrameHeader.size)) == Array(payload[10...]), "cut once, at its cluster")
    }

    @Test func aFrameThatKeepsUpIsNeverCutEvenWithAStartOffset() throws {
        let viewer = Viewer(limitBytes: 1000)
        let frame = mediaBytes(stream: MediaStream.camera.rawValue, sequence: 1, payload: [1, 2, 3, 4])
        #expect(viewer.queue.enqueue(.mediaFrame(frame, header: try MediaFrameHeader.parse(frame), startOffset: 2)) == .queued)
        #expect(viewer.drain().map(\.bytes) == [frame])
    }
}
