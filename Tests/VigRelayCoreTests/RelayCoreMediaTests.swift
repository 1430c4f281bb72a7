import Foundation
import Testing
import VigRelayCore

/// Binary media after joining: checks, forwarding, and the late-joiner replay.
struct RelayCoreMediaTests {
    func paired(_ limits: RelayLimits = RelayLimits()) -> RelayHarness {
        let h = RelayHarness(limits: limits)
        h.join(1, as: .practitioner)
        h.join(2, as: .family)
        return h
    }

    func conn(_ role: Role) -> ConnectionID { role == .practitioner ? 1 : 2 }

    func frame(_ role: Role, _ flags: MediaFrameFlags = [], _ sequence: UInt32, size: Int = 100) -> [UInt8] {
        mediaBytes(role.sendableStream, flags, size: size, sequence: sequence, fill: UInt8(truncatingIfNeeded: sequence))
    }

    @Test(arguments: Role.allCases)
    func mediaIsForwardedUnchangedToThePeer(role: Role) throws {
        let h = paired()
        let bytes = mediaBytes(stream: role.sendableStream.rawValue, flags: .keyframe, sequence: 9, time: 123_456,
                               payload: (0..<300).map { UInt8(truncatingIfNeeded: $0) })
        let actions = h.core.receivedBinary(conn(role), bytes)
        let header = try MediaFrameHeader.parse(bytes)
        #expect(actions == [.send(conn(role.peer), .mediaFrame(bytes, header: header, startOffset: 0, queueLimit: RelayLimits().viewerQueueBytes))])
        let sent = try #require(actions.messages(to: conn(role.peer)).first)
        #expect(sent.isBinary)
        #expect(sent.bytes == bytes)
        #expect(sent.media?.stream == role.sendableStream.rawValue)
        #expect(sent.media?.startOffset == 0)
    }

    /// A viewer's queue may hold a few seconds of its stream at the rate it runs now: never less
    /// than `viewerQueueBytes`, never more than four times it, and back to the floor once the stream slows.
    @Test func theViewersQueueLimitFollowsTheStreamsRecentBytes() {
        var limits = RelayLimits()
        limits.viewerQueueBytes = 500
        limits.viewerQueueSeconds = 2
        let h = paired(limits)
        func limit(_ sequence: UInt32) -> Int? {
            h.core.receivedBinary(2, frame(.family, [], sequence, size: 400)).messages(to: 1).first?.media?.queueLimit
        }
        #expect((1...6).map { limit(UInt32($0)) } == [500, 800, 1200, 1600, 2000, 2000], "from 500 to 4 x 500")
        h.clock.now += 1
        #expect(limit(7) == 2000, "one second on, the window still holds the first second")
        h.clock.now += 2
        #expect(limit(8) == 800, "two seconds after frame 7, the window (2 s and the current one) still holds it")
        h.clock.now += 3
        #expect(limit(9) == 500, "three seconds on, only this frame is recent")
        let screen = h.core.receivedBinary(1, frame(.practitioner, .keyframe, 1, size: 400)).messages(to: 2)
        #expect(screen.first?.media?.queueLimit == 500, "each stream has its own rate")
    }

    @Test func deltaFramesAreForwardedAsNonStartPoints() {
        let h = paired()
        let bytes = frame(.family, [], 2)
        let sent = h.core.receivedBinary(2, bytes).messages(to: 1)
        #expect(sent.map(\.bytes) == [bytes])
        #expect(sent.first?.media?.startOffset == nil)
    }

    @Test func endOfStreamIsForwarded() {
        let h = paired()
        let bytes = frame(.practitioner, .endOfStream, 3, size: 16)
        #expect(h.core.receivedBinary(1, bytes).media(to: 2) == [bytes])
    }

    @Test func mediaWithoutAPeerGoesNowhere() {
        let h = RelayHarness()
        h.join(1, as: .family)
        #expect(h.core.receivedBinary(1, frame(.family, .keyframe, 1)).isEmpty)
    }

