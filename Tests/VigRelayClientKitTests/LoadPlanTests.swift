import Testing
import VigRelayCore
@testable import VigRelayClientKit

struct LoadPlanTests {
    static func plan(pairs: Int = 4, bitrate: Double = 2_500_000, fps: Double = 10, frameSize: Int? = nil, ramp: Double = 10) -> LoadPlan {
        LoadPlan(target: .relay(ServerEndpoint(host: "h", port: 1), token: "t"), trust: .system, pairs: pairs, bitsPerSecond: bitrate,
                 framesPerSecond: fps, frameSize: frameSize, durationSeconds: 60, rampSeconds: ramp, record: false,
                 screenBitsPerSecond: 0, workers: 2, serverPID: nil)
    }

    @Test func cameraLikeFramesAddUpToTheBitrateWithAKeyframeASecond() {
        let plan = Self.plan()
        let sizing = plan.cameraSizing
        #expect(sizing.framesPerKeyframe == 10 && sizing.keyframeSize == 3 * sizing.deltaSize)
        let second = (0..<10).map { sizing.size(of: UInt64($0)) }.reduce(0, +)
        #expect(abs(second - 2_500_000 / 8) < 20)
        #expect(plan.cameraIntervalNanoseconds == 100_000_000)
        #expect(plan.screenSizing == nil)
    }

    /// At a frame rate that is not a whole number the sizes still add up to the bitrate: 1.5 fps has
    /// a keyframe every 2 frames (1.33 s), whose bytes are 1.33 s of 2.5 Mbit/s.
    @Test(arguments: [1.5, 2.5, 7.25, 29.97])
    func cameraLikeFramesKeepTheBitrateAtAnyFrameRate(fps: Double) {
        let plan = Self.plan(fps: fps)
        let sizing = plan.cameraSizing
        let cycle = (0..<sizing.framesPerKeyframe).map { sizing.size(of: UInt64($0)) }.reduce(0, +)
        let seconds = Double(sizing.framesPerKeyframe) * Double(plan.cameraIntervalNanoseconds ?? 0) / 1e9
        #expect(abs(Double(cycle) * 8 / seconds - 2_500_000) < 2_500_000 * 0.001, "\(Double(cycle) * 8 / seconds) bit/s")
    }

    /// `--connect-window N` is N over all workers, shared out as evenly as it goes.
    @Test(arguments: [(10, 4), (3, 2), (7, 7), (1, 1), (0, 3)])
    func theConnectWindowIsSharedOutToItsTotal(window: Int, workers: Int) {
        var plan = Self.plan()
        plan.workers = workers
        plan.connectWindow = window
        let shares = (0..<workers).map { plan.connectWindow(ofWorker: $0) }
        #expect(shares.reduce(0, +) == window)
        #expect((shares.max() ?? 0) - (shares.min() ?? 0) <= 1)
    }

    @Test func aFrameSizeGivesUniformFramesPacedByTheBitrateOrUnpaced() {
        #expect(Self.plan(bitrate: 0, frameSize: 65536).cameraSizing == .uniform(65536, framesPerKeyframe: 10))
        let paced = Self.plan(bitrate: 2_500_000, frameSize: 65536)
        #expect(abs(paced.framesPerSecond - 4.768) < 0.001, "the frame rate follows from the bitrate and the frame size")
        #expect(paced.cameraSizing == .uniform(65536, framesPerKeyframe: 5))
        #expect(Self.plan(bitrate: 8 * 65536, frameSize: 65536).cameraIntervalNanoseconds == 1_000_000_000)
        #expect(Self.plan(bitrate: 0, frameSize: 65536).cameraIntervalNanoseconds == nil)
    }

    @Test func theDriverMayWakeLateOnlyForPacedStreams() {
        // Paced frames are handed over 20 ms ahead, so 5 ms late is harmless; an unpaced stream
        // polls its window every millisecond.
        #expect(Self.plan().driverWakeSlackNanoseconds == 5_000_000)
        #expect(Self.plan(bitrate: 8 * 65536, frameSize: 65536).driverWakeSlackNanoseconds == 5_000_000)
        #expect(Self.plan(bitrate: 0, frameSize: 65536).driverWakeSlackNanoseconds == 0)
        #expect(Self.plan().driverWakeSlackNanoseconds < LoadStream.handOverLeadNanoseconds)
    }

    @Test func pairsStartSpreadOverTheRampAndStreamTogetherForTheDuration() {
        let plan = Self.plan(pairs: 4, ramp: 10)
        #expect((0..<4).map { plan.startOffsetSeconds(pair: $0) } == [0, 2.5, 5, 7.5])
        #expect(plan.streamEndSeconds == 70)
        #expect(Self.plan(pairs: 1, ramp: 0).startOffsetSeconds(pair: 0) == 0)
    }

