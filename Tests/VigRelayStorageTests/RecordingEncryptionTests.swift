import Foundation
import Testing
import VigRelayCore
@testable import VigRelayStorage

/// Recordings encrypted at rest (`--recording-key`): what is on disk is not the media, every read
/// path (downloads, clips, recovery) gives the media back exactly, a relay without the key gets a
/// clear refusal and cuts nothing, and the key file and the data directory's mark guard the key.
struct RecordingEncryptionTests {
    let sid = Fixture.sessionID
    let rid = Fixture.recordingID
    let keyring = RecordingKeyring(key: Array(repeating: 0x5a, count: 32))

    /// Records the 4 s WebM fixture in 777-byte payloads, finished unless `killedAt` (then only that
    /// many bytes, synced and dropped, as `kill -9` after a sync leaves them).
    @discardableResult
    func record(_ tmp: TempDirectory, keyring: RecordingKeyring?, killedAt cut: Int? = nil) throws -> [UInt8] {
        let webm = try Fixture.webmFixture()
        let file = try RecordingFile(dataDir: tmp.path, sessionID: sid, recordingID: rid, startedAt: Fixture.t0, keyring: keyring)
        try file.appendWebM(webm[0..<(cut ?? webm.count)], chunk: 777)
        if cut == nil { _ = try file.finish(at: Fixture.t0.addingTimeInterval(8)) } else { try file.sync() }
        return webm
    }

    /// The part's bytes on disk, decrypted with the recording's data key from its manifest.
    func decryptedPart(_ tmp: TempDirectory, part: Int = 1) throws -> [UInt8] {
        let manifest = try #require(RecordingStore(dataDir: tmp.path).manifest(sessionID: sid, recordingID: rid))
        let cipher = try #require(try RecordingKeyring.cipher(part: part, of: manifest, keyring: keyring))
        var bytes = fileBytes(Fixture.recordingsDir(tmp) + "/" + manifest.parts[part - 1].file)
        cipher.apply(&bytes, at: 0)
        return bytes
    }

    func readAll(_ slice: MediaFileSlice, chunk: Int64 = 1000) throws -> [UInt8] {
        var out: [UInt8] = []
        var at: Int64 = 0
        while at < slice.length {
            out += try slice.read(at..<at + chunk)
            at += chunk
        }
        return out
    }

    @Test func theFileOnDiskIsNotTheMediaAndDownloadsGiveItBack() throws {
        let tmp = try TempDirectory(), plain = try TempDirectory()
        let webm = try record(tmp, keyring: keyring)
        try record(plain, keyring: nil)
        let path = Fixture.recordingsDir(tmp) + "/\(rid).webm"
        let onDisk = fileBytes(path)
        #expect(onDisk.count == webm.count, "CTR keeps the length, so the index's offsets hold")
        #expect(!onDisk.starts(with: Fixture.webmStart.prefix(4)), "no EBML header in the clear")
        #expect(zip(onDisk, webm).filter { $0 == $1 }.count < webm.count / 100, "about 1 byte in 256 matches by chance")
        #expect(try decryptedPart(tmp) == webm)
        #expect(fileText(Fixture.recordingsDir(tmp) + "/\(rid).index") == fileText(Fixture.recordingsDir(plain) + "/\(rid).index"))

        let manifest = try #require(RecordingStore(dataDir: tmp.path).manifest(sessionID: sid, recordingID: rid))
        #expect(manifest.encryption?.keyId == keyring.keyID)
        #expect(RecordingStore(dataDir: plain.path).manifest(sessionID: sid, recordingID: rid)?.encryption == nil)

        let reader = RecordingReader(dataDir: tmp.path, keyring: keyring)
        let opened = try reader.open(MediaRequest(sessionID: sid, resource: .recording(id: rid, part: 1))).get()
        #expect(opened.contentType == "video/webm")
        #expect(try readAll(opened.slice, chunk: 333) == webm, "read in pieces at odd offsets")
        #expect(try opened.slice.read(5000..<5100) == Array(webm[5000..<5100]), "a Range from the middle")
    }