    @Test(arguments: [0, 1, 8, 15])
    func shortBinaryIsAMalformedFrameAndStaysOpen(length: Int) throws {
        let h = paired()
        let actions = h.core.receivedBinary(2, Array(frame(.family, .keyframe, 1).prefix(length)))
        #expect(actions.recipients == [2], "not forwarded")
        let error = try #require(actions.controls(to: 2).first)
        #expect(error["code"] as? String == "malformed_frame")
        #expect((error["message"] as? String)?.contains("\(length) bytes") == true)
        #expect(actions.closedConnections.isEmpty)
        let good = frame(.family, .keyframe, 2)
        #expect(h.core.receivedBinary(2, good).media(to: 1) == [good])
    }

    @Test(arguments: [UInt8(0), 2, 255])
    func otherVersionsAreMalformedFramesAndStayOpen(version: UInt8) throws {
        let h = paired()
        let bytes = mediaBytes(stream: 2, flags: .keyframe, payload: [1, 2, 3], version: version)
        let actions = h.core.receivedBinary(1, bytes)
        #expect(actions.recipients == [1])
        #expect(actions.controls(to: 1).map { $0["code"] as? String } == ["malformed_frame"])
        #expect(actions.closedConnections.isEmpty)
    }

    static let wrongStreams: [(Role, UInt8)] = [
        (.family, 2), (.practitioner, 1), (.family, 0), (.family, 3), (.practitioner, 0), (.practitioner, 3), (.practitioner, 255),
    ]

    @Test(arguments: wrongStreams)
    func wrongStreamIsNotAllowedNotForwardedAndNotCached(role: Role, stream: UInt8) throws {
        let h = paired()
        let me = conn(role)
        let bytes = mediaBytes(stream: stream, flags: [.initSegment, .keyframe], payload: [7, 7, 7])
        let actions = h.core.receivedBinary(me, bytes)
        #expect(actions.recipients == [me])
        let error = try #require(actions.controls(to: me).first)
        #expect(error["code"] as? String == "stream_not_allowed")
        #expect((error["message"] as? String)?.contains("stream \(role.sendableStream.rawValue)") == true)
        #expect(actions.closedConnections.isEmpty)

        let rejoin = h.join(3, as: role.peer)
        #expect(rejoin.media(to: 3).isEmpty, "a refused frame never reaches a late joiner")
        let good = frame(role, .keyframe, 1)
        #expect(h.core.receivedBinary(me, good).media(to: 3) == [good], "the sender stays joined")
    }

