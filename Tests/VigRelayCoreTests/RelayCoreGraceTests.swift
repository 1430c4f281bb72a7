import Foundation
import Testing
import VigRelayCore

/// A side that drops during a recording: the recording waits for it for the reconnect grace, a
/// family back in time continues it as a new part, and one that is not stops it. Also consent and
/// recording ids restored after a restart. Driven on the core alone with a manual clock.
struct RelayCoreGraceTests {
    static let grace = 30

    func harness(joinFamily: Bool = true) -> RelayHarness {
        var limits = RelayLimits()
        limits.reconnectGraceSeconds = Self.grace
        let h = RelayHarness(limits: limits)
        h.join(1, as: .practitioner)
        if joinFamily { h.join(2, as: .family) }
        return h
    }

    func commands(_ actions: [RelayAction]) -> [RecordingCommand] {
        actions.compactMap { if case .recording(let c) = $0 { c } else { nil } }
    }

    func chunks(_ actions: [RelayAction]) -> [RecordingChunk] {
        commands(actions).compactMap { if case .append(_, let c) = $0 { c } else { nil } }
    }

    func frame(_ flags: MediaFrameFlags, _ sequence: UInt32, _ payload: [UInt8]) -> [UInt8] {
        mediaBytes(stream: MediaStream.camera.rawValue, flags: flags, sequence: sequence, payload: payload)
    }

