import Foundation
import Testing
import VigRelayStorage

/// session.jsonl: one durable JSON line per event, read back tolerating a torn last line.
struct SessionEventLogTests {
    let sid = Fixture.sessionID

    @Test func linesHaveTimeAndEventFirstThenSortedFields() throws {
        let tmp = try TempDirectory()
        let log = SessionEventLog(dataDir: tmp.path)
        try log.append(sessionID: sid, event: "consent",
                       fields: ["role": "family", "recording": false, "childAgreed": true], at: Fixture.t0)
        try log.append(sessionID: sid, event: "recording_stopped",
                       fields: ["recordingId": Fixture.recordingID, "bytes": Int64(14301), "frames": 40,
                                "sequence": UInt32(7), "ratio": 0.5, "parts": [1, 2], "stoppedAt": Fixture.t0],
                       at: Fixture.t0.addingTimeInterval(1.25))
        #expect(fileText(tmp.path + "/sessions/\(sid)/session.jsonl") == """
            {"time":"2027-01-15T08:00:00.000Z","event":"consent","childAgreed":true,"recording":false,"role":"family"}
            {"time":"2027-01-15T08:00:01.250Z","event":"recording_stopped","bytes":14301,"frames":40,"parts":[1,2],"ratio":0.5,"recordingId":"00112233445566aa","sequence":7,"stoppedAt":"2027-01-15T08:00:00.000Z"}

            """)
        let events = log.read(sessionID: sid)
        #expect(events.count == 2)
        #expect(events[0]["event"] as? String == "consent")
        #expect(events[0]["recording"] as? Bool == false)
        #expect(events[1]["frames"] as? Int == 40)
        #expect(log.lastActivityTime(sessionID: sid) == Fixture.t0.addingTimeInterval(1.25))
    }

    @Test func tornLastLineIsSkippedAndTheNextEventStartsOnItsOwnLine() throws {
        let tmp = try TempDirectory()
        let log = SessionEventLog(dataDir: tmp.path)
        let path = tmp.path + "/sessions/\(sid)/session.jsonl"
        try log.append(sessionID: sid, event: "created", at: Fixture.t0)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"time":"2027-01-15T08:00:05.000Z","event":"jo"#.utf8))
        try handle.close()
        #expect(log.read(sessionID: sid).map { $0["event"] as? String } == ["created"])
        #expect(log.lastActivityTime(sessionID: sid) == Fixture.t0)

        try log.append(sessionID: sid, event: "joined", fields: ["role": "family"], at: Fixture.t0.addingTimeInterval(9))
        #expect(fileText(path).hasSuffix("\"event\":\"jo\n{\"time\":\"2027-01-15T08:00:09.000Z\",\"event\":\"joined\",\"role\":\"family\"}\n"))
        #expect(log.read(sessionID: sid).map { $0["event"] as? String } == ["created", "joined"])
    }

    /// A deletion is not activity: retention's own `recordings_deleted`, or a withdrawal after the
    /// work, must not keep a case's other sessions for another period.
    @Test func lastActivitySkipsDeletions() throws {
        let tmp = try TempDirectory()
        let log = SessionEventLog(dataDir: tmp.path)
        try log.append(sessionID: sid, event: "left", fields: ["role": "family"], at: Fixture.t0)
        try log.append(sessionID: sid, event: "consent", fields: ["recording": false, "role": "family"], at: Fixture.t0.addingTimeInterval(40))
        try log.append(sessionID: sid, event: "recordings_deleted", fields: ["reason": "consent withdrawn"], at: Fixture.t0.addingTimeInterval(41))
        try log.append(sessionID: sid, event: "recordings_deleted", fields: ["reason": "retention"], at: Fixture.t0.addingTimeInterval(50))
        #expect(log.lastActivityTime(sessionID: sid) == Fixture.t0)
        try log.append(sessionID: sid, event: "consent", fields: ["recording": true, "role": "family"], at: Fixture.t0.addingTimeInterval(55))
        #expect(log.lastActivityTime(sessionID: sid) == Fixture.t0.addingTimeInterval(55), "consent given is activity")
        try log.append(sessionID: sid, event: "clip_created", at: Fixture.t0.addingTimeInterval(60))
        #expect(log.lastActivityTime(sessionID: sid, blockBytes: 16) == Fixture.t0.addingTimeInterval(60))
    }

    /// Putting labels right (for the cycle log, perhaps long after) is not work on the case either.
    @Test func lastActivitySkipsLabelChanges() throws {
        let tmp = try TempDirectory()
        let log = SessionEventLog(dataDir: tmp.path)
        try log.append(sessionID: sid, event: "left", fields: ["role": "family"], at: Fixture.t0)
        try log.append(sessionID: sid, event: "labels_changed", at: Fixture.t0.addingTimeInterval(86_400 * 40))
        #expect(log.lastActivityTime(sessionID: sid) == Fixture.t0)
    }

    @Test func aFieldThatIsNotAJSONValueIsRefusedAndNothingIsWritten() throws {
        struct Opaque: Sendable {}
        let tmp = try TempDirectory()
        let log = SessionEventLog(dataDir: tmp.path)
        #expect(throws: StorageError.self) {
            try log.append(sessionID: sid, event: "joined", fields: ["role": "family", "thing": Opaque()], at: Fixture.t0)
        }
        #expect(log.read(sessionID: sid).isEmpty)
    }

    @Test func readOfAMissingOrInvalidSessionIsEmpty() throws {
        let tmp = try TempDirectory()
        let log = SessionEventLog(dataDir: tmp.path)
        #expect(log.read(sessionID: sid).isEmpty)
        #expect(log.lastActivityTime(sessionID: sid) == nil)
        #expect(log.read(sessionID: "../../etc").isEmpty)
    }

    @Test(arguments: Fixture.badSessionIDs)
    func invalidSessionIDsAreRefused(_ bad: String) throws {
        let tmp = try TempDirectory()
        #expect(throws: StorageError.self) {
            try SessionEventLog(dataDir: tmp.path).append(sessionID: bad, event: "created", fields: [:], at: Fixture.t0)
        }
        #expect(names(tmp.path).isEmpty)
    }

    @Test func reservedKeysBadEventNamesAndNonJSONValuesAreRefused() throws {
        let tmp = try TempDirectory()
        let log = SessionEventLog(dataDir: tmp.path)
        #expect(throws: StorageError.self) { try log.append(sessionID: sid, event: "x", fields: ["time": "now"]) }
        #expect(throws: StorageError.self) { try log.append(sessionID: sid, event: "x", fields: ["event": "y"]) }
        #expect(throws: StorageError.self) { try log.append(sessionID: sid, event: "", fields: [:]) }
        #expect(throws: StorageError.self) { try log.append(sessionID: sid, event: "a\nb", fields: [:]) }
        #expect(throws: StorageError.self) { try log.append(sessionID: sid, event: "x", fields: ["v": Double.nan]) }
        #expect(log.read(sessionID: sid).isEmpty)
    }
}
