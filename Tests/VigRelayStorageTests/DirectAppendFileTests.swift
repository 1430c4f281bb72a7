import Foundation
import Testing
@testable import VigRelayStorage

/// The media writer: bytes held in an aligned buffer, written whole with O_DIRECT; after `sync` the
/// file holds exactly what was appended (no padding), whatever the sizes and cuts.
struct DirectAppendFileTests {
    /// Bytes that differ at every position, so a misplaced block shows.
    static func pattern(_ count: Int, seed: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed &* 7 &+ ($0 >> 8)) }
    }

    @Test(arguments: [1, 100, 4095, 4096, 4097, 30_000, 262_143, 262_144, 262_145, 700_001])
    func syncLeavesExactlyTheAppendedBytes(pieceSize: Int) throws {
        let tmp = try TempDirectory()
        let path = tmp.path + "/part.webm"
        let file = try DirectAppendFile(path: path)
        var expected: [UInt8] = []
        for i in 0..<5 {
            let piece = Self.pattern(pieceSize + i, seed: i)
            try file.append(piece[...])
            expected += piece
            if i == 2 {
                try file.sync()
                #expect(fileBytes(path) == expected, "after a sync mid-way")
            }
        }
        #expect(file.size == Int64(expected.count))
        try file.sync()
        #expect(fileBytes(path) == expected)
        try file.append([9, 9])
        try file.sync()
        #expect(fileBytes(path) == expected + [9, 9], "the partial block is written again whole, not padded")
        file.close()
        #expect(fileBytes(path) == expected + [9, 9])
    }

    /// A sync after every small piece: each partial block goes out through the page cache, then
    /// again whole and direct once it fills; the file always ends exactly where the bytes do.
    @Test func syncAfterEveryPieceAcrossBlocksAndBuffers() throws {
        let tmp = try TempDirectory()
        let path = tmp.path + "/part.webm"
        let file = try DirectAppendFile(path: path)
        var expected: [UInt8] = []
        for i in 0..<400 {
            let piece = Self.pattern(1_000 + i % 7, seed: i)
            try file.append(piece[...])
            expected += piece
            try file.sync()
            if i % 50 == 49 { #expect(fileBytes(path) == expected, "after \(i + 1) pieces") }
        }
        #expect(expected.count > DirectAppendFile.bufferBytes, "crosses a whole buffer")
        file.close()
        #expect(fileBytes(path) == expected)
    }

    @Test func fullBuffersAreWrittenBeforeAnySync() throws {
        let tmp = try TempDirectory()
        let path = tmp.path + "/part.webm"
        let file = try DirectAppendFile(path: path)
        let bytes = Self.pattern(DirectAppendFile.bufferBytes + 10, seed: 3)
        try file.append(bytes[...])
        #expect(fileBytes(path) == Array(bytes.prefix(DirectAppendFile.bufferBytes)), "one whole buffer out, the rest held")
    }

    /// A stream that fills `fillsForLargeBuffer` buffers between syncs gets the large buffer and its
    /// file stays exact; one that syncs between fills keeps the small one.
    @Test func aFastStreamGetsTheLargeBufferAndLosesNothing() throws {
        let tmp = try TempDirectory()
        let path = tmp.path + "/part.webm"
        let file = try DirectAppendFile(path: path)
        let piece = 65_536 + 3  // not a multiple of the alignment: pieces straddle the buffers
        let fills = DirectAppendFile.fillsForLargeBuffer * DirectAppendFile.bufferBytes
        var expected: [UInt8] = []
        var i = 0
        while expected.count < fills + DirectAppendFile.largeBufferBytes + 1000 {
            let bytes = Self.pattern(piece, seed: i)
            try file.append(bytes[...])
            expected += bytes
            if expected.count < fills { #expect(file.capacity == DirectAppendFile.bufferBytes, "after \(expected.count) bytes") }
            i += 1
        }
        #expect(file.capacity == DirectAppendFile.largeBufferBytes)
        let onDisk = fileBytes(path)
        #expect(onDisk.count > fills && onDisk.count % DirectAppendFile.alignment == 0, "a large buffer went out whole")
        #expect(onDisk == Array(expected.prefix(onDisk.count)))
        try file.sync()
        #expect(fileBytes(path) == expected)
    }

    @Test func aStreamThatSyncsBetweenFillsKeepsTheSmallBuffer() throws {
        let tmp = try TempDirectory()
        let path = tmp.path + "/part.webm"
        let file = try DirectAppendFile(path: path)
        var expected: [UInt8] = []
        for i in 0..<(3 * DirectAppendFile.fillsForLargeBuffer) {
            let bytes = Self.pattern(DirectAppendFile.bufferBytes + 5, seed: i)
            try file.append(bytes[...])
            expected += bytes
            try file.sync()
        }
        #expect(file.capacity == DirectAppendFile.bufferBytes)
        #expect(fileBytes(path) == expected)
    }

    @Test func closeWritesWhatIsHeld() throws {
        let tmp = try TempDirectory()
        let path = tmp.path + "/part.webm"
        let file = try DirectAppendFile(path: path)
        let bytes = Self.pattern(5000, seed: 1)
        try file.append(bytes[...])
        #expect(fileBytes(path).isEmpty)
        file.close()
        #expect(fileBytes(path) == bytes)
        #expect(throws: StorageError.self) { try file.append([1]) }
    }

    /// Cuts back into held bytes, into a block written padded, and into whole blocks on disk; the
    /// next appends continue from the cut.
    @Test(arguments: [(10_000, 9_000), (10_000, 8_192), (300_000, 5_000), (300_000, 262_144), (600_000, 270_001)])
    func truncateThenAppend(written: Int, cut: Int) throws {
        let tmp = try TempDirectory()
        let path = tmp.path + "/part.webm"
        let file = try DirectAppendFile(path: path)
        let first = Self.pattern(written, seed: 5)
        try file.append(first[...])
        try file.sync()
        try file.truncate(to: Int64(cut))
        #expect(file.size == Int64(cut))
        #expect(fileBytes(path).count <= written)
        let more = Self.pattern(7000, seed: 6)
        try file.append(more[...])
        try file.sync()
        #expect(fileBytes(path) == Array(first.prefix(cut)) + more)
    }

    @Test func truncateHeldBytesOnly() throws {
        let tmp = try TempDirectory()
        let path = tmp.path + "/part.webm"
        let file = try DirectAppendFile(path: path)
        try file.append(Self.pattern(6000, seed: 2)[...])
        try file.truncate(to: 4000)
        try file.append([1, 2, 3])
        try file.sync()
        #expect(fileBytes(path) == Array(Self.pattern(6000, seed: 2).prefix(4000)) + [1, 2, 3])
    }

    /// /dev/full refuses O_DIRECT, so this also covers the page-cache fallback; the error comes at
    /// the write, with its errno text.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/dev/full")))
    func writeErrorsSurfaceAtTheWrite() throws {
        let tmp = try TempDirectory()
        let path = tmp.path + "/part.webm"
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "/dev/full")
        let file = try DirectAppendFile(path: path)
        try file.append([1, 2, 3])
        #expect {
            try file.sync()
        } throws: { error in
            "\(error)".contains("No space left on device")
        }
    }
}

