import Foundation
import Logging
import Testing
import VigRelayCore
import VigRelayStorage

/// Session records on disk (`DATA/sessions/{id}/session.json`), across a restart.
struct SessionStoreTests {
    let logger = Logger(label: "test")

    @Test func aNewFamilyLinkIsKeptOverARestartToTheMillisecond() throws {
        let tmp = try TempDirectory()
        let store = SessionStore(dataDir: tmp.path)
        var record = SessionRecord(id: Fixture.sessionID, owner: "pr-1", createdAt: Fixture.t0,
                                   inviteExpiresAt: Fixture.t0.addingTimeInterval(86_400), caseRef: "fam-042", cycle: 2, purpose: .review)
        try store.save(record)
        #expect(try store.loadAll(logger: logger) == [record])
        record.invitesReplacedBeforeMs = 1_800_000_000_123
        record.inviteExpiresAt = Fixture.t0.addingTimeInterval(7 * 86_400)
        try store.save(record)
        #expect(try store.loadAll(logger: logger) == [record])
        #expect(store.load(sessionID: Fixture.sessionID)?.invitesReplacedBeforeMs == 1_800_000_000_123)
    }

    /// Records saved before sessions could get a new link have no `invitesReplacedBeforeMs`.
    @Test func aRecordFromBeforeNewLinksLoadsWithEveryInviteValid() throws {
        let tmp = try TempDirectory()
        let store = SessionStore(dataDir: tmp.path)
        let dir = try #require(store.directory(of: Fixture.sessionID))
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let old = #"{"createdAt":"2027-01-15T08:00:00Z","id":"\#(Fixture.sessionID)","inviteExpiresAt":"2027-01-22T08:00:00Z","owner":"pr-1"}"#
        try Data(old.utf8).write(to: URL(fileURLWithPath: dir + "/session.json"))
        let loaded = try #require(try store.loadAll(logger: logger).first)
        #expect(loaded.invitesReplacedBeforeMs == nil && loaded.owner == "pr-1")
        #expect(!loaded.inviteIsReplaced(issuedAtMs: nil) && !loaded.inviteIsReplaced(issuedAtMs: 0))
    }

    /// A change is applied to the record as stored, so one saved in between is kept.
    @Test func anUpdateChangesTheStoredRecordAndKeepsWhatAnotherChangeSaved() throws {
        let tmp = try TempDirectory()
        let store = SessionStore(dataDir: tmp.path)
        let record = SessionRecord(id: Fixture.sessionID, owner: "pr-1", createdAt: Fixture.t0,
                                   inviteExpiresAt: Fixture.t0.addingTimeInterval(86_400))
        try store.save(record)
        let linked = try store.update(sessionID: Fixture.sessionID, .newInvite(issuedAtMs: 1_800_000_000_123, expiresAt: Fixture.t0.addingTimeInterval(60)))
        let labelled = try store.update(sessionID: Fixture.sessionID, .labels(SessionLabelChange(caseRef: .some("fam-042"), purpose: .some(.review))))
        #expect(linked.invitesReplacedBeforeMs == 1_800_000_000_123 && linked.caseRef == nil)
        #expect(labelled.invitesReplacedBeforeMs == 1_800_000_000_123, "the new link saved before is kept")
        #expect(labelled.caseRef == "fam-042" && labelled.purpose == .review && labelled.cycle == nil)
        #expect(try store.loadAll(logger: logger) == [labelled])
    }

    @Test func anUpdateOfAMissingRecordFailsAndWritesNothing() throws {
        let tmp = try TempDirectory()
        let store = SessionStore(dataDir: tmp.path)
        #expect(throws: StorageError.self) { try store.update(sessionID: Fixture.sessionID, .labels(SessionLabelChange(cycle: .some(1)))) }
        #expect(store.load(sessionID: Fixture.sessionID) == nil)
        #expect(!FileManager.default.fileExists(atPath: store.directory(of: Fixture.sessionID)!))
    }
}
