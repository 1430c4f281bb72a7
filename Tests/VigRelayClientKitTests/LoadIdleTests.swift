import Foundation
import Testing
import VigRelayCore
@testable import VigRelayClientKit

/// `load --idle`: sessions created first, then every connection timed to its welcome.
struct LoadIdleTests {
    static let plan: LoadPlan = {
        var plan = LoadPlan(target: .relay(ServerEndpoint(host: "127.0.0.1", port: 8443), token: "t"), trust: .insecure, pairs: 2,
                            bitsPerSecond: 2_500_000, framesPerSecond: 10, frameSize: nil, durationSeconds: 10, rampSeconds: 0,
                            record: false, screenBitsPerSecond: 0, workers: 2, serverPID: nil)
        plan.idle = true
        return plan
    }()

    static func held(_ index: Int) -> LoadPairOutcome {
        LoadPairOutcome(index: index, sessionID: String(repeating: "\(index)", count: 32), state: .completed, failure: nil,
                        connected: true, camera: .init(), screen: nil, recording: nil)
    }

    @Test func theLastWelcomeOfAnyWorkerIsWhenEveryConnectionWasUp() {
        let a = LoadStats()
        let b = LoadStats()
        a.welcomed(at: 5_000_000_000, micros: 1000)
        a.welcomed(at: 6_500_000_000, micros: 2000)
        b.welcomed(at: 6_000_000_000, micros: 3000)
        b.welcomed(at: 5_500_000_000, micros: 4000)
        let figures = LoadFigures.merged([a.snapshot(), b.snapshot()])
        #expect(figures.lastWelcomeNanoseconds == 6_500_000_000)
        #expect(figures.welcome.totalCount == 4)

        let idle = LoadIdleFigures(sessionsCreated: 2, createSeconds: 0.25, pairs: 2, connectStart: 4_000_000_000, figures: figures,
                                   rssBeforeSessionsBytes: 1 << 20)
        #expect(idle.allWelcomedSeconds == 2.5)
        #expect(idle.connectionsWelcomed == 4 && idle.connectionsRequested == 4)
    }

    @Test func aMissingWelcomeLeavesTheTimeToConnectAllOpen() {
        let stats = LoadStats()
        for at in [5, 6, 7] as [UInt64] { stats.welcomed(at: at * 1_000_000_000, micros: 1000) }
        let idle = LoadIdleFigures(sessionsCreated: 2, createSeconds: 1, pairs: 2, connectStart: 4_000_000_000, figures: stats.snapshot(),
                                   rssBeforeSessionsBytes: nil)
        #expect(idle.allWelcomedSeconds == nil && idle.connectionsWelcomed == 3)
    }

    @Test func theReportSaysHowLongCreatingAndConnectingTook() throws {
        let idle = LoadIdleFigures(sessionsCreated: 2, createSeconds: 0.5, connectionsWelcomed: 4, connectionsRequested: 4,
                                   allWelcomedSeconds: 1.2345, rssBeforeSessionsBytes: 30_000_000)
        let report = LoadReport(plan: Self.plan, outcomes: [Self.held(0), Self.held(1)], figures: LoadFigures(), wallSeconds: 11,
                                interrupted: false, server: nil, startedAt: Date(timeIntervalSince1970: 1_800_000_000), idle: idle)
        #expect(report.passed && report.exitCode == 0, "idle pairs that held and said bye pass without frames")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(report.json.utf8)) as? [String: Any])
        let json = try #require(object["idle"] as? [String: Any])
        #expect(json["allWelcomedSeconds"] as? Double == 1.235)
        #expect(json["createSeconds"] as? Double == 0.5)
        #expect(json["sessionsCreated"] as? Int == 2 && json["connectionsWelcomed"] as? Int == 4)
        #expect(json["rssBeforeSessionsBytes"] as? Int == 30_000_000)
        #expect((object["config"] as? [String: Any])?["idle"] as? Bool == true)
        #expect(report.text.contains("idle: 2 sessions created in 0.50 s; all 4 connections connected (welcome) in 1.23 s"))
        #expect(report.text.contains("idle connections, no media"))

        var streaming = Self.plan
        streaming.idle = false
        let plain = LoadReport(plan: streaming, outcomes: [Self.held(0)], figures: LoadFigures(), wallSeconds: 1, interrupted: false,
                               server: nil, startedAt: Date())
        let plainObject = try #require(try JSONSerialization.jsonObject(with: Data(plain.json.utf8)) as? [String: Any])
        #expect(plainObject["idle"] is NSNull)
    }