    @Test func pairsThatStartInStepSendTheirFramesSpreadOverTheFrameInterval() {
        // 10 pairs over a 2 s ramp at 10 fps start 200 ms apart, a whole number of frame intervals.
        let plan = Self.plan(pairs: 10, ramp: 2)
        let phases = (0..<10).map { plan.streamPhaseNanoseconds(pair: $0) }
        #expect(phases[0] == 0)
        #expect(phases.allSatisfy { $0 < 100_000_000 })
        // No two pairs' frames fall due within 5 ms of each other.
        let sorted = phases.sorted()
        #expect(zip(sorted, sorted.dropFirst()).allSatisfy { $1 - $0 >= 5_000_000 })
        #expect(Self.plan(bitrate: 0, frameSize: 65536).streamPhaseNanoseconds(pair: 3) == 0)
    }

    @Test(arguments: [
        ("wss://127.0.0.1:9443/mirror", "127.0.0.1", 9443, "/mirror", "/mirror?pair=r-1&side=family"),
        ("wss://relay.example/ws?room=a", "relay.example", 443, "/ws?room=a", "/ws?room=a&pair=r-1&side=family"),
        ("wss://[::1]:8080", "::1", 8080, "/", "/?pair=r-1&side=family"),
        ("WSS://h:1?x=1", "h", 1, "/?x=1", "/?x=1&pair=r-1&side=family"),
    ])
    func mirrorURLsNameAnEndpointAndAPathPerPair(url: String, host: String, port: Int, path: String, paired: String) throws {
        let target = try MirrorTarget(parsing: url)
        #expect(target.endpoint == ServerEndpoint(host: host, port: port))
        #expect(target.pathAndQuery == path)
        #expect(target.path(pair: "r-1", side: .family) == paired)
        #expect(target.path(pair: "r-1", side: .practitioner) == paired.dropLast("family".count) + "practitioner")
    }

    @Test(arguments: ["https://h:1/x", "ws://h:1/x", "wss://", "wss://h:99999/x", "wss://h:1/x#frag", "wss://user@h/x"])
    func otherURLsAreUsageErrors(url: String) {
        #expect(throws: ClientError.self) { try MirrorTarget(parsing: url) }
    }

    @Test func theOpenFileLimitIsRaisedToWhatIsNeededWithinTheHardLimit() {
        #expect(FileDescriptorLimit.target(needed: 3000, soft: 1024, hard: 524_288) == 8192)
        #expect(FileDescriptorLimit.target(needed: 30_000, soft: 1024, hard: 524_288) == 30_000)
        #expect(FileDescriptorLimit.target(needed: 30_000, soft: 1024, hard: 4096) == 4096)
        #expect(FileDescriptorLimit.target(needed: 3000, soft: 20_000, hard: 20_000) == nil)
        // lws 4.1 ignores limits over 10 million: bring such a limit down.
        #expect(FileDescriptorLimit.target(needed: 3000, soft: 1 << 30, hard: 1 << 30) == 8192)
        let short = FileDescriptorLimit.Outcome(needed: 30_000, before: 1024, after: 4096, hard: 4096, failure: nil)
        #expect(!short.sufficient && short.message?.contains("hard limit is 4096") == true)
        let raised = FileDescriptorLimit.Outcome(needed: 3000, before: 1024, after: 8192, hard: 524_288, failure: nil)
        #expect(raised.sufficient && raised.message?.contains("from 1024 to 8192") == true)
        #expect(FileDescriptorLimit.Outcome(needed: 3000, before: 20_000, after: 20_000, hard: 20_000, failure: nil).message == nil)
    }

    @Test func theProgressLineSaysPairsRateLatencyAndErrors() {
        let line = LoadConsole.line(elapsedSeconds: 12.4, streaming: 250, pairs: 300, megabytesPerSecond: 78.126, p99Milliseconds: 3.214,
                                    errors: 2)
        #expect(line == "load    12 s: 250/300 pairs streaming, 78.13 MB/s, p99 3.21 ms, errors 2")
    }

    @Test func connectionEndingsBecomeStableCodes() {
        #expect(LoadFailure.connectionEnded("family", .closed(code: nil, reason: ""), relayError: nil).code == "connection_lost")
        #expect(LoadFailure.connectionEnded("family", .closed(code: 1001, reason: "bye"), relayError: nil).code == "closed_by_relay")
        let replaced = LoadFailure.connectionEnded("family", .closed(code: 4001, reason: ""), relayError: RelayError(code: "replaced", message: "a newer family connection took its place"))
        #expect(replaced.source == .relay && replaced.code == "replaced")
        #expect(replaced.message.hasSuffix("after error replaced: a newer family connection took its place"), "the relay's own words are kept")
        #expect(LoadFailure.connectionEnded("x", .failed(.unreachable(server: "s", detail: "d")), relayError: nil).code == "connect_failed")
        #expect(LoadFailure.connectionEnded("x", .failed(.untrustedCertificate(server: "s")), relayError: nil).code == "tls_failed")
        let refused = LoadFailure.connectionEnded("x", .failed(.tokenRefused(code: "forbidden", message: "m")), relayError: nil)
        #expect(refused.source == .relay && refused.code == "forbidden")
    }
}
