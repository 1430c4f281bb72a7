import Foundation
import Testing
import VigRelayCore

/// Notes of encrypted recordings sealed at rest (`NoteSeal`): they open only with the recording's own
/// key and for the mark or clip they were sealed for, and nothing of the text is in the clear.
struct NoteSealTests {
    let dataKey = Array(repeating: UInt8(0x21), count: 32)
    let rid = "00112233445566aa"
    var ids: [String] { [Fixture.sessionID, rid, "00000000000000ab"] }

    @Test(arguments: ["", "she waits for his turn", "Mia hands Mum the cup ☕️ e\u{301}"])
    func aSealedNoteOpensAsItWas(_ note: String) throws {
        let seal = NoteSeal(dataKey: dataKey)
        let sealed = seal.seal(note, ids: ids)
        #expect(seal.open(sealed, ids: ids) == note)
        #expect(NoteSeal(dataKey: dataKey).open(sealed, ids: ids) == note, "the key is the data key's, not the instance's")
        #expect(seal.seal(note, ids: ids) != sealed, "a new nonce each time")
        let bytes = try #require(Base64URL.decode(Substring(sealed)))
        #expect(bytes.count == 12 + note.utf8.count + 16)
        if !note.isEmpty { #expect(!String(decoding: bytes, as: UTF8.self).contains("Mum") && !sealed.contains("turn")) }
    }

    @Test func aNoteOpensOnlyForItsRecordingAndMarkWithItsKey() {
        let seal = NoteSeal(dataKey: dataKey)
        let sealed = seal.seal("she laughs", ids: ids)
        #expect(seal.open(sealed, ids: [Fixture.sessionID, rid, "00000000000000ac"]) == nil, "moved to another mark")
        #expect(seal.open(sealed, ids: [Fixture.sessionID, "00112233445566bb", "00000000000000ab"]) == nil, "another recording")
        #expect(NoteSeal(dataKey: Array(repeating: 0x22, count: 32)).open(sealed, ids: ids) == nil, "another recording's key")
        var altered = Array(sealed)
        altered[20] = altered[20] == "A" ? "B" : "A"
        #expect(seal.open(String(altered), ids: ids) == nil, "altered")
        #expect(seal.open("", ids: ids) == nil && seal.open("not base64 !", ids: ids) == nil)
    }

    /// The seal comes from a manifest's wrapped data key; an unencrypted recording has none, and a
    /// relay without the recording key is told which key it needs.
    @Test func theSealOfARecordingComesFromItsManifest() throws {
        let keyring = RecordingKeyring(key: Array(repeating: 0x5a, count: 32))
        let made = keyring.newDataKey(sessionID: Fixture.sessionID, recordingID: rid)
        var manifest = RecordingManifest(recordingId: rid, sessionId: Fixture.sessionID, mediaType: "video/webm", startedAt: Fixture.t0)
        #expect(try NoteSeal.of(manifest, keyring: keyring) == nil)
        manifest.encryption = made.encryption
        let seal = try #require(try NoteSeal.of(manifest, keyring: keyring))
        #expect(NoteSeal(dataKey: made.dataKey).open(seal.seal("kept", ids: ids), ids: ids) == "kept")
        #expect(throws: RecordingKeyError.noRecordingKey(keyId: keyring.keyID)) { try NoteSeal.of(manifest, keyring: nil) }
    }
}