    @Test func aRelayWithoutTheKeyIsRefusedClearly() throws {
        let tmp = try TempDirectory()
        try record(tmp, keyring: keyring)
        let request = MediaRequest(sessionID: sid, resource: .recording(id: rid, part: 1))
        let without = RecordingReader(dataDir: tmp.path).open(request)
        guard case .failure(.keyUnavailable(.noRecordingKey(keyring.keyID))) = without else {
            Issue.record("no key: \(without)")
            return
        }
        let stranger = RecordingKeyring(key: Array(repeating: 1, count: 32))
        let other = RecordingReader(dataDir: tmp.path, keyring: stranger).open(request)
        guard case .failure(.keyUnavailable(.otherRecordingKey(keyring.keyID, stranger.keyID))) = other else {
            Issue.record("other key: \(other)")
            return
        }
        let response = RecordingRequestError.keyUnavailable(.noRecordingKey(keyId: keyring.keyID)).response
        #expect(response.status == 503)
        #expect(String(decoding: response.body, as: UTF8.self).contains("recording_key_unavailable"))
        // Clips are planned from the same files: refused the same way, before reading anything.
        let clip = RecordingReader(dataDir: tmp.path).planClip(
            ClipRequest(sessionID: sid, recordingID: rid, fromMs: 1000, toMs: 2600, note: ""), clipID: "0123456789abcdef", now: Fixture.t0)
        guard case .failure(.keyUnavailable) = clip else {
            Issue.record("clip without the key: \(clip)")
            return
        }
    }

    @Test func aClipOfAnEncryptedRecordingIsTheClipOfThePlainOne() throws {
        let tmp = try TempDirectory(), plain = try TempDirectory()
        try record(tmp, keyring: keyring)
        let webm = try record(plain, keyring: nil)
        let request = ClipRequest(sessionID: sid, recordingID: rid, fromMs: 1200, toMs: 2600, note: "a moment")
        let clipID = "0123456789abcdef"
        let encrypted = try RecordingReader(dataDir: tmp.path, keyring: keyring).planClip(request, clipID: clipID, now: Fixture.t0).get()
        let reference = try RecordingReader(dataDir: plain.path).planClip(request, clipID: clipID, now: Fixture.t0).get()
        #expect(encrypted == reference, "the same ranges and patches: the init segment was read decrypted")
        #expect(try RecordingStore(dataDir: tmp.path).saveClip(encrypted, keyring: keyring))
        let opened = try RecordingReader(dataDir: tmp.path, keyring: keyring)
            .open(MediaRequest(sessionID: sid, resource: .clip(id: clipID))).get()
        #expect(try readAll(opened.slice, chunk: 37) == reference.plan?.assemble(from: webm))
    }

    @Test func recoveryAfterAKillRepairsTheDecryptedMedia() throws {
        let tmp = try TempDirectory(), plain = try TempDirectory()
        try record(tmp, keyring: keyring, killedAt: 8000)
        try record(plain, keyring: nil, killedAt: 8000)
        #expect(RecordingRecovery.recover(dataDir: tmp.path, now: Fixture.t0).isEmpty, "without the key nothing is cut")
        #expect(RecordingStore(dataDir: tmp.path).manifest(sessionID: sid, recordingID: rid)?.state == .recording)
        #expect(fileBytes(Fixture.recordingsDir(tmp) + "/\(rid).webm").count == 8000)

        let recovered = try #require(RecordingRecovery.recover(dataDir: tmp.path, now: Fixture.t0, keyring: keyring).first)
        let reference = try #require(RecordingRecovery.recover(dataDir: plain.path, now: Fixture.t0).first)
        #expect(recovered.parts == reference.parts)
        #expect(recovered.state == .interrupted)
        // Cut to the last cluster, Segment size made unknown and Duration voided, in the plaintext.
        #expect(try decryptedPart(tmp) == fileBytes(Fixture.recordingsDir(plain) + "/\(rid).webm"))
    }

    /// The writer's buffer: bytes encrypted once each, the partial block written at a sync and again
    /// whole later, a cut back into written blocks (read back as ciphertext), more bytes after it.
    @Test(arguments: [1, 700, 4095, 4097, 100_000])
    func theWriteBehindBufferEncryptsEveryByteOnce(pieceSize: Int) throws {
        let tmp = try TempDirectory()
        let path = tmp.path + "/part.webm"
        let cipher = MediaCipher(dataKey: Array(repeating: 3, count: 32), part: 1)
        let file = try DirectAppendFile(path: path, cipher: cipher)
        var expected: [UInt8] = []
        func decrypted() -> [UInt8] {
            var bytes = fileBytes(path)
            cipher.apply(&bytes, at: 0)
            return bytes
        }
        for i in 0..<12 {
            let piece = DirectAppendFileTests.pattern(pieceSize + i, seed: i)
            try file.append(piece[...])
            expected += piece
            if i % 3 == 1 {
                try file.sync()
                #expect(decrypted() == expected, "after sync \(i)")
            }
            if i == 7 {
                let cut = expected.count / 3
                try file.truncate(to: Int64(cut))
                expected.removeLast(expected.count - cut)
            }
        }
        try file.sync()
        #expect(decrypted() == expected)
        #expect(fileBytes(path) != expected || expected.isEmpty)
        file.close()
        #expect(decrypted() == expected)
    }