    @Test func theHoldStartsWhenEveryPairHasSettledOrAtTheConnectLimit() {
        let limit: UInt64 = 100_000_000_000
        #expect(IdleHold.releaseTime(now: 5_000_000_000, settled: 9, pairs: 10, connectDeadline: limit, holdNanoseconds: 3_000_000_000) == nil)
        #expect(IdleHold.releaseTime(now: 5_000_000_000, settled: 10, pairs: 10, connectDeadline: limit, holdNanoseconds: 3_000_000_000)
                == 8_000_000_000)
        #expect(IdleHold.releaseTime(now: limit, settled: 3, pairs: 10, connectDeadline: limit, holdNanoseconds: 1) == limit + 1)

        var plan = Self.plan
        plan.rampSeconds = 2
        plan.durationSeconds = 4
        let hold = IdleHold(t0: 1_000_000_000, plan: plan)
        #expect(hold.releaseIfDue(now: 2_000_000_000, settled: 1) == nil && hold.end.current == nil)
        #expect(hold.releaseIfDue(now: 3_000_000_000, settled: 2) == 7_000_000_000 && hold.end.current == 7_000_000_000)
        #expect(hold.releaseIfDue(now: 4_000_000_000, settled: 2) == nil && hold.end.current == 7_000_000_000, "released once")
        #expect(IdleHold(t0: 0, plan: plan).releaseIfDue(now: 122_000_000_000, settled: 0) == 126_000_000_000,
                "some pairs never connect: the hold starts 120 s after the ramp")
    }

    @Test func theProgressLineCountsIdlePairsAsConnected() {
        let line = LoadConsole.line(elapsedSeconds: 3, streaming: 2400, pairs: 2500, megabytesPerSecond: 0, p99Milliseconds: 0, errors: 0,
                                    activity: "connected")
        #expect(line == "load     3 s: 2400/2500 pairs connected, 0.00 MB/s, p99 0.00 ms, errors 0")
    }

    @Test func sessionCreationAnswersBecomeSessionsOrStableCodes() throws {
        let created = #"{"sessionId":"\#(String(repeating: "a", count: 32))","inviteToken":"i.t","joinUrl":"https://h/join#x","expiresAt":"2030-01-01T00:00:00Z"}"#
        let ok = SessionCreator.loadOutcome(.success(HTTPReply(status: 201, body: Array(created.utf8))), waitedNanoseconds: 1_000_000)
        #expect(try ok.get().sessionID == String(repeating: "a", count: 32))

        func failure(_ result: Result<HTTPReply, ClientError>, waited: UInt64 = 1_000_000) -> LoadFailure? {
            if case .failure(let failure) = SessionCreator.loadOutcome(result, waitedNanoseconds: waited) { return failure }
            return nil
        }
        let refused = failure(.success(HTTPReply(status: 401, body: Array(#"{"type":"error","code":"unauthorized","message":"expired"}"#.utf8))))
        #expect(refused?.source == .relay && refused?.code == "unauthorized")
        #expect(failure(.success(HTTPReply(status: 503, body: Array("busy".utf8))))?.code == "create_failed")
        #expect(failure(.success(HTTPReply(status: 201, body: Array("{}".utf8))))?.code == "create_failed")
        let unreachable = ClientError.unreachable(server: "https://h:1", detail: "closed")
        #expect(failure(.failure(unreachable))?.code == "connect_failed")
        #expect(failure(.failure(unreachable), waited: 10_000_000_000)?.code == "timeout", "lws gives up after 10 s: that is a timeout")
        #expect(failure(.failure(.untrustedCertificate(server: "https://h:1")))?.code == "tls_failed")
    }
}