    @Test(arguments: Role.allCases)
    func lateJoinerGetsTheInitSegmentAndFramesSinceTheLastKeyframe(sender: Role) throws {
        let h = RelayHarness()
        h.join(1, as: sender)
        let initSegment = frame(sender, .initSegment, 0, size: 60)
        let frames = [initSegment, frame(sender, .keyframe, 1), frame(sender, [], 2), frame(sender, [], 3),
                      frame(sender, .keyframe, 4), frame(sender, [], 5), frame(sender, [], 6)]
        for f in frames { #expect(h.core.receivedBinary(1, f).isEmpty) }

        let actions = h.join(2, as: sender.peer)
        let sent = actions.messages(to: 2)
        #expect(sent.first.map { !$0.isBinary } == true, "welcome comes first")
        #expect(sent.dropFirst().map(\.bytes) == [initSegment] + frames[4...])
        #expect(sent.dropFirst().map { $0.media?.startOffset } == [0, 0, nil, nil])
        #expect(sent.dropFirst().allSatisfy { $0.isBinary && $0.media?.stream == sender.sendableStream.rawValue })
        #expect(actions.controls(to: 1).map { $0["event"] as? String } == ["joined"])
        #expect(actions.media(to: 1).isEmpty, "the sender is not sent its own stream")
    }

    @Test func replayIsCappedInBytesButKeepsTheInitSegment() {
        var limits = RelayLimits()
        limits.streamCacheBytes = 300
        let h = RelayHarness(limits: limits)
        h.join(2, as: .family)
        let initSegment = frame(.family, .initSegment, 0, size: 200)
        let frames = [frame(.family, .keyframe, 1)] + (2...6).map { frame(.family, [], UInt32($0)) }
        _ = h.core.receivedBinary(2, initSegment)
        for f in frames { _ = h.core.receivedBinary(2, f) }

        let replay = h.join(1, as: .practitioner).media(to: 1)
        #expect(replay == [initSegment] + frames.suffix(3))
        #expect(replay.dropFirst().reduce(0) { $0 + $1.count } <= 300)
    }

    @Test func cacheOutlivesItsSenderUntilItIsStale() {
        let h = RelayHarness()
        h.join(1, as: .family)
        let initSegment = frame(.family, .initSegment, 0)
        _ = h.core.receivedBinary(1, initSegment)
        _ = h.core.closed(1)

        h.clock.now = Fixture.t0.addingTimeInterval(TimeInterval(RelayLimits().staleCacheSeconds - 1))
        h.core.expireStaleCaches()
        #expect(h.join(2, as: .practitioner).media(to: 2) == [initSegment], "a recent stream is still replayed")
        _ = h.core.closed(2)

        h.clock.now = Fixture.t0.addingTimeInterval(TimeInterval(RelayLimits().staleCacheSeconds))
        h.core.expireStaleCaches()
        #expect(h.join(3, as: .practitioner).media(to: 3).isEmpty, "a stale stream is dropped")
    }

    @Test func aReturningSenderKeepsItsCacheFresh() {
        let h = RelayHarness()
        h.join(1, as: .family)
        let initSegment = frame(.family, .initSegment, 0)
        _ = h.core.receivedBinary(1, initSegment)
        _ = h.core.closed(1)
        h.join(2, as: .family)
        h.clock.now = Fixture.t0.addingTimeInterval(1800)
        h.core.expireStaleCaches()
        #expect(h.join(3, as: .practitioner).media(to: 3) == [initSegment])
    }

    @Test func endOfStreamClearsTheReplay() {
        let h = RelayHarness()
        h.join(1, as: .practitioner)
        for f in [frame(.practitioner, .initSegment, 0), frame(.practitioner, .keyframe, 1), frame(.practitioner, [], 2)] {
            _ = h.core.receivedBinary(1, f)
        }
        _ = h.core.receivedBinary(1, frame(.practitioner, .endOfStream, 3, size: 16))
        let actions = h.join(2, as: .family)
        #expect(actions.messages(to: 2).count == 1, "only the welcome")
        #expect(actions.media(to: 2).isEmpty)
    }

    @Test func aNewInitSegmentRestartsTheReplay() {
        let h = RelayHarness()
        h.join(2, as: .family)
        for f in [frame(.family, .initSegment, 0), frame(.family, .keyframe, 1), frame(.family, [], 2)] {
            _ = h.core.receivedBinary(2, f)
        }
        let newInit = frame(.family, .initSegment, 10, size: 50)
        let key = frame(.family, .keyframe, 11)
        _ = h.core.receivedBinary(2, newInit)
        _ = h.core.receivedBinary(2, key)
        #expect(h.join(1, as: .practitioner).media(to: 1) == [newInit, key])
    }

    @Test func framesRelayedLiveAreCachedForTheNextJoiner() {
        let h = paired()
        let frames = [frame(.family, .initSegment, 0), frame(.family, .keyframe, 1), frame(.family, [], 2)]
        for f in frames { #expect(h.core.receivedBinary(2, f).media(to: 1) == [f]) }
        let reconnect = h.join(3, as: .practitioner)
        #expect(reconnect.media(to: 3) == frames)
        #expect(reconnect.closeCodes(of: 1) == [4001])
    }

    @Test func eachJoinerIsReplayedOnlyThePeersStream() {
        let h = paired()
        let camera = [frame(.family, .initSegment, 0), frame(.family, .keyframe, 1)]
        let screen = [frame(.practitioner, .initSegment, 0), frame(.practitioner, .keyframe, 1)]
        for f in camera { _ = h.core.receivedBinary(2, f) }
        for f in screen { _ = h.core.receivedBinary(1, f) }

        #expect(h.join(3, as: .family).media(to: 3) == screen)
        #expect(h.join(4, as: .practitioner).media(to: 4) == camera)
    }

    @Test func malformedFramesAreNotCached() {
        let h = RelayHarness()
        h.join(2, as: .family)
        _ = h.core.receivedBinary(2, Array(frame(.family, .keyframe, 1).prefix(10)))
        _ = h.core.receivedBinary(2, mediaBytes(stream: 1, flags: .keyframe, version: 2))
        #expect(h.join(1, as: .practitioner).media(to: 1).isEmpty)
    }
}
