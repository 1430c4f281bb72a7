import Testing
import VigRelayCore

/// Consent, record start/stop and marks, driven on the core alone.
struct RelayCoreRecordingTests {
    func joined() -> RelayHarness {
        let h = RelayHarness()
        h.join(1, as: .practitioner)
        h.join(2, as: .family)
        return h
    }

    func commands(_ actions: [RelayAction]) -> [RecordingCommand] {
        actions.compactMap { if case .recording(let c) = $0 { c } else { nil } }
    }

    @Test func recordingNeedsTheFamilysConsent() {
        let h = joined()
        let refused = h.core.receivedText(1, utf8(#"{"type":"record","action":"start","id":"r"}"#))
        #expect(refused.controls(to: 1).first?["code"] as? String == "consent_required")
        #expect(refused.controls(to: 1).first?["id"] as? String == "r")
        #expect(commands(refused).isEmpty)
    }

    /// Below `--min-free-space` no recording starts (the practitioner is told what to do, nothing
    /// goes to the writer); a recording running when the space fell goes on; once the space is back
    /// a recording starts again. Each crossing is reported once (the server logs it once) and told
    /// to the practitioners joined, and a practitioner joining while it is low hears it after welcome.
    @Test func recordingsWaitForDiskSpace() {
        var limits = RelayLimits()
        limits.minFreeSpaceBytes = 1_000
        let h = RelayHarness(limits: limits)
        h.join(1, as: .practitioner)
        h.join(2, as: .family)
        _ = h.core.receivedText(2, utf8(#"{"type":"consent","recording":true}"#))
        let start = utf8(#"{"type":"record","action":"start","id":"s"}"#), stop = utf8(#"{"type":"record","action":"stop"}"#)
        func told(_ actions: [RelayAction]?, _ conn: ConnectionID) -> [[String: Any]] {
            (actions ?? []).controls(to: conn).filter { $0["type"] as? String == "recording_space" }
        }
        #expect(h.core.diskSpaceMeasured(availableBytes: 1_000) == nil, "at the reserve is not below it")
        #expect(commands(h.core.receivedText(1, start)).count == 1)
        let fell = h.core.diskSpaceMeasured(availableBytes: 999)
        #expect(told(fell, 1).map { $0["low"] as? Bool } == [true])
        #expect(told(fell, 2).isEmpty, "the family is not told")
        #expect(h.core.diskSpaceMeasured(availableBytes: 10) == nil, "still low: nothing new to tell or log")
        #expect(h.core.diskSpaceLow)
        #expect(h.core.runningRecordingCount == 1, "the running recording goes on")
        #expect(commands(h.core.receivedText(1, stop)).count == 1)
        let refused = h.core.receivedText(1, start)
        #expect(commands(refused).isEmpty)
        #expect(refused.controls(to: 2).isEmpty, "the family hears nothing of it")
        let error = refused.controls(to: 1).first
        #expect(error?["code"] as? String == "disk_space_low" && error?["id"] as? String == "s")
        #expect((error?["message"] as? String)?.contains("free space") == true)
        let rejoined = h.join(3, as: .practitioner)
        #expect(rejoined.controls(to: 3).first?["type"] as? String == "welcome")
        #expect(told(rejoined, 3).map { $0["low"] as? Bool } == [true], "told right after welcome")
        let back = h.core.diskSpaceMeasured(availableBytes: 5_000)
        #expect(told(back, 3).map { $0["low"] as? Bool } == [false])
        #expect(!h.core.diskSpaceLow)
        #expect(told(h.join(4, as: .practitioner), 4).isEmpty, "nothing to tell while there is space")
        #expect(commands(h.core.receivedText(4, start)).count == 1)
    }

    @Test func onlyTheFamilyConsentsAndOnlyThePractitionerRecords() {
        let h = joined()
        #expect(h.core.receivedText(1, utf8(#"{"type":"consent","recording":true}"#)).controls(to: 1).first?["code"] as? String == "not_allowed")
        _ = h.core.receivedText(2, utf8(#"{"type":"consent","recording":true}"#))
        #expect(h.core.receivedText(2, utf8(#"{"type":"record","action":"start"}"#)).controls(to: 2).first?["code"] as? String == "not_allowed")
    }

    /// The same consent again reaches both sides but costs the disk nothing: no second `consent`
    /// event, no second deletion. A changed answer is logged again.
    @Test func aRepeatedConsentIsNotLoggedAgain() {
        let h = joined()
        let give = #"{"type":"consent","recording":true}"#
        #expect(commands(h.core.receivedText(2, utf8(give))) == [.consent(sessionID: Fixture.sessionID, recording: true, childAgreed: false)])
        let again = h.core.receivedText(2, utf8(give))
        #expect(commands(again).isEmpty)
        #expect(again.controls(to: 1).first?["recording"] as? Bool == true && again.controls(to: 2).first?["recording"] as? Bool == true)
        let child = h.core.receivedText(2, utf8(#"{"type":"consent","recording":true,"childAgreed":true}"#))
        #expect(commands(child) == [.consent(sessionID: Fixture.sessionID, recording: true, childAgreed: true)])
        let withdraw = #"{"type":"consent","recording":false}"#
        #expect(commands(h.core.receivedText(2, utf8(withdraw))) == [.consent(sessionID: Fixture.sessionID, recording: false, childAgreed: false),
                                                                      .deleteAll(sessionID: Fixture.sessionID)])
        #expect(commands(h.core.receivedText(2, utf8(withdraw))).isEmpty)
    }

    /// A deletion that failed on disk is told to both sides, and the family's next withdrawal
    /// (not ignored as a repeat) runs it again.
    @Test func aFailedDeletionIsToldAndRetriedOnTheNextWithdrawal() {
        let h = joined()
        _ = h.core.receivedText(2, utf8(#"{"type":"consent","recording":true}"#))
        let withdraw = #"{"type":"consent","recording":false}"#
        #expect(commands(h.core.receivedText(2, utf8(withdraw))).contains(.deleteAll(sessionID: Fixture.sessionID)))
        let told = h.core.recordingsDeletionFailed(sessionID: Fixture.sessionID)
        for conn: ConnectionID in [1, 2] {
            #expect(told.controls(to: conn).first?["code"] as? String == "internal_error")
            #expect((told.controls(to: conn).first?["message"] as? String)?.contains("withdraw consent again") == true)
        }
        #expect(commands(h.core.receivedText(2, utf8(withdraw))) == [.consent(sessionID: Fixture.sessionID, recording: false, childAgreed: false),
                                                                      .deleteAll(sessionID: Fixture.sessionID)])
        #expect(commands(h.core.receivedText(2, utf8(withdraw))).isEmpty, "once it went through, a repeat is ignored again")
    }

    /// Every withdrawal gets an answer the family's page can wait for: a repeat with nothing left to
    /// delete is answered `deleted` at once (to the family only), but not while the first one's
    /// deletion is still on its way (the files may still be there): that answer comes from the writer.
    @Test func aRepeatedWithdrawalIsAnsweredOnlyOnceNothingIsLeft() {
        let h = joined()
        func deleted(_ actions: [RelayAction], to conn: ConnectionID) -> [[String: Any]] {
            actions.controls(to: conn).filter { $0["type"] as? String == "recording" && $0["state"] as? String == "deleted" }
        }
        _ = h.core.receivedText(2, utf8(#"{"type":"consent","recording":true}"#))
        let withdraw = #"{"type":"consent","recording":false}"#
        let first = h.core.receivedText(2, utf8(withdraw))
        #expect(commands(first).contains(.deleteAll(sessionID: Fixture.sessionID)))
        #expect(deleted(first, to: 2).isEmpty, "the writer has not deleted anything yet")
        let whileDeleting = h.core.receivedText(2, utf8(withdraw))
        #expect(commands(whileDeleting).isEmpty)
        #expect(deleted(whileDeleting, to: 2).isEmpty, "the first deletion is still on its way")
        let done = h.core.withdrawalDeleted(sessionID: Fixture.sessionID, recordingIDs: ["00000000000000aa"])
        #expect(deleted(done, to: 1).first?["recordingIds"] as? [String] == ["00000000000000aa"])
        #expect(deleted(done, to: 2).count == 1)
        let repeated = h.core.receivedText(2, utf8(withdraw))
        #expect(commands(repeated).isEmpty, "nothing logged or deleted again")
        #expect(deleted(repeated, to: 2).first?["recordingIds"] as? [String] == [])
        #expect(deleted(repeated, to: 1).isEmpty, "the practitioner already knows")
        #expect(repeated.controls(to: 1).first?["recording"] as? Bool == false, "but hears the consent notice")
        // A retention sweep's deletion is not the answer to a withdrawal: it does not count one off.
        _ = h.core.receivedText(2, utf8(#"{"type":"consent","recording":true}"#))
        _ = h.core.receivedText(2, utf8(withdraw))
        _ = h.core.recordingsDeleted(sessionID: Fixture.sessionID, recordingIDs: ["00000000000000bb"])
        #expect(deleted(h.core.receivedText(2, utf8(withdraw)), to: 2).isEmpty)
        _ = h.core.recordingsDeletionFailed(sessionID: Fixture.sessionID)
        #expect(commands(h.core.receivedText(2, utf8(withdraw))).contains(.deleteAll(sessionID: Fixture.sessionID)),
                "after a failure the next withdrawal deletes again")
    }

    /// A withdrawal over HTTP does what the family's `consent` false does; one made while that
    /// deletion is under way waits for its outcome; once nothing is left one is answered at once and
    /// costs the disk nothing; after a failed deletion one deletes again.
    @Test func aWithdrawalOverHTTPWithdrawsOnceAndWaitsOrAnswersAfter() throws {
        let h = joined()
        let sid = Fixture.sessionID
        _ = h.core.receivedText(2, utf8(#"{"type":"consent","recording":true,"childAgreed":true}"#))
        let rid = try #require(h.core.receivedText(1, utf8(#"{"type":"record","action":"start"}"#)).controls(to: 1).first?["recordingId"] as? String)
        let asked = h.core.withdrawalRequested(sessionID: sid, requester: 9)
        #expect(!asked.answerNow)
        #expect(commands(asked.actions) == [.consent(sessionID: sid, recording: false, childAgreed: false), .deleteAll(sessionID: sid)])
        for conn: ConnectionID in [1, 2] { #expect(asked.actions.controls(to: conn).first?["recording"] as? Bool == false) }
        #expect(h.core.activeRecordingID(sessionID: sid) == nil, "recording stopped")
        #expect(h.core.receivedText(1, utf8(#"{"type":"mark","recordingId":"\#(rid)","atMs":100}"#)).controls(to: 1).first?["code"] as? String
                == "recording_not_found", "a recording being deleted cannot be marked")
        #expect(h.core.receivedText(1, utf8(#"{"type":"record","action":"start"}"#)).controls(to: 1).first?["code"] as? String == "consent_required")

        let meanwhile = h.core.withdrawalRequested(sessionID: sid, requester: 10)
        #expect(!meanwhile.answerNow && meanwhile.actions.isEmpty, "waits for the deletion under way")
        _ = h.core.withdrawalDeleted(sessionID: sid, recordingIDs: [rid])
        #expect(h.core.takeWithdrawalWaiters(sessionID: sid) == [9, 10])
        #expect(h.core.takeWithdrawalWaiters(sessionID: sid).isEmpty, "each answered once")

        let settled = h.core.withdrawalRequested(sessionID: sid, requester: 11)
        #expect(settled.answerNow && settled.actions.isEmpty, "nothing left: answered at once, nothing logged or deleted")
        #expect(h.core.takeWithdrawalWaiters(sessionID: sid).isEmpty)

        _ = h.core.receivedText(2, utf8(#"{"type":"consent","recording":false}"#))  // already withdrawn: passed on only
        _ = h.core.recordingsDeletionFailed(sessionID: sid)
        let retry = h.core.withdrawalRequested(sessionID: sid, requester: 12)
        #expect(!retry.answerNow && commands(retry.actions).contains(.deleteAll(sessionID: sid)), "after a failure: deleted again")
    }

    /// `mark` goes to the disk writer with the message's id, and `marked` comes once the mark is
    /// saved, so the summary read after it lists the mark; a mark the disk could not keep, or one
    /// whose recording was deleted first, is told instead, with the same id and what to do.
    @Test func aMarkIsAnsweredOnceTheWriterSavedIt() throws {
        let h = joined()
        let sid = Fixture.sessionID
        _ = h.core.receivedText(2, utf8(#"{"type":"consent","recording":true}"#))
        let rid = try #require(h.core.receivedText(1, utf8(#"{"type":"record","action":"start"}"#)).controls(to: 1).first?["recordingId"] as? String)
        let asked = h.core.receivedText(1, utf8(#"{"type":"mark","recordingId":"\#(rid)","atMs":1500,"note":"smile","id":"m1"}"#))
        guard case .mark(sid, rid, let markID, 1500, "smile", .string("m1"))? = commands(asked).first else {
            Issue.record("the mark gave \(commands(asked)), not one mark for the writer")
            return
        }
        #expect(asked.controls(to: 1).isEmpty && asked.controls(to: 2).isEmpty, "answered once the disk writer has saved it")

        let saved = h.core.markChanged(sessionID: sid, recordingID: rid, markID: markID, edit: .made, replyID: .string("m1"), outcome: .done)
        let marked = try #require(saved.controls(to: 1).first)
        #expect(marked["type"] as? String == "marked" && marked["markId"] as? String == markID)
        #expect(marked["recordingId"] as? String == rid && marked["id"] as? String == "m1")
        #expect(saved.controls(to: 2).isEmpty, "only the practitioner marks")
        let failed = h.core.markChanged(sessionID: sid, recordingID: rid, markID: markID, edit: .made, replyID: .number(3), outcome: .failed)
        let error = failed.controls(to: 1).first
        #expect(error?["code"] as? String == "internal_error" && error?["id"] as? Int == 3)
        #expect((error?["message"] as? String)?.contains("\(markID) could not be saved") == true)
        let gone = h.core.markChanged(sessionID: sid, recordingID: rid, markID: markID, edit: .made, replyID: nil, outcome: .notFound)
        #expect(gone.controls(to: 1).first?["code"] as? String == "recording_not_found")
    }

    /// A family that joins again (its page reopened or reloaded) while its consent stands is told so
    /// right after `welcome`, so its page does not show consent not given while the practitioner may
    /// record; without consent, or after a withdrawal, it is told nothing. The practitioner's page
    /// reads consent from the session summary.
    @Test func aFamilyJoiningAgainIsToldItsConsentStands() {
        let h = joined()
        func rejoin(_ conn: ConnectionID, as role: Role) -> [[String: Any]] {
            _ = h.core.opened(conn, path: RelayHarness.path())
            return h.core.receivedText(conn, RelayHarness.hello(RelayHarness.token(for: role))).controls(to: conn)
        }
        #expect(rejoin(3, as: .family).map { $0["type"] as? String } == ["welcome"], "no consent given: nothing more")
        _ = h.core.receivedText(3, utf8(#"{"type":"consent","recording":true,"childAgreed":true}"#))
        let again = rejoin(4, as: .family)
        #expect(again.map { $0["type"] as? String } == ["welcome", "consent"])
        #expect(again.last?["recording"] as? Bool == true && again.last?["childAgreed"] as? Bool == true)
        #expect(rejoin(5, as: .practitioner).map { $0["type"] as? String } == ["welcome"])
        _ = h.core.receivedText(4, utf8(#"{"type":"consent","recording":false}"#))
        #expect(rejoin(6, as: .family).map { $0["type"] as? String } == ["welcome"], "withdrawn: nothing more")
    }

    @Test func consentStartStopAndWithdrawal() throws {
        let h = joined()
        let consent = h.core.receivedText(2, utf8(#"{"type":"consent","recording":true,"childAgreed":true}"#))
        #expect(consent.controls(to: 1).first?["childAgreed"] as? Bool == true)
        #expect(consent.controls(to: 2).first?["recording"] as? Bool == true)
        #expect(commands(consent) == [.consent(sessionID: Fixture.sessionID, recording: true, childAgreed: true)])

        #expect(h.core.runningRecordingCount == 0)
        let start = h.core.receivedText(1, utf8(#"{"type":"record","action":"start"}"#))
        let rid = try #require(start.controls(to: 2).first?["recordingId"] as? String)
        #expect(h.core.runningRecordingCount == 1, "the writer queue's budget grows with it")
        #expect(commands(start) == [.start(sessionID: Fixture.sessionID, recordingID: rid)])
        #expect(h.core.receivedText(1, utf8(#"{"type":"record","action":"start"}"#)).controls(to: 1).first?["code"] as? String == "already_recording")

        let initFrame = MediaFrameHeader(stream: .camera, flags: .initSegment, sequence: 0, mediaTimeMicros: 0).bytes + [9, 9]
        let appended = commands(h.core.receivedBinary(2, initFrame))
        #expect(appended.count == 1)
        guard case .append(_, let chunk)? = appended.first else {
            Issue.record("the init frame gave \(appended), not an append")
            return
        }
        #expect(chunk.bytes == [9, 9] && chunk.newPart)

        let mark = h.core.receivedText(1, utf8("{\"type\":\"mark\",\"recordingId\":\"\(rid)\",\"atMs\":1500,\"note\":\"smile\"}"))
        let forWriter: Bool = if case .mark(_, rid, _, 1500, "smile", nil)? = commands(mark).first { true } else { false }
        #expect(forWriter && mark.controls(to: 1).isEmpty, "marked once the writer has saved it")

        let stop = h.core.receivedText(1, utf8(#"{"type":"record","action":"stop"}"#))
        #expect(commands(stop) == [.stop(sessionID: Fixture.sessionID, recordingID: rid)])
        #expect(stop.controls(to: 1).isEmpty, "stopped is sent only once the writer has flushed")
        let stopped = h.core.recordingStopped(sessionID: Fixture.sessionID, recordingID: rid, bytes: 2, frames: 1, durationMs: 0)
        #expect(stopped.controls(to: 1).first?["state"] as? String == "stopped")
        #expect(stopped.controls(to: 2).first?["bytes"] as? Int == 2)
        #expect(h.core.runningRecordingCount == 0)

        let withdraw = h.core.receivedText(2, utf8(#"{"type":"consent","recording":false}"#))
        #expect(commands(withdraw).last == .deleteAll(sessionID: Fixture.sessionID))
        #expect(h.core.receivedText(1, utf8(#"{"type":"record","action":"start"}"#)).controls(to: 1).first?["code"] as? String == "consent_required")
    }

    /// `unmark` goes to the disk writer with the message's id; the writer's outcome comes back to the
    /// practitioner alone, with that id: `unmarked`, `mark_not_found` or `internal_error`.
    @Test func thePractitionerRemovesAMark() throws {
        let h = joined()
        let sid = Fixture.sessionID
        _ = h.core.receivedText(2, utf8(#"{"type":"consent","recording":true}"#))
        let rid = try #require(h.core.receivedText(1, utf8(#"{"type":"record","action":"start"}"#)).controls(to: 1).first?["recordingId"] as? String)
        let asked = h.core.receivedText(1, utf8(#"{"type":"unmark","recordingId":"\#(rid)","markId":"00000000000000ab","id":7}"#))
        #expect(commands(asked) == [.unmark(sessionID: sid, recordingID: rid, markID: "00000000000000ab", replyID: .number(7))])
        #expect(asked.controls(to: 1).isEmpty && asked.controls(to: 2).isEmpty, "answered once the disk writer has done it")

        let removed = h.core.markChanged(sessionID: sid, recordingID: rid, markID: "00000000000000ab", edit: .removed, replyID: .number(7), outcome: .done)
        let unmarked = try #require(removed.controls(to: 1).first)
        #expect(unmarked["type"] as? String == "unmarked" && unmarked["markId"] as? String == "00000000000000ab")
        #expect(unmarked["recordingId"] as? String == rid && unmarked["id"] as? Int == 7)
        #expect(removed.controls(to: 2).isEmpty, "only the practitioner marks")
        let missing = h.core.markChanged(sessionID: sid, recordingID: rid, markID: "00000000000000ab", edit: .removed, replyID: nil, outcome: .notFound)
        #expect(missing.controls(to: 1).first?["code"] as? String == "mark_not_found")
        let failed = h.core.markChanged(sessionID: sid, recordingID: rid, markID: "00000000000000ab", edit: .removed, replyID: .string("x"), outcome: .failed)
        #expect(failed.controls(to: 1).first?["code"] as? String == "internal_error")
        #expect(failed.controls(to: 1).first?["id"] as? String == "x")

        for (conn, bad, code) in [(ConnectionID(2), #"{"type":"unmark","recordingId":"\#(rid)","markId":"00000000000000ab"}"#, "not_allowed"),
                                  (1, #"{"type":"unmark","recordingId":"0123456789abcdef","markId":"00000000000000ab"}"#, "recording_not_found"),
                                  (1, #"{"type":"unmark","recordingId":"\#(rid)","markId":"../../x"}"#, "invalid_message"),
                                  (1, #"{"type":"unmark","recordingId":"\#(rid)"}"#, "invalid_message")] {
            let refused = h.core.receivedText(conn, utf8(bad))
            #expect(refused.controls(to: conn).first?["code"] as? String == code, "\(bad)")
            #expect(commands(refused).isEmpty)
        }
        _ = h.core.receivedText(2, utf8(#"{"type":"consent","recording":false}"#))
        #expect(h.core.receivedText(1, utf8(#"{"type":"unmark","recordingId":"\#(rid)","markId":"00000000000000ab"}"#)).controls(to: 1).first?["code"] as? String
                == "recording_not_found", "a deleted recording has no marks")
    }

    @Test func thePractitionerChangesAMarksNote() throws {
        let h = joined()
        let sid = Fixture.sessionID, mark = "00000000000000ab"
        _ = h.core.receivedText(2, utf8(#"{"type":"consent","recording":true}"#))
        let rid = try #require(h.core.receivedText(1, utf8(#"{"type":"record","action":"start"}"#)).controls(to: 1).first?["recordingId"] as? String)
        let asked = h.core.receivedText(1, utf8(#"{"type":"note","recordingId":"\#(rid)","markId":"\#(mark)","note":"she reaches for him","id":"n1"}"#))
        #expect(commands(asked) == [.renote(sessionID: sid, recordingID: rid, markID: mark, note: "she reaches for him", replyID: .string("n1"))])
        #expect(asked.controls(to: 1).isEmpty, "answered once the disk writer has done it")

        let noted = h.core.markChanged(sessionID: sid, recordingID: rid, markID: mark, edit: .renoted, replyID: .string("n1"), outcome: .done)
        let answer = try #require(noted.controls(to: 1).first)
        #expect(answer["type"] as? String == "noted" && answer["markId"] as? String == mark)
        #expect(answer["recordingId"] as? String == rid && answer["id"] as? String == "n1")
        #expect(noted.controls(to: 2).isEmpty)
        let failed = h.core.markChanged(sessionID: sid, recordingID: rid, markID: mark, edit: .renoted, replyID: nil, outcome: .failed)
        #expect(failed.controls(to: 1).first?["code"] as? String == "internal_error")
        #expect((failed.controls(to: 1).first?["message"] as? String)?.contains("new note") == true)

        let long = String(repeating: "a", count: 501)  // one past the 500 a mark's note may have
        for (conn, bad, code) in [(ConnectionID(2), #"{"type":"note","recordingId":"\#(rid)","markId":"\#(mark)","note":"x"}"#, "not_allowed"),
                                  (1, #"{"type":"note","recordingId":"0123456789abcdef","markId":"\#(mark)","note":"x"}"#, "recording_not_found"),
                                  (1, #"{"type":"note","recordingId":"\#(rid)","markId":"nope","note":"x"}"#, "invalid_message"),
                                  (1, #"{"type":"note","recordingId":"\#(rid)","markId":"\#(mark)"}"#, "invalid_message"),
                                  (1, #"{"type":"note","recordingId":"\#(rid)","markId":"\#(mark)","note":7}"#, "invalid_message"),
                                  (1, #"{"type":"note","recordingId":"\#(rid)","markId":"\#(mark)","note":"\#(long)"}"#, "invalid_message")] {
            let refused = h.core.receivedText(conn, utf8(bad))
            #expect(refused.controls(to: conn).first?["code"] as? String == code, "\(bad.prefix(90))")
            #expect(commands(refused).isEmpty)
        }
    }

    @Test func badMarksAreRefused() {
        let h = joined()
        for bad in [#"{"type":"mark","recordingId":"0123456789abcdef","atMs":1}"#, #"{"type":"mark","atMs":1}"#] {
            #expect(h.core.receivedText(1, utf8(bad)).controls(to: 1).first?["code"] as? String == "recording_not_found")
        }
    }
}
