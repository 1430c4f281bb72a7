import Foundation
import Testing
import VigRelayCore

/// Data keys wrapped under the recording key (RecordingKeyring.swift): they open only under that
/// key, for that recording, unaltered; a deleted manifest no longer holds one.
struct RecordingKeyringTests {
    let keyring = RecordingKeyring(key: Array(repeating: 1, count: 32))
    let sid = "0123456789abcdef0123456789abcdef"
    let rid = "00112233445566aa"

    func manifest(_ encryption: RecordingEncryption?) -> RecordingManifest {
        var manifest = RecordingManifest(recordingId: rid, sessionId: sid, mediaType: "video/webm", startedAt: Date(timeIntervalSince1970: 0))
        manifest.encryption = encryption
        return manifest
    }

    @Test func aWrappedKeyOpensUnderItsRecordingKeyForItsRecording() throws {
        let (dataKey, record) = keyring.newDataKey(sessionID: sid, recordingID: rid)
        #expect(dataKey.count == 32)
        #expect(record.cipher == "aes-256-ctr")
        #expect(record.keyId == keyring.keyID)
        #expect(keyring.keyID.count == 16)
        #expect(try keyring.dataKey(record, sessionID: sid, recordingID: rid) == dataKey)
        #expect(!record.wrappedKey.contains(Base64URL.encode(dataKey)), "the manifest does not hold the key in the clear")
        let other = keyring.newDataKey(sessionID: sid, recordingID: rid)
        #expect(other.dataKey != dataKey, "every recording gets a new random key")
        #expect(other.encryption.wrappedKey != record.wrappedKey)
    }

    @Test func anotherKeyAnotherRecordingOrAnAlteredRecordDoNotOpen() {
        let (_, record) = keyring.newDataKey(sessionID: sid, recordingID: rid)
        let stranger = RecordingKeyring(key: Array(repeating: 2, count: 32))
        #expect(stranger.keyID != keyring.keyID)
        #expect(throws: RecordingKeyError.otherRecordingKey(recordedUnder: keyring.keyID, thisRelay: stranger.keyID)) {
            try stranger.dataKey(record, sessionID: sid, recordingID: rid)
        }
        #expect(throws: RecordingKeyError.unwrapFailed(keyId: keyring.keyID)) {
            try keyring.dataKey(record, sessionID: sid, recordingID: "8899aabbccddeeff")
        }
        var altered = record
        var bytes = Array(altered.wrappedKey.utf8)
        bytes[20] = bytes[20] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        altered.wrappedKey = String(decoding: bytes, as: UTF8.self)
        #expect(throws: RecordingKeyError.unwrapFailed(keyId: keyring.keyID)) {
            try keyring.dataKey(altered, sessionID: sid, recordingID: rid)
        }
        var unknown = record
        unknown.cipher = "rot13"
        #expect(throws: RecordingKeyError.unknownCipher("rot13")) { try keyring.dataKey(unknown, sessionID: sid, recordingID: rid) }
    }

    @Test func theCipherForAPartNeedsTheKeyOnlyWhenTheRecordingIsEncrypted() throws {
        #expect(try RecordingKeyring.cipher(part: 1, of: manifest(nil), keyring: nil) == nil)
        #expect(try RecordingKeyring.cipher(part: 1, of: manifest(nil), keyring: keyring) == nil)
        let (dataKey, record) = keyring.newDataKey(sessionID: sid, recordingID: rid)
        #expect(throws: RecordingKeyError.noRecordingKey(keyId: keyring.keyID)) {
            try RecordingKeyring.cipher(part: 1, of: manifest(record), keyring: nil)
        }
        let cipher = try #require(try RecordingKeyring.cipher(part: 2, of: manifest(record), keyring: keyring))
        var viaManifest = [UInt8](repeating: 0, count: 40), direct = viaManifest
        cipher.apply(&viaManifest, at: 5)
        MediaCipher(dataKey: dataKey, part: 2).apply(&direct, at: 5)
        #expect(viaManifest == direct)
    }

    @Test func deletingARecordingDropsItsWrappedKey() throws {
        var manifest = manifest(keyring.newDataKey(sessionID: sid, recordingID: rid).encryption)
        let completed = manifest.move(to: .complete, at: Date(timeIntervalSince1970: 5))
        #expect(completed)
        #expect(manifest.encryption != nil)
        let deleted = manifest.move(to: .deleted, at: Date(timeIntervalSince1970: 9))
        #expect(deleted)
        #expect(manifest.encryption == nil)
        let json = String(decoding: try JSONEncoder().encode(manifest), as: UTF8.self)
        #expect(!json.contains("wrappedKey"))
    }

    @Test func theKeyNeverShowsInDescriptions() {
        #expect("\(keyring)" == "recording key \(keyring.keyID)")
        #expect(!String(reflecting: keyring).contains("1, 1, 1"))
    }
}
