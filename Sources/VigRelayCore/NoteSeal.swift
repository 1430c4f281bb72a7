import CCrypto

/// The practitioner's notes on an encrypted recording (its marks' notes, its clips' notes), sealed
/// at rest with AES-256-GCM under a key of that recording's own: a note says what happens in a film
/// of a child, so a copy of the data directory, or what a disk keeps of deleted files, shows no more
/// of the notes than of the video.
///
/// The note key is HMAC-SHA256 of the recording's data key and a fixed label, never the data key
/// itself (that one runs AES-CTR over the media). Each note is sealed with a random nonce and its
/// session, recording and mark or clip ids as associated data, so a sealed note moved to another
/// mark does not open. Deleting the recording drops its data key (`RecordingStore.deleteAll`), and
/// with it every note's. Immutable; any thread.
public struct NoteSeal: Sendable {
    private let key: [UInt8]

    /// The seal of a recording whose data key is `dataKey` (32 bytes).
    public init(dataKey: [UInt8]) {
        var key = [UInt8](repeating: 0, count: 32)
        let label = Array("vigrelay note key v1".utf8)
        _ = dataKey.withUnsafeBytes { k in vr_hmac_sha256(k.baseAddress, Int32(k.count), label, label.count, &key) }
        self.key = key
    }

    /// The seal of `manifest`'s recording: nil when the recording is not encrypted; throws when it is
    /// and `keyring` cannot open its data key.
    public static func of(_ manifest: RecordingManifest, keyring: RecordingKeyring?) throws(RecordingKeyError) -> NoteSeal? {
        try RecordingKeyring.dataKey(of: manifest, keyring: keyring).map(NoteSeal.init(dataKey:))
    }

    /// base64url(nonce | AES-256-GCM(note) | tag), bound to `ids` (session, recording, mark or clip).
    public func seal(_ note: String, ids: [String]) -> String {
        let plain = Array(note.utf8)
        let nonce = RecordingKeyring.randomBytes(12)
        var sealed = [UInt8](repeating: 0, count: plain.count)
        var tag = [UInt8](repeating: 0, count: 16)
        let aad = Self.associatedData(ids)
        let ok = vr_aes256_gcm(1, key, nonce, aad, aad.count, plain, plain.count, &sealed, &tag)
        precondition(ok == 1, "AES-256-GCM failed in OpenSSL")
        return Base64URL.encode(nonce + sealed + tag)
    }

    /// The note `sealed` holds; nil when it does not open (another recording's, another mark's, altered).
    public func open(_ sealed: String, ids: [String]) -> String? {
        guard let bytes = Base64URL.decode(Substring(sealed)), bytes.count >= 28 else { return nil }
        let nonce = Array(bytes.prefix(12)), body = Array(bytes[12..<(bytes.count - 16)])
        var tag = Array(bytes.suffix(16))
        var plain = [UInt8](repeating: 0, count: body.count)
        let aad = Self.associatedData(ids)
        guard vr_aes256_gcm(0, key, nonce, aad, aad.count, body, body.count, &plain, &tag) == 1 else { return nil }
        return String(validating: plain, as: UTF8.self)
    }

    private static func associatedData(_ ids: [String]) -> [UInt8] {
        Array(("vigrelay note v1 " + ids.joined(separator: " ")).utf8)
    }
}
