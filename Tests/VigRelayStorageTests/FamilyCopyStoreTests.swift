import Foundation
import Testing
import VigRelayCore
import VigRelayStorage

/// Clips given to a session's family (RecordingStore+FamilyCopies.swift, RecordingReader+FamilyCopies.swift):
/// kept in the receiving session's list, given once, listed without notes, opened as the family's
/// copy only while given and while the clip is there, also a clip of another session of the case.
struct FamilyCopyStoreTests {
    let sid = Fixture.sessionID
    let review = "0000000000000000ffffffffffffffff"
    let clipID = "0123456789abcdef"
    let helper = RecordingReaderClipTests()

    /// A session with one recording of the WebM fixture and one saved clip of it.
    func clipped(_ tmp: TempDirectory) throws -> ClipRecord {
        try helper.record(tmp)
        let record = try helper.plan(RecordingReader(dataDir: tmp.path), 0, 2000).get()
        #expect(try RecordingStore(dataDir: tmp.path).saveClip(record, keyring: nil))
        return record
    }

    func opensAsCopy(_ reader: RecordingReader, for session: String) -> Bool {
        if case .success = reader.open(MediaRequest(sessionID: session, resource: .familyCopy(clipID: clipID))) { return true }
        return false
    }

    func listed(_ reader: RecordingReader, _ session: String) throws -> [[String: Any]] {
        try #require(try reader.familyCopies(sessionID: session)["clips"] as? [[String: Any]])
    }

    @Test func aGivenClipIsListedAndOpensAsTheFamilysCopyUntilTakenBack() throws {
        let tmp = try TempDirectory()
        let record = try clipped(tmp)
        let store = RecordingStore(dataDir: tmp.path), reader = RecordingReader(dataDir: tmp.path)
        #expect(!opensAsCopy(reader, for: sid), "never given: not the family's")
        #expect(try listed(reader, sid).isEmpty)

        let at = Fixture.t0.addingTimeInterval(90.75)
        let given = try #require(try store.giveFamilyCopy(sessionID: sid, clipSessionID: sid, clipID: clipID, at: at))
        #expect(given.changed && given.copy == FamilyCopy(clipId: clipID, sessionId: sid, givenAt: Fixture.t0.addingTimeInterval(90)))
        #expect(try store.familyCopies(sessionID: sid) == [given.copy], "on disk as answered")
        let again = try #require(try store.giveFamilyCopy(sessionID: sid, clipSessionID: sid, clipID: clipID, at: at.addingTimeInterval(60)))
        #expect(!again.changed && again.copy == given.copy, "given once, when first given")
        #expect(opensAsCopy(reader, for: sid))
        let item = try #require(try listed(reader, sid).first)
        #expect(item["clipId"] as? String == clipID && item["mediaType"] as? String == "video/webm")
        #expect(item["durationMs"] as? Int64 == record.actualToMs - record.actualFromMs && item["bytes"] as? Int64 == record.bytes)
        #expect(item["note"] == nil && item["sessionId"] == nil)
        #expect(store.clip(sessionID: sid, clipID: clipID) == record, "the clip's own record is not touched")

        #expect(try store.takeBackFamilyCopy(sessionID: sid, clipID: clipID))
        #expect(try !store.takeBackFamilyCopy(sessionID: sid, clipID: clipID), "taken back already")
        #expect(try !opensAsCopy(reader, for: sid) && listed(reader, sid).isEmpty)
        if case .failure = reader.open(MediaRequest(sessionID: sid, resource: .clip(id: clipID))) { Issue.record("the practitioner keeps the clip") }
    }

    /// A review session's family gets the filming's clip: listed and opened through the review
    /// session's list, read from the filming's files; gone when the filming's recordings are.
    @Test func aClipOfAnotherSessionIsTheReviewFamilysWhileItIsThere() throws {
        let tmp = try TempDirectory()
        _ = try clipped(tmp)
        let store = RecordingStore(dataDir: tmp.path), reader = RecordingReader(dataDir: tmp.path)
        _ = try #require(try store.giveFamilyCopy(sessionID: review, clipSessionID: sid, clipID: clipID, at: Fixture.t0))
        #expect(opensAsCopy(reader, for: review) && !opensAsCopy(reader, for: sid), "given to the review's family only")
        #expect(try listed(reader, review).map { $0["clipId"] as? String } == [clipID])
        _ = try store.deleteAll(sessionID: sid, at: Fixture.t0)
        #expect(try !opensAsCopy(reader, for: review) && listed(reader, review).isEmpty)
        #expect(try store.giveFamilyCopy(sessionID: review, clipSessionID: sid, clipID: clipID, at: Fixture.t0) == nil, "a deleted clip is not given")
        #expect(try store.giveFamilyCopy(sessionID: review, clipSessionID: sid, clipID: "ffffffffffffffff", at: Fixture.t0) == nil)
    }

    @Test func aDamagedListGivesNothingAndIsNotWrittenOver() throws {
        let tmp = try TempDirectory()
        _ = try clipped(tmp)
        let store = RecordingStore(dataDir: tmp.path), reader = RecordingReader(dataDir: tmp.path)
        _ = try store.giveFamilyCopy(sessionID: sid, clipSessionID: sid, clipID: clipID, at: Fixture.t0)
        let path = "\(tmp.path)/sessions/\(sid)/family-copies.json"
        try Data("{\"v\":1,\"copies\":[{\"clipId\"".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: StorageError.self) { try store.familyCopies(sessionID: sid) }
        #expect(throws: StorageError.self) { try reader.familyCopies(sessionID: sid) }
        #expect(!opensAsCopy(reader, for: sid))
        #expect(throws: StorageError.self) { try store.giveFamilyCopy(sessionID: sid, clipSessionID: sid, clipID: clipID, at: Fixture.t0) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "{\"v\":1,\"copies\":[{\"clipId\"")
    }
}
