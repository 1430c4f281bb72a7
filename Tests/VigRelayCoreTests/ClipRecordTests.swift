import Foundation
import Testing
import VigRelayCore

/// A clip's stored record gives back the plan it was made from (ClipRecord.swift, ClipPlan+Stored.swift).
struct ClipRecordTests {
    func plan() throws -> ClipPlan {
        let bytes = try ClipPlanFixtureTests.fixture("testsrc-4s.webm")
        let (part, durationMs) = try ClipPlanFixtureTests.index(bytes, mediaEndAtLastBlock: true)
        return try ClipPlan(part: part, fromMs: 1200, toMs: 2600, durationMs: durationMs)
    }

    func record(_ plan: ClipPlan) -> ClipRecord {
        ClipRecord(clipId: "8899aabbccddeeff", request: ClipRequest(sessionID: Fixture.sessionID, recordingID: "00112233445566aa",
                                                                    fromMs: 1200, toMs: 2600, note: "smile"),
                   part: 1, plan: plan, createdAt: Fixture.t0)
    }

    @Test func theStoredPlanIsThePlan() throws {
        let plan = try plan()
        let record = record(plan)
        #expect(record.plan == plan)
        #expect((record.actualFromMs, record.actualToMs, record.bytes) == (1000, 3000, plan.byteCount))
        let bytes = try ClipPlanFixtureTests.fixture("testsrc-4s.webm")
        #expect(record.plan?.assemble(from: bytes) == plan.assemble(from: bytes))

        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let decoded = try decoder.decode(ClipRecord.self, from: encoder.encode(record))
        #expect(decoded == record && decoded.plan == plan)
    }

    @Test func aDamagedRecordHasNoPlan() throws {
        var reversed = record(try plan())
        reversed.ranges[1] = [10804, 3794]
        #expect(reversed.plan == nil)
        var wrongLength = record(try plan())
        wrongLength.bytes += 1
        #expect(wrongLength.plan == nil)
        var patchOutside = record(try plan())
        patchOutside.patches[0].offset = patchOutside.bytes
        #expect(patchOutside.plan == nil)
        var negative = record(try plan())
        negative.ranges[0] = [-1, 409]
        #expect(negative.plan == nil)
        var triple = record(try plan())
        triple.ranges[0] = [0, 1, 2]
        #expect(triple.plan == nil)
    }

    @Test func theSummaryHasTheDocumentedFields() throws {
        let summary = record(try plan()).summary
        #expect(Set(summary.keys) == ["clipId", "recordingId", "fromMs", "toMs", "actualFromMs", "actualToMs", "bytes", "note"])
        #expect(summary["note"] as? String == "smile")
    }
}
