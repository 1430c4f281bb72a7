import CCrypto
import Foundation

/// How a recording's media is encrypted at rest, kept in its manifest: the data key wrapped under
/// the relay's recording key, and which recording key that is. Without the recording key the
/// wrapped key is useless; deleting the recording removes it (see `RecordingStore.deleteAll`).
public struct RecordingEncryption: Sendable, Codable, Equatable {
    /// The media cipher; "aes-256-ctr" (`MediaCipher`).
    public var cipher: String
    /// `RecordingKeyring.keyID` of the recording key that wrapped the data key.
    public var keyId: String
    /// base64url(nonce | AES-256-GCM(data key) | tag), bound to the session and recording ids.
    public var wrappedKey: String

    public static let mediaCipher = "aes-256-ctr"
}

/// Why a recording's media cannot be encrypted or decrypted here.
public enum RecordingKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The recording is encrypted, and this relay runs without `--recording-key`.
    case noRecordingKey(keyId: String)
    /// The recording was encrypted under another recording key than this relay's.
    case otherRecordingKey(recordedUnder: String, thisRelay: String)
    /// The wrapped key does not open under the recording key (a damaged or altered manifest).
    case unwrapFailed(keyId: String)
    /// A cipher this relay does not know.
    case unknownCipher(String)

    public var description: String {
        switch self {
        case .noRecordingKey(let id):
            "it is encrypted under recording key \(id), and this relay runs without --recording-key"
        case .otherRecordingKey(let recorded, let this):
            "it is encrypted under recording key \(recorded), and this relay has recording key \(this)"
        case .unwrapFailed(let id):
            "its data key does not open under recording key \(id) (the manifest is damaged)"
        case .unknownCipher(let name):
            "it is encrypted with \(name), which this relay does not know"
        }
    }
}

/// The relay's recording key (`vigrelay serve --recording-key FILE`): it wraps each recording's own
/// data key, so recordings can only be read where the recording key is, and a deleted recording's
/// data key (in its manifest) is gone with it.
///
/// Each recording gets 32 random bytes as its data key; the manifest keeps them sealed with
/// AES-256-GCM under the recording key, with the session and recording ids as associated data (a
/// wrapped key copied to another manifest does not open). Immutable; safe on any thread.
public struct RecordingKeyring: Sendable, CustomStringConvertible {
    /// Bytes in a recording key.
    public static let keyBytes = 32
    private let key: [UInt8]
    /// Names the key without revealing it (16 hex characters of an HMAC of a fixed text under it):
    /// kept in each manifest and in the data directory, so the relay can say which key a recording needs.
    public let keyID: String

    /// Only the id: the key never reaches a log line or a debug print.
    public var description: String { "recording key \(keyID)" }

    /// A keyring for a 32-byte recording key.
    public init(key: [UInt8]) {
        precondition(key.count == Self.keyBytes, "a recording key is 32 bytes")
        self.key = key
        var mac = [UInt8](repeating: 0, count: 32)
        let label = Array("vigrelay recording key id".utf8)
        _ = key.withUnsafeBytes { k in vr_hmac_sha256(k.baseAddress, Int32(k.count), label, label.count, &mac) }
        keyID = mac.prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// `count` random bytes from OpenSSL's generator.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        precondition(vr_random_bytes(&bytes, Int32(count)) == 1, "OpenSSL's random generator failed")
        return bytes
    }

    /// A new data key for one recording and the manifest's record of it.
    public func newDataKey(sessionID: String, recordingID: String) -> (dataKey: [UInt8], encryption: RecordingEncryption) {
        let dataKey = Self.randomBytes(MediaCipher.keyBytes)
        return (dataKey, wrap(dataKey, sessionID: sessionID, recordingID: recordingID))
    }

    /// The manifest's record of `dataKey` sealed under this key (a new nonce each time).
    public func wrap(_ dataKey: [UInt8], sessionID: String, recordingID: String) -> RecordingEncryption {
        precondition(dataKey.count == MediaCipher.keyBytes, "a data key is 32 bytes")
        let nonce = Self.randomBytes(12)
        var sealed = [UInt8](repeating: 0, count: dataKey.count)
        var tag = [UInt8](repeating: 0, count: 16)
        let aad = Self.associatedData(sessionID: sessionID, recordingID: recordingID)
        let ok = vr_aes256_gcm(1, key, nonce, aad, aad.count, dataKey, dataKey.count, &sealed, &tag)
        precondition(ok == 1, "AES-256-GCM failed in OpenSSL")
        return RecordingEncryption(cipher: RecordingEncryption.mediaCipher, keyId: keyID,
                                   wrappedKey: Base64URL.encode(nonce + sealed + tag))
    }

    /// The data key of an encrypted recording. Throws when it was wrapped under another key, or the
    /// record was altered or belongs to another recording.
    public func dataKey(_ encryption: RecordingEncryption, sessionID: String, recordingID: String) throws(RecordingKeyError) -> [UInt8] {
        guard encryption.cipher == RecordingEncryption.mediaCipher else { throw .unknownCipher(encryption.cipher) }
        guard encryption.keyId == keyID else { throw .otherRecordingKey(recordedUnder: encryption.keyId, thisRelay: keyID) }
        guard let wrapped = Base64URL.decode(Substring(encryption.wrappedKey)), wrapped.count == 12 + MediaCipher.keyBytes + 16 else {
            throw .unwrapFailed(keyId: encryption.keyId)
        }
        let nonce = Array(wrapped[0..<12]), sealed = Array(wrapped[12..<44])
        var tag = Array(wrapped[44...])
        var dataKey = [UInt8](repeating: 0, count: MediaCipher.keyBytes)
        let aad = Self.associatedData(sessionID: sessionID, recordingID: recordingID)
        guard vr_aes256_gcm(0, key, nonce, aad, aad.count, sealed, sealed.count, &dataKey, &tag) == 1 else {
            throw .unwrapFailed(keyId: encryption.keyId)
        }
        return dataKey
    }

    /// The data key of `manifest`'s recording: nil when it is not encrypted; throws when it is and
    /// `keyring` cannot open it.
    public static func dataKey(of manifest: RecordingManifest, keyring: RecordingKeyring?) throws(RecordingKeyError) -> [UInt8]? {
        guard let encryption = manifest.encryption else { return nil }
        guard let keyring else { throw .noRecordingKey(keyId: encryption.keyId) }
        return try keyring.dataKey(encryption, sessionID: manifest.sessionId, recordingID: manifest.recordingId)
    }

    /// The cipher for one part of `manifest`'s recording: nil when it is not encrypted; throws when
    /// it is and `keyring` cannot open it.
    public static func cipher(part: Int, of manifest: RecordingManifest, keyring: RecordingKeyring?) throws(RecordingKeyError) -> MediaCipher? {
        try dataKey(of: manifest, keyring: keyring).map { MediaCipher(dataKey: $0, part: part) }
    }

    private static func associatedData(sessionID: String, recordingID: String) -> [UInt8] {
        Array("vigrelay recording data key v1 \(sessionID) \(recordingID)".utf8)
    }
}