    /// Consent from the family (conn 2), then a start from the practitioner (conn 1); the recording id.
    func startRecording(_ h: RelayHarness) throws -> String {
        _ = h.core.receivedText(2, utf8(#"{"type":"consent","recording":true}"#))
        let start = h.core.receivedText(1, utf8(#"{"type":"record","action":"start"}"#))
        return try #require(start.controls(to: 1).first { $0["state"] as? String == "started" }?["recordingId"] as? String)
    }

    func advance(_ h: RelayHarness, seconds: TimeInterval) { h.clock.now = h.clock.now.addingTimeInterval(seconds) }

    @Test func familyBackWithinTheGraceContinuesTheRecordingAndItsNewStreamIsANewPart() throws {
        let h = harness()
        let rid = try startRecording(h)
        #expect(chunks(h.core.receivedBinary(2, frame(.initSegment, 0, [1, 1]))).map(\.newPart) == [true])
        #expect(chunks(h.core.receivedBinary(2, frame([], 1, [2]))).map(\.newPart) == [false])

        let left = h.core.closed(2)
        #expect(left.controls(to: 1).first?["event"] as? String == "left", "the practitioner is told at once")
        #expect(commands(left) == [.away(sessionID: Fixture.sessionID, recordingID: rid, role: .family)])
        advance(h, seconds: Double(Self.grace) - 0.5)
        #expect(h.core.expireGracePeriods().isEmpty, "within the grace nothing stops")
        #expect(h.core.receivedText(1, utf8(#"{"type":"record","action":"start"}"#)).controls(to: 1).first?["code"] as? String == "already_recording")

        _ = h.core.opened(4, path: RelayHarness.path())
        let rejoined = h.core.receivedText(4, RelayHarness.hello(RelayHarness.token(for: .family)))
        #expect(rejoined.controls(to: 1).first?["event"] as? String == "joined")
        let toFamily = rejoined.controls(to: 4)
        #expect(toFamily.map { $0["type"] as? String } == ["welcome", "consent", "recording"])
        #expect(toFamily[1]["recording"] as? Bool == true, "the family's page is told its consent stands")
        #expect(toFamily.last?["state"] as? String == "running" && toFamily.last?["recordingId"] as? String == rid,
                "the family is told its camera is being recorded")
        #expect(commands(rejoined) == [.back(sessionID: Fixture.sessionID, recordingID: rid, role: .family, awayMs: Int64(Self.grace) * 1000 - 500)])

        let midStream = h.core.receivedBinary(4, frame([], 7, [7, 7]))
        #expect(chunks(midStream).isEmpty, "a stream that does not start with an init segment is not appended to the old part")
        #expect(midStream.media(to: 1).count == 1, "but it is relayed live")
        let restarted = chunks(h.core.receivedBinary(4, frame(.initSegment, 0, [5, 5])))
        #expect(restarted.map(\.recordingID) == [rid], "same recording id")
        #expect(restarted.map(\.newPart) == [true], "a new init segment opens a new part")
        #expect(restarted.first?.bytes == [5, 5])
        #expect(chunks(h.core.receivedBinary(4, frame([], 1, [6]))).map(\.newPart) == [false])

        advance(h, seconds: 10 * Double(Self.grace))
        #expect(h.core.expireGracePeriods().isEmpty, "the family came back: no grace runs")
        let stop = h.core.receivedText(1, utf8(#"{"type":"record","action":"stop"}"#))
        #expect(commands(stop) == [.stop(sessionID: Fixture.sessionID, recordingID: rid, reason: .requested)])
    }

    @Test func familyNotBackWithinTheGraceStopsTheRecordingAsAStopWould() throws {
        let h = harness()
        let rid = try startRecording(h)
        _ = h.core.receivedBinary(2, frame(.initSegment, 0, [1]))
        _ = h.core.closed(2)
        advance(h, seconds: Double(Self.grace) - 0.001)
        #expect(h.core.expireGracePeriods().isEmpty)
        advance(h, seconds: 0.001)
        let expired = h.core.expireGracePeriods()
        #expect(commands(expired) == [.stop(sessionID: Fixture.sessionID, recordingID: rid, reason: .graceExpired(away: .family))])
        #expect(expired.controls(to: 1).isEmpty, "stopped is sent only once the writer has flushed")
        #expect(h.core.expireGracePeriods().isEmpty, "stopped once")

        let stopped = h.core.recordingStopped(sessionID: Fixture.sessionID, recordingID: rid, bytes: 1, frames: 1, durationMs: 0)
        let notice = try #require(stopped.controls(to: 1).first)
        #expect(notice["state"] as? String == "stopped" && notice["recordingId"] as? String == rid)
        #expect(notice["reason"] as? String == "grace expired")
        #expect(stopped.recipients == [1], "only the practitioner is still connected")
        let again = h.core.recordingStopped(sessionID: Fixture.sessionID, recordingID: rid, bytes: 1, frames: 1, durationMs: 0)
        #expect(again.controls(to: 1).first?["reason"] == nil, "the reason goes with its one stop")

        h.join(3, as: .family)
        #expect(chunks(h.core.receivedBinary(3, frame(.initSegment, 0, [9]))).isEmpty, "nothing records after the stop")
        let mark = h.core.receivedText(1, utf8("{\"type\":\"mark\",\"recordingId\":\"\(rid)\",\"atMs\":10}"))
        let forWriter: Bool = if case .mark(_, rid, _, 10, "", nil)? = commands(mark).first { true } else { false }
        #expect(forWriter && mark.controls(to: 1).isEmpty, "a recording stopped by the grace can be marked (answered once saved)")
        let restart = h.core.receivedText(1, utf8(#"{"type":"record","action":"start"}"#))
        #expect(restart.controls(to: 1).first?["state"] as? String == "started", "consent still holds: a new recording may start")
    }

    @Test func practitionerAwayLeavesTheRecordingRunningUntilTheGraceEnds() throws {
        let h = harness()
        let rid = try startRecording(h)
        _ = h.core.receivedBinary(2, frame(.initSegment, 0, [1]))
        let left = h.core.closed(1)
        #expect(left.controls(to: 2).first?["event"] as? String == "left")
        #expect(commands(left) == [.away(sessionID: Fixture.sessionID, recordingID: rid, role: .practitioner)])
        #expect(chunks(h.core.receivedBinary(2, frame([], 1, [2]))).map(\.bytes) == [[2]], "the camera is still recorded")

        advance(h, seconds: 10)
        _ = h.core.opened(3, path: RelayHarness.path())
        let back = h.core.receivedText(3, RelayHarness.hello(RelayHarness.token(for: .practitioner)))
        #expect(back.controls(to: 3).last?["state"] as? String == "running")
        #expect(commands(back) == [.back(sessionID: Fixture.sessionID, recordingID: rid, role: .practitioner, awayMs: 10_000)])
        #expect(chunks(h.core.receivedBinary(2, frame([], 2, [3]))).map(\.newPart) == [false], "the family's stream never broke: same part")

        _ = h.core.closed(3)
        advance(h, seconds: Double(Self.grace))
        #expect(commands(h.core.expireGracePeriods()) == [.stop(sessionID: Fixture.sessionID, recordingID: rid, reason: .graceExpired(away: .practitioner))])
        let stopped = h.core.recordingStopped(sessionID: Fixture.sessionID, recordingID: rid, bytes: 3, frames: 3, durationMs: 0)
        #expect(stopped.controls(to: 2).first?["reason"] as? String == "grace expired", "the family is told")
    }

    @Test func aRecordingStartedBeforeTheFamilyJoinsWaitsForItForTheGrace() throws {
        let h = harness()
        _ = h.core.receivedText(2, utf8(#"{"type":"consent","recording":true}"#))
        _ = h.core.closed(2)
        let start = h.core.receivedText(1, utf8(#"{"type":"record","action":"start"}"#))
        let rid = try #require(start.controls(to: 1).first?["recordingId"] as? String)
        #expect(commands(start) == [.start(sessionID: Fixture.sessionID, recordingID: rid),
                                    .away(sessionID: Fixture.sessionID, recordingID: rid, role: .family)])
        advance(h, seconds: Double(Self.grace))
        #expect(commands(h.core.expireGracePeriods()) == [.stop(sessionID: Fixture.sessionID, recordingID: rid, reason: .graceExpired(away: .family))])
    }

    @Test func aStopWhileTheFamilyIsAwayEndsTheWait() throws {
        let h = harness()
        let rid = try startRecording(h)
        _ = h.core.closed(2)
        let stop = h.core.receivedText(1, utf8(#"{"type":"record","action":"stop"}"#))
        #expect(commands(stop) == [.stop(sessionID: Fixture.sessionID, recordingID: rid)])
        advance(h, seconds: 2 * Double(Self.grace))
        #expect(h.core.expireGracePeriods().isEmpty)
        h.join(3, as: .family)
        #expect(commands(h.core.receivedText(1, utf8(#"{"type":"record","action":"stop"}"#))).isEmpty)
    }

    @Test func aNewerFamilyConnectionStartsANewStreamWithoutAPause() throws {
        let h = harness()
        let rid = try startRecording(h)
        _ = h.core.receivedBinary(2, frame(.initSegment, 0, [1]))
        _ = h.core.receivedBinary(2, frame([], 1, [2]))
        let replaced = h.join(3, as: .family)
        #expect(replaced.closeCodes(of: 2) == [RelayCloseCode.replaced])
        #expect(commands(replaced).isEmpty, "no side was away")
        #expect(replaced.controls(to: 3).last?["recordingId"] as? String == rid)
        #expect(chunks(h.core.receivedBinary(3, frame([], 0, [3]))).isEmpty, "a mid-stream start is not appended")
        #expect(chunks(h.core.receivedBinary(3, frame(.initSegment, 0, [4]))).map(\.newPart) == [true])
    }

    @Test func shutdownIsNotAnAbsence() throws {
        let h = harness()
        _ = try startRecording(h)
        let actions = h.core.shutdown()
        #expect(commands(actions).isEmpty, "the writer finishes every recording at shutdown; nobody is awaited")
    }

    @Test func restoredConsentAndRecordingsAllowRecordingAndMarksAfterARestart() throws {
        let h = harness(joinFamily: false)
        let old = "00112233445566aa"
        h.core.restoreRecording(sessionID: Fixture.sessionID, consent: true, childAgreed: true, recordingIDs: [old])
        h.core.restoreRecording(sessionID: Fixture.unknownSessionID, consent: true, childAgreed: false, recordingIDs: [])
        h.join(2, as: .family)
        let mark = h.core.receivedText(1, utf8("{\"type\":\"mark\",\"recordingId\":\"\(old)\",\"atMs\":1500,\"note\":\"smile\"}"))
        guard case .mark(Fixture.sessionID, old, _, 1500, "smile", nil)? = commands(mark).first, commands(mark).count == 1 else {
            Issue.record("the mark gave \(commands(mark)), not one mark for the writer")
            return
        }
        let other = h.core.receivedText(1, utf8(#"{"type":"mark","recordingId":"8899aabbccddeeff","atMs":1}"#))
        #expect(other.controls(to: 1).first?["code"] as? String == "recording_not_found")
        let start = h.core.receivedText(1, utf8(#"{"type":"record","action":"start"}"#))
        #expect(start.controls(to: 1).first?["state"] as? String == "started", "no new consent needed")
    }

    @Test func restoredWithdrawalNeedsNewConsent() {
        let h = harness()
        h.core.restoreRecording(sessionID: Fixture.sessionID, consent: false, childAgreed: true, recordingIDs: [])
        #expect(h.core.receivedText(1, utf8(#"{"type":"record","action":"start"}"#)).controls(to: 1).first?["code"] as? String == "consent_required")
        _ = h.core.receivedText(2, utf8(#"{"type":"consent","recording":true}"#))
        #expect(h.core.receivedText(1, utf8(#"{"type":"record","action":"start"}"#)).controls(to: 1).first?["state"] as? String == "started")
    }

    @Test func withdrawalDeletesSoMarksOnThoseRecordingsAreRefused() throws {
        let h = harness()
        let rid = try startRecording(h)
        _ = h.core.receivedText(1, utf8(#"{"type":"record","action":"stop"}"#))
        h.core.restoreRecording(sessionID: Fixture.sessionID, consent: true, childAgreed: false, recordingIDs: ["00112233445566aa"])
        _ = h.core.receivedText(2, utf8(#"{"type":"consent","recording":false}"#))
        for id in [rid, "00112233445566aa"] {
            let mark = h.core.receivedText(1, utf8("{\"type\":\"mark\",\"recordingId\":\"\(id)\",\"atMs\":1}"))
            #expect(mark.controls(to: 1).first?["code"] as? String == "recording_not_found")
        }
    }
}
