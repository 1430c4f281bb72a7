import Foundation
import Testing
import VigRelayCore
import VigRelayStorage

/// A clip given to the family (RecordingStore+Clips.swift `setGivenToFamily`,
/// RecordingReader+FamilyCopies.swift): kept in the clip's record, listed for the family without its
/// note, fetched as the family's copy only while given, and gone with its recording.
struct FamilyCopyStoreTests {
    let sid = Fixture.sessionID
    let clipID = "0123456789abcdef"
    let helper = RecordingReaderClipTests()

    /// A session with one recording of the WebM fixture and one saved clip of it.
    func clipped(_ tmp: TempDirectory) throws -> ClipRecord {
        try helper.record(tmp)
        let record = try helper.plan(RecordingReader(dataDir: tmp.path), 0, 2000).get()
        #expect(try RecordingStore(dataDir: tmp.path).saveClip(record, keyring: nil))
        return record
    }

    func opensAsCopy(_ reader: RecordingReader) -> Bool {
        if case .success = reader.open(MediaRequest(sessionID: sid, resource: .familyCopy(clipID: clipID))) { return true }
        return false
    }

    @Test func aGivenClipIsListedAndOpensAsTheFamilysCopyUntilTakenBack() throws {
        let tmp = try TempDirectory()
        let record = try clipped(tmp)
        let store = RecordingStore(dataDir: tmp.path), reader = RecordingReader(dataDir: tmp.path)
        #expect(!opensAsCopy(reader), "never given: not the family's")
        #expect((reader.familyCopies(sessionID: sid)["clips"] as? [Any])?.isEmpty == true)

        let at = Fixture.t0.addingTimeInterval(90.75)
        let given = try #require(try store.setGivenToFamily(sessionID: sid, clipID: clipID, at: at))
        #expect(given.changed && given.record.givenToFamilyAt == Fixture.t0.addingTimeInterval(90))
        #expect(store.clip(sessionID: sid, clipID: clipID) == given.record, "on disk as answered")
        let again = try #require(try store.setGivenToFamily(sessionID: sid, clipID: clipID, at: at.addingTimeInterval(60)))
        #expect(!again.changed && again.record.givenToFamilyAt == given.record.givenToFamilyAt, "given once, when first given")
        #expect(opensAsCopy(reader))
        let listed = try #require((reader.familyCopies(sessionID: sid)["clips"] as? [[String: Any]])?.first)
        #expect(listed["clipId"] as? String == clipID && listed["mediaType"] as? String == "video/webm")
        #expect(listed["durationMs"] as? Int64 == record.actualToMs - record.actualFromMs && listed["bytes"] as? Int64 == record.bytes)
        #expect(listed["note"] == nil)
        #expect(given.record.summary["givenToFamily"] as? Bool == true && record.summary["givenToFamily"] == nil)

        let taken = try #require(try store.setGivenToFamily(sessionID: sid, clipID: clipID, at: nil))
        #expect(taken.changed && taken.record.givenToFamilyAt == nil)
        #expect(!opensAsCopy(reader))
        if case .failure = reader.open(MediaRequest(sessionID: sid, resource: .clip(id: clipID))) { Issue.record("the practitioner keeps the clip") }
    }

    @Test func aDeletedClipCannotBeGiven() throws {
        let tmp = try TempDirectory()
        _ = try clipped(tmp)
        let store = RecordingStore(dataDir: tmp.path)
        #expect(try store.setGivenToFamily(sessionID: sid, clipID: "ffffffffffffffff", at: Fixture.t0) == nil)
        _ = try store.setGivenToFamily(sessionID: sid, clipID: clipID, at: Fixture.t0)
        _ = try store.deleteAll(sessionID: sid, at: Fixture.t0)
        #expect(try store.setGivenToFamily(sessionID: sid, clipID: clipID, at: Fixture.t0) == nil)
        #expect((RecordingReader(dataDir: tmp.path).familyCopies(sessionID: sid)["clips"] as? [Any])?.isEmpty == true)
    }

    @Test func aRecordFromBeforeCopiesReadsAsNotGiven() throws {
        let tmp = try TempDirectory()
        let record = try clipped(tmp)
        let json = try ClipRecordFile.encode(record)
        #expect(!String(decoding: json, as: UTF8.self).contains("givenToFamilyAt"), "not written while not given: as before copies")
        #expect(ClipRecordFile.decode(json) == record)
    }
}
