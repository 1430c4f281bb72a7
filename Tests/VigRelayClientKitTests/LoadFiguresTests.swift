import Histogram
import Testing
import VigRelayCore
@testable import VigRelayClientKit

/// Each worker records into its own `LoadStats`; the report merges them.
struct LoadFiguresTests {
    @Test func workersRecordApartAndMergeIntoOneSetOfFigures() {
        let a = LoadStats()
        let b = LoadStats()
        for i in 1...100 { a.frameReceived(.camera, payloadBytes: 1000, at: 5_000 + UInt64(i), latency: FrameLatency(fromDue: UInt64(i) * 1000, fromWrite: UInt64(i))) }
        for i in 1...100 { b.frameReceived(.camera, payloadBytes: 10, at: 9_000, latency: FrameLatency(fromDue: UInt64(100 + i) * 1000, fromWrite: UInt64(100 + i))) }
        b.frameReceived(.screen, payloadBytes: 7, at: 9_500, latency: FrameLatency(fromDue: 42, fromWrite: 37, sendLag: 5))
        b.frameReceived(.camera, payloadBytes: 3, at: 9_600, latency: nil)  // corrupt: no latency
        a.frameSent(payloadBytes: 1000, at: 4_000)
        b.frameSent(payloadBytes: 10, at: 3_000)
        a.timed(\.connect, micros: 2000)
        b.timed(\.connect, micros: 4000)
        a.count(.relay("replaced", "x"))
        b.count(.relay("replaced", "y"))
        b.count(.client(.stalled, "z"))
        a.streaming(3)
        b.streaming(2)
        b.streaming(-1)

        let total = LoadFigures.merged([a.snapshot(), b.snapshot()])
        #expect(total.framesReceived == 202)
        #expect(total.payloadBytesReceived == 100 * 1000 + 100 * 10 + 7 + 3)
        #expect(total.framesSent == 2 && total.payloadBytesSent == 1010)
        #expect(total.cameraLatency.totalCount == 200)
        #expect(total.screenLatency.totalCount == 1)
        #expect(total.writeLatency.totalCount == 201, "both streams, from the write")
        #expect(abs(LatencySummary(microseconds: total.writeLatency).max - 0.2) < 0.001)  // ms
        let camera = LatencySummary(microseconds: total.cameraLatency)
        #expect(abs(camera.p50 - 100) < 0.2)  // ms: the 100th of 1...200 ms
        #expect(abs(camera.p99 - 198) < 0.3)
        #expect(abs(camera.max - 200) < 0.3)
        #expect(camera.count == 200)
        #expect(total.connect.totalCount == 2 && total.sendLag.totalCount == 1)
        #expect(total.relayErrors == ["replaced": 2] && total.clientErrors == ["stalled": 1])
        #expect(total.errorCount == 3)
        #expect(total.pairsStreaming == 4)
        #expect(total.firstSendNanoseconds == 3_000)
        #expect(total.lastArrivalNanoseconds == 9_600)
    }

    @Test func mergingNothingGivesEmptyFigures() {
        let none = LoadFigures.merged([])
        #expect(none.framesReceived == 0 && none.firstSendNanoseconds == 0 && none.errorCount == 0)
        #expect(LatencySummary(microseconds: none.cameraLatency) == LatencySummary(p50: 0, p90: 0, p99: 0, p999: 0, max: 0, count: 0))
    }

    @Test func statsTakeRecordsFromManyThreadsAtOnce() async {
        let stats = LoadStats()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for i in 0..<1000 { stats.frameReceived(.camera, payloadBytes: 1, at: UInt64(i), latency: FrameLatency(fromDue: 1, fromWrite: 1)) }
                }
            }
        }
        let figures = stats.snapshot()
        #expect(figures.framesReceived == 8000 && figures.cameraLatency.totalCount == 8000)
    }
}