    @Test func theKeyFileIsMadeOnceAndMustBeTheRelaysAlone() throws {
        let tmp = try TempDirectory()
        let path = tmp.path + "/recording.key"
        let made = try RecordingKeyFile.create(path: path)
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(try RecordingKeyFile.load(path: path).keyID == made.keyID)
        let before = fileBytes(path)
        #expect(throws: RecordingKeyFile.Failure.exists(path: path)) { try RecordingKeyFile.create(path: path) }
        #expect(fileBytes(path) == before, "never overwritten")

        chmod(path, 0o644)
        #expect(throws: RecordingKeyFile.Failure.tooOpen(path: path, mode: 0o644)) { try RecordingKeyFile.load(path: path) }
        let short = tmp.path + "/short.key"
        try FileIO.writeAtomically(Array("c2hvcnQ=\n".utf8), to: short)
        #expect(throws: RecordingKeyFile.Failure.malformed(path: short)) { try RecordingKeyFile.load(path: short) }
        #expect(throws: RecordingKeyFile.Failure.self) { try RecordingKeyFile.load(path: tmp.path + "/missing.key") }
    }

    @Test func theDataDirectoryRemembersItsKey() throws {
        let tmp = try TempDirectory()
        try RecordingKeyMark.check(dataDir: tmp.path, keyring: nil)
        #expect(RecordingKeyMark.keyID(dataDir: tmp.path) == nil, "no key, no mark")
        try RecordingKeyMark.check(dataDir: tmp.path, keyring: keyring)
        #expect(RecordingKeyMark.keyID(dataDir: tmp.path) == keyring.keyID)
        try RecordingKeyMark.check(dataDir: tmp.path, keyring: keyring)
        #expect(throws: RecordingKeyMark.Refusal.keyMissing(dataDir: tmp.path, keyId: keyring.keyID)) {
            try RecordingKeyMark.check(dataDir: tmp.path, keyring: nil)
        }
        let other = RecordingKeyring(key: Array(repeating: 2, count: 32))
        #expect(throws: RecordingKeyMark.Refusal.otherKey(dataDir: tmp.path, directoryKeyId: keyring.keyID, givenKeyId: other.keyID)) {
            try RecordingKeyMark.check(dataDir: tmp.path, keyring: other)
        }
    }

    /// The notes of an encrypted recording (a mark's, a clip's) are sealed on disk under the
    /// recording's own key: the summary opens them with the relay's key, also after a rekey; a relay
    /// with another key lists them as unreadable rather than dropping them or showing the sealed text.
    @Test func notesAreSealedUnderTheRecordingsKey() throws {
        let tmp = try TempDirectory()
        try record(tmp, keyring: keyring)
        let store = RecordingStore(dataDir: tmp.path)
        let manifest = try #require(store.manifest(sessionID: sid, recordingID: rid))
        try MarkNotes(dataDir: tmp.path).append(sessionID: sid, recordingID: rid, markID: "00000000000000ab", note: "Mia hands Mum the cup",
                                                seal: NoteSeal.of(manifest, keyring: keyring))
        try SessionEventLog(dataDir: tmp.path).append(sessionID: sid, event: "mark", fields: ["recordingId": rid, "markId": "00000000000000ab", "atMs": 1500])
        let request = ClipRequest(sessionID: sid, recordingID: rid, fromMs: 1200, toMs: 2600, note: "Mia waits for her turn")
        let clip = try RecordingReader(dataDir: tmp.path, keyring: keyring).planClip(request, clipID: "0123456789abcdef", now: Fixture.t0).get()
        #expect(try store.saveClip(clip, keyring: keyring))
        for file in [Fixture.recordingsDir(tmp) + "/\(rid).marks", tmp.path + "/sessions/\(sid)/clips/0123456789abcdef.json"] {
            #expect(fileText(file).contains("sealedNote") && !fileText(file).contains("Mia"), "\(file)")
        }

        let session = SessionRecord(id: sid, owner: "pr-1", createdAt: Fixture.t0, inviteExpiresAt: Fixture.t0)
        /// The mark's note and the clip's, each with " (unreadable)" when the summary says so.
        func notes(_ keyring: RecordingKeyring?) throws -> [String] {
            let summary = RecordingReader(dataDir: tmp.path, keyring: keyring).summary(of: session)
            let marks = try #require(summary["marks"] as? [[String: Any]]), clips = try #require(summary["clips"] as? [[String: Any]])
            return (marks + clips).map { ($0["note"] as? String ?? "?") + ($0["noteUnreadable"] as? Bool == true ? " (unreadable)" : "") }
        }
        let opened = ["Mia hands Mum the cup", "Mia waits for her turn"]
        #expect(try notes(keyring) == opened)
        let stranger = RecordingKeyring(key: Array(repeating: 9, count: 32))
        #expect(try notes(stranger) == [" (unreadable)", " (unreadable)"])
        let newKey = RecordingKeyring(key: Array(repeating: 0x33, count: 32))
        try RecordingKeyMark.check(dataDir: tmp.path, keyring: keyring)
        _ = try RecordingRekey.run(dataDir: tmp.path, from: keyring, to: newKey)
        #expect(try notes(newKey) == opened, "a rekey moves the recording's key, and the notes' with it")
    }

    @Test func deletionRemovesTheMediaAndTheWrappedKey() throws {
        let tmp = try TempDirectory()
        try record(tmp, keyring: keyring)
        let store = RecordingStore(dataDir: tmp.path)
        #expect(try store.deleteAll(sessionID: sid, at: Fixture.t0.addingTimeInterval(60)) == [rid])
        #expect(names(Fixture.recordingsDir(tmp)) == ["\(rid).json"])
        let kept = fileText(Fixture.recordingsDir(tmp) + "/\(rid).json")
        #expect(kept.contains("\"deleted\""))
        #expect(!kept.contains("wrappedKey") && !kept.contains("encryption"))
    }

    @Test func rekeyMovesTheSealedKeysAndTheMarkNotTheMedia() throws {
        let tmp = try TempDirectory()
        let webm = try record(tmp, keyring: keyring)
        try RecordingKeyMark.check(dataDir: tmp.path, keyring: keyring)
        let media = fileBytes(Fixture.recordingsDir(tmp) + "/\(rid).webm")
        let newKey = RecordingKeyring(key: Array(repeating: 0x33, count: 32))
        let request = MediaRequest(sessionID: sid, resource: .recording(id: rid, part: 1))

        #expect(throws: RecordingRekey.Refusal.sameKey(keyId: keyring.keyID)) { try RecordingRekey.run(dataDir: tmp.path, from: keyring, to: keyring) }
        let stranger = RecordingKeyring(key: Array(repeating: 9, count: 32))
        #expect(throws: RecordingRekey.Refusal.otherKey(dataDir: tmp.path, directoryKeyId: keyring.keyID, fromKeyId: stranger.keyID)) {
            try RecordingRekey.run(dataDir: tmp.path, from: stranger, to: newKey)
        }

        let outcome = try RecordingRekey.run(dataDir: tmp.path, from: keyring, to: newKey)
        #expect(outcome.moved == ["\(sid)/\(rid)"] && outcome.failed.isEmpty && outcome.markMoved)
        #expect(RecordingKeyMark.keyID(dataDir: tmp.path) == newKey.keyID)
        #expect(fileBytes(Fixture.recordingsDir(tmp) + "/\(rid).webm") == media, "the video is not rewritten")
        let opened = try RecordingReader(dataDir: tmp.path, keyring: newKey).open(request).get()
        #expect(try readAll(opened.slice) == webm)
        guard case .failure(.keyUnavailable(.otherRecordingKey(newKey.keyID, keyring.keyID))) = RecordingReader(dataDir: tmp.path, keyring: keyring).open(request) else {
            Issue.record("the old key still opens the recording")
            return
        }
        // Run again (as after a run cut short): nothing left to move.
        let again = try RecordingRekey.run(dataDir: tmp.path, from: keyring, to: newKey)
        #expect(again.moved.isEmpty && again.alreadyMoved == 1 && again.markMoved)
    }

    @Test func aManifestThatCannotBeMovedKeepsTheMarkOnTheOldKey() throws {
        let tmp = try TempDirectory()
        try record(tmp, keyring: keyring)
        try RecordingKeyMark.check(dataDir: tmp.path, keyring: keyring)
        let path = Fixture.recordingsDir(tmp) + "/\(rid).json"
        var manifest = try #require(RecordingManifestFile.read(path))
        manifest.encryption?.wrappedKey = Base64URL.encode([UInt8](repeating: 1, count: 60))
        try RecordingManifestFile.write(manifest, to: path)
        let outcome = try RecordingRekey.run(dataDir: tmp.path, from: keyring, to: RecordingKeyring(key: Array(repeating: 0x33, count: 32)))
        #expect(outcome.moved.isEmpty && outcome.failed.keys.sorted() == ["\(sid)/\(rid)"] && !outcome.markMoved)
        #expect(RecordingKeyMark.keyID(dataDir: tmp.path) == keyring.keyID)
    }
}
