import CCrypto

/// Encrypts and decrypts one media file of a recording at rest: AES-256-CTR under the recording's
/// own data key, addressed by file offset.
///
/// Why CTR: any byte range can be read on its own (downloads with `Range`, clips cut from the
/// middle), the ciphertext is exactly as long as the media (the index's offsets and the `O_DIRECT`
/// block alignment stay as they are), and a byte encrypts the same way each time it is written at
/// the same offset (the write-behind buffer writes a file's last block again, whole, later). Each
/// part of a recording has its own keystream: the counter block is the part number (high 8 bytes)
/// and the 16-byte block number within the file (low 8 bytes), under a key no other recording
/// uses. The media is not authenticated: the threat is a disk, a backup or leftover blocks read
/// without the key, not someone who can write the data directory (they could delete it anyway).
///
/// A value; safe on any thread.
public struct MediaCipher: Sendable {
    /// Bytes in a data key (AES-256).
    public static let keyBytes = 32
    private let key: [UInt8]
    private let iv: [UInt8]

    /// The cipher for part `part` (1...) of the recording whose data key is `dataKey` (32 bytes).
    public init(dataKey: [UInt8], part: Int) {
        precondition(dataKey.count == Self.keyBytes, "a data key is 32 bytes")
        var iv = [UInt8](repeating: 0, count: 16)
        withUnsafeBytes(of: UInt64(part).bigEndian) { iv.replaceSubrange(0..<8, with: $0) }
        self.init(key: dataKey, iv: iv)
    }

    /// A cipher with an explicit first counter block (for known-answer tests).
    init(key: [UInt8], iv: [UInt8]) {
        precondition(key.count == Self.keyBytes && iv.count == 16)
        self.key = key
        self.iv = iv
    }

    /// XORs `count` bytes at `source` with the keystream at file offset `offset` into `target`
    /// (which may be `source`): encrypts plaintext, decrypts ciphertext.
    public func apply(_ source: UnsafeRawPointer, to target: UnsafeMutableRawPointer, count: Int, at offset: Int64) {
        guard count > 0 else { return }
        precondition(offset >= 0)
        let ok = key.withUnsafeBufferPointer { key in
            iv.withUnsafeBufferPointer { iv in
                vr_aes256_ctr(key.baseAddress, iv.baseAddress, UInt64(offset),
                              source.assumingMemoryBound(to: UInt8.self), target.assumingMemoryBound(to: UInt8.self), count)
            }
        }
        // Only an allocation failure inside OpenSSL gets here; writing or serving the bytes
        // unencrypted, or wrongly decrypted, would be worse than stopping.
        precondition(ok == 1, "AES-256-CTR failed in OpenSSL")
    }

    /// `apply` to a byte array in place, its first byte at file offset `offset`.
    public func apply(_ bytes: inout [UInt8], at offset: Int64) {
        bytes.withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            apply(base, to: base, count: buffer.count, at: offset)
        }
    }
}
