import Foundation
import Testing
@testable import VigRelayCore

/// AES-256-CTR by file offset (MediaCipher.swift): the standard's answers, and any split of a file
/// into pieces encrypts as the whole does.
struct MediaCipherTests {
    static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var chars = text.filter { !$0.isWhitespace }.makeIterator()
        while let high = chars.next(), let low = chars.next() { bytes.append(UInt8(String([high, low]), radix: 16)!) }
        return bytes
    }

    /// NIST SP 800-38A, F.5.5 CTR-AES256.Encrypt.
    static let key = hex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
    static let counter = hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
    static let plaintext = hex("""
        6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51
        30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710
        """)
    static let ciphertext = hex("""
        601ec313775789a5b7a7f504bbf3d228 f443e3ca4d62b59aca84e990cacaf5c5
        2b0930daa23de94ce87017ba2d84988d dfc9c58db67aada613c2dd08457941a6
        """)

    @Test func theStandardsVectorsEncryptAndDecrypt() {
        let cipher = MediaCipher(key: Self.key, iv: Self.counter)
        var bytes = Self.plaintext
        cipher.apply(&bytes, at: 0)
        #expect(bytes == Self.ciphertext)
        cipher.apply(&bytes, at: 0)
        #expect(bytes == Self.plaintext)
    }

    @Test func anOffsetStartsMidStreamAndTheCounterCarries() {
        let cipher = MediaCipher(key: Self.key, iv: Self.counter)
        for start in [1, 15, 16, 17, 33, 63] {
            var piece = Array(Self.plaintext[start...])
            cipher.apply(&piece, at: Int64(start))
            #expect(piece == Array(Self.ciphertext[start...]), "from byte \(start)")
        }
        // The counter block's low bytes are ff: block 1 carries into byte 14 (f0..fe ff -> ..ff 00).
        var carried = [UInt8](repeating: 0, count: 16)
        cipher.apply(&carried, at: 16)
        #expect(carried == zip(Self.ciphertext[16..<32], Self.plaintext[16..<32]).map { $0 ^ $1 })
    }

    @Test func piecesAtTheirOffsetsEncryptAsTheWholeFile() {
        var generator = SystemRandomNumberGenerator()
        let media = (0..<70_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let cipher = MediaCipher(dataKey: Array(repeating: 7, count: 32), part: 1)
        var whole = media
        cipher.apply(&whole, at: 0)
        #expect(whole != media)
        for _ in 0..<20 {
            var cuts = (0..<6).map { _ in Int.random(in: 0...media.count, using: &generator) }.sorted()
            cuts = [0] + cuts + [media.count]
            var pieces: [UInt8] = []
            for (from, to) in zip(cuts, cuts.dropFirst()) {
                var piece = Array(media[from..<to])
                cipher.apply(&piece, at: Int64(from))
                pieces += piece
            }
            #expect(pieces == whole)
        }
    }

    @Test func eachPartHasItsOwnKeystream() {
        let key = Array(repeating: UInt8(9), count: 32)
        var one = [UInt8](repeating: 0, count: 64), two = one
        MediaCipher(dataKey: key, part: 1).apply(&one, at: 0)
        MediaCipher(dataKey: key, part: 2).apply(&two, at: 0)
        #expect(one != two)
        var otherKey = [UInt8](repeating: 0, count: 64)
        MediaCipher(dataKey: Array(repeating: 8, count: 32), part: 1).apply(&otherKey, at: 0)
        #expect(otherKey != one)
    }
}
