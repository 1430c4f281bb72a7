import Foundation
import Testing
import VigRelayCore
@testable import VigRelayClientKit

struct LoadReportTests {
    static let plan = LoadPlan(target: .relay(ServerEndpoint(host: "127.0.0.1", port: 8443), token: "t"), trust: .insecure, pairs: 3,
                               bitsPerSecond: 2_500_000, framesPerSecond: 10, frameSize: nil, durationSeconds: 60, rampSeconds: 10,
                               record: true, screenBitsPerSecond: 0, workers: 2, serverPID: nil)

    static func clean(_ index: Int, frames: Int = 600) -> LoadPairOutcome {
        var camera = LoadStream.Figures()
        camera.framesSent = frames
        camera.framesReceived = frames
        camera.payloadBytesSent = frames * 1000
        camera.payloadBytesReceived = frames * 1000
        camera.endOfStreamSent = true
        camera.endOfStreamReceived = true
        return LoadPairOutcome(index: index, sessionID: String(repeating: "\(index)", count: 32), state: .completed, failure: nil,
                               connected: true, camera: camera, screen: nil,
                               recording: RecordingSummary(recordingID: "00000000000000a\(index)", bytes: frames * 1000, frames: frames, durationMs: 60_000))
    }

    static func figures() -> LoadFigures {
        var figures = LoadFigures()
        for i in 1...1800 { _ = figures.cameraLatency.record(UInt64(i)) }
        figures.firstSendNanoseconds = 1_000_000_000
        figures.lastArrivalNanoseconds = 61_000_000_000
        return figures
    }

    static func report(_ outcomes: [LoadPairOutcome], figures: LoadFigures = figures()) -> LoadReport {
        LoadReport(plan: plan, outcomes: outcomes, figures: figures, wallSeconds: 71.5, interrupted: false, server: nil,
                   startedAt: Date(timeIntervalSince1970: 1_800_000_000))
    }

    @Test func cleanPairsPassAndTheTotalsAddUp() throws {
        let report = Self.report([Self.clean(2), Self.clean(0), Self.clean(1)])
        #expect(report.passed && report.exitCode == 0)
        #expect(report.pairsCompleted == 3 && report.pairsFailed == 0 && report.pairsConnected == 3)
        #expect(report.total.framesSent == 1800 && report.total.framesReceived == 1800)
        #expect(report.streamSeconds == 60)
        #expect(report.throughputMBps == 1_800_000 / 60 / 1e6)
        #expect(report.recordings.stopped == 3 && report.recordings.bytes == 1_800_000)

        let object = try #require(try JSONSerialization.jsonObject(with: Data(report.json.utf8)) as? [String: Any])
        for key in ["version", "mode", "target", "passed", "exitCode", "interrupted", "startedAt", "wallSeconds", "config", "pairs",
                    "frames", "bytes", "streamSeconds", "throughputMBps", "latencyMs", "connectMs", "welcomeMs", "createMs",
                    "sendLagMs", "streams", "errors", "sessions", "recordings", "server"] {
            #expect(object[key] != nil, "JSON lacks \(key)")
        }
        let frames = try #require(object["frames"] as? [String: Int])
        #expect(frames["sent"] == 1800 && frames["received"] == 1800 && frames["lost"] == 0)
        let sessions = try #require(object["sessions"] as? [[String: Any]])
        #expect(sessions.map { $0["pair"] as? Int } == [0, 1, 2], "sessions in pair order")
        let latency = try #require(object["latencyMs"] as? [String: Any])
        #expect(latency["count"] as? Int == 1800)
        #expect(object["server"] is NSNull)
        #expect(object["target"] as? String == "https://127.0.0.1:8443")
        #expect(report.text.contains("result: OK"))
        #expect(report.text.contains("recordings: 3 stopped, 1800000 bytes"))
        #expect(!report.text.contains("short of CPU"))
    }

    @Test func framesWrittenLateAreFlaggedAsTheTestersOwnDelay() {
        var figures = Self.figures()
        for _ in 0..<100 { _ = figures.sendLag.record(50_000) }  // 50 ms late
        #expect(Self.report([Self.clean(0)], figures: figures).text.contains("written 50 ms or more after they were due"))
    }

    @Test func oneLostFrameFailsTheRun() {
        var lossy = Self.clean(1)
        lossy.camera.framesReceived -= 1
        lossy.camera.lost = 1
        let report = Self.report([Self.clean(0), lossy])
        #expect(!report.passed && report.exitCode == 1)
        #expect(report.text.contains("result: FAILED"))
    }

    @Test func aFailedPairFailsTheRunAndIsListed() {
        var failed = Self.clean(1, frames: 10)
        failed.state = .failed
        failed.failure = .client(.stalled, "no camera frame arrived for 10 s")
        let report = Self.report([Self.clean(0), failed])
        #expect(!report.passed && report.exitCode == 1)
        #expect(report.text.contains("pair 1 (11111111111111111111111111111111): client stalled: no camera frame arrived for 10 s"))
    }

    @Test func nothingConnectingIsExit2AndARefusedTokenExit3() {
        func never(_ failure: LoadFailure) -> LoadPairOutcome {
            LoadPairOutcome(index: 0, sessionID: nil, state: .failed, failure: failure, connected: false, camera: .init(), screen: nil, recording: nil)
        }
        #expect(Self.report([never(.client(.connectFailed, "refused"))]).exitCode == 2)
        #expect(Self.report([never(.client(.tlsFailed, "bad certificate"))]).exitCode == 2)
        #expect(Self.report([never(.relay("unauthorized", "expired"))]).exitCode == 3)
        #expect(Self.report([never(.client(.timeout, "slow"))]).exitCode == 1)
    }