/// The index writer with `holdingWrites`: appends wait in memory for `sync`.
struct AppendOnlyFileHoldingTests {
    @Test func appendsAreWrittenAtSync() throws {
        let tmp = try TempDirectory()
        let path = tmp.path + "/x.index"
        let file = try AppendOnlyFile(path: path, truncating: true, holdingWrites: true)
        try file.append(Array("F 1 0 9\n".utf8))
        try file.append(Array("F 1 9 3\n".utf8))
        #expect(fileText(path).isEmpty && file.size == 16)
        #expect(file.lastByte() == 0x0a)
        try file.sync()
        #expect(fileText(path) == "F 1 0 9\nF 1 9 3\n")
    }

    @Test func truncateCutsHeldThenWritten() throws {
        let tmp = try TempDirectory()
        let path = tmp.path + "/x.index"
        let file = try AppendOnlyFile(path: path, truncating: true, holdingWrites: true)
        try file.append(Array("aaaa".utf8))
        try file.sync()
        try file.append(Array("bbbb".utf8))
        try file.truncate(to: 6)
        try file.sync()
        #expect(fileText(path) == "aaaabb")
        try file.append(Array("cc".utf8))
        try file.truncate(to: 2)
        try file.append(Array("d".utf8))
        file.close()
        #expect(fileText(path) == "aad")
    }
}