    /// Pairs a stuck worker never reported do not vanish: the run does not pass, and says so.
    @Test func pairsWithoutAnOutcomeFailTheRun() {
        let report = Self.report([Self.clean(0), Self.clean(1)])
        #expect(report.pairsUnaccounted == Self.plan.pairs - 2)
        #expect(!report.passed && report.exitCode == 1)
        #expect(report.text.contains("never finished"))
    }

    @Test func onlyCancelledPairsDoNotPass() {
        var cancelled = Self.clean(0, frames: 0)
        cancelled.state = .cancelled
        cancelled.recording = nil
        #expect(!Self.report([cancelled]).passed)
    }

    @Test func slowViewersAreTotalledApartAndTheirSkipsDoNotFailTheRunButABadResumeDoes() throws {
        var plan = Self.plan
        plan.slowViewers = LoadPlan.SlowDownloads(count: 1, bitsPerSecond: 1_000_000)
        var slow = Self.clean(1)
        slow.camera.slowViewer = true
        slow.camera.framesReceived = 200
        slow.camera.payloadBytesReceived = 200_000
        slow.camera.skippedByRelay = 400
        slow.camera.catchUpsAsked = 9
        var figures = Self.figures()
        for i in 1...200 { _ = figures.slowViewerLatency.record(UInt64(i) * 20_000) }  // up to 4 s
        func report(_ outcomes: [LoadPairOutcome]) -> LoadReport {
            LoadReport(plan: plan, outcomes: outcomes, figures: figures, wallSeconds: 71.5, interrupted: false, server: nil,
                       startedAt: Date(timeIntervalSince1970: 1_800_000_000))
        }
        let passing = report([Self.clean(0), slow, Self.clean(2)])
        #expect(passing.passed)
        let totals = try #require(passing.slowViewers)
        #expect(totals.viewers == 1 && totals.framesSent == 600 && totals.framesReceived == 200 && totals.skippedByRelay == 400)
        #expect(totals.catchUpsAsked == 9 && abs(totals.latency.max - 4_000) < 4 && totals.bitsPerSecond == 1_000_000)
        #expect(passing.streams[0].latency.count == 1800, "the others' latency only")
        #expect(passing.text.contains("slow viewers: 1 practitioner(s) reading the camera at 1 Mbit/s: 200 of 600 frames received, 400 skipped"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(passing.json.utf8)) as? [String: Any])
        let json = try #require(object["slowViewers"] as? [String: Any])
        #expect(json["viewers"] as? Int == 1 && json["skippedByRelay"] as? Int == 400 && json["catchUpsAsked"] as? Int == 9)
        #expect((json["latencyMs"] as? [String: Any])?["count"] as? Int == 200)

        slow.camera.badResumes = 1
        let failing = report([Self.clean(0), slow, Self.clean(2)])
        #expect(!failing.passed && failing.text.contains("resumed elsewhere than a start point after a skip: 1 frame(s)"))
        #expect(Self.report([Self.clean(0)]).slowViewers == nil)
        let plain = try #require(try JSONSerialization.jsonObject(with: Data(Self.report([Self.clean(0)]).json.utf8)) as? [String: Any])
        #expect(plain["slowViewers"] is NSNull && plain["slowFamilies"] is NSNull)
    }

    @Test func slowFamiliesAreTotalledApartFromTheScreenAndTheSlowViewers() throws {
        var plan = Self.plan
        plan.screenBitsPerSecond = 1_000_000
        plan.slowFamilies = LoadPlan.SlowDownloads(count: 1, bitsPerSecond: 300_000)
        let outcomes = (0..<3).map { i in
            var outcome = Self.clean(i)
            var screen = outcome.camera
            if i == 1 {
                screen.slowViewer = true
                screen.framesReceived = 250
                screen.skippedByRelay = 350
                screen.catchUpsAsked = 7
            }
            outcome.screen = screen
            return outcome
        }
        var figures = Self.figures()
        for i in 1...1200 { _ = figures.screenLatency.record(UInt64(i)) }
        for i in 1...250 { _ = figures.slowFamilyLatency.record(UInt64(i) * 16_000) }  // up to 4 s
        let report = LoadReport(plan: plan, outcomes: outcomes, figures: figures, wallSeconds: 71.5, interrupted: false, server: nil,
                                startedAt: Date(timeIntervalSince1970: 1_800_000_000))
        #expect(report.passed && report.slowViewers == nil)
        let totals = try #require(report.slowFamilies)
        #expect(totals.viewers == 1 && totals.framesSent == 600 && totals.framesReceived == 250 && totals.skippedByRelay == 350)
        #expect(totals.catchUpsAsked == 7 && abs(totals.latency.max - 4_000) < 4 && totals.bitsPerSecond == 300_000)
        #expect(report.streams.map(\.latency.count) == [1800, 1200], "the full-speed families' screen latency only")
        #expect(report.streams[1].skippedByRelay == 350 && report.streams[1].lost == 0)
        #expect(report.text.contains("slow families: 1 family(ies) reading the screen at 0.3 Mbit/s: 250 of 600 frames received, 350 skipped"))
        #expect(!report.text.contains("slow viewers"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(report.json.utf8)) as? [String: Any])
        let json = try #require(object["slowFamilies"] as? [String: Any])
        #expect(json["viewers"] as? Int == 1 && json["skippedByRelay"] as? Int == 350 && json["catchUpsAsked"] as? Int == 7)
        #expect((json["latencyMs"] as? [String: Any])?["count"] as? Int == 250 && object["slowViewers"] is NSNull)
        let config = try #require(object["config"] as? [String: Any])
        #expect(config["slowFamilies"] as? Int == 1 && config["slowFamilyBitrate"] as? Double == 300_000 && config["slowViewers"] as? Int == 0)
    }
}
