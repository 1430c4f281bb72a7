import Foundation
import Testing
import VigRelayCore
import VigRelayStorage

/// A fresh directory under the system's temporary directory, removed when the test drops it.
/// Used by one test at a time.
final class TempDirectory {
    let path: String

    /// Made under `parent` (default: the system's temporary directory).
    init(under parent: String = NSTemporaryDirectory()) throws {
        var template = Array((parent + "/vigrelay-storage-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw StorageError.cannotCreateDirectory(path: parent, reason: "mkdtemp failed")
        }
        path = String(cString: made)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Fixed ids, instants and helpers shared by the storage tests.
enum Fixture {
    /// 2027-01-15T08:00:00Z.
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let sessionID = "0123456789abcdef0123456789abcdef"
    static let otherSessionID = "fedcba9876543210fedcba9876543210"
    static let recordingID = "00112233445566aa"
    static let otherRecordingID = "8899aabbccddeeff"

    /// Ids that must never become paths: wrong length, upper case, path tricks, non-hex, non-ASCII.
    static let badIDs = ["", "..", "../0123456789abcdef", "0123456789ABCDEF", "0123456789abcde", "0123456789abcdef0",
                         "0123456789abcde/", "0123456789abcdeg", "0123456789abcd\u{e9}", "0123456789abcde\0",
                         "/etc/passwd", "0123456789abcdef0123456789abcdef"]
    static let badSessionIDs = ["", "..", "../../etc/0123456789abcdef01234", "0123456789ABCDEF0123456789abcdef",
                                "0123456789abcdef0123456789abcde", "0123456789abcdef0123456789abcdef0",
                                "0123456789abcdef/123456789abcdef", "0123456789abcdef0123456789abcdeg", "00112233445566aa"]

    /// Starts of a WebM (EBML magic), a fragmented MP4 (`ftyp` box) and something else.
    static let webmStart: [UInt8] = [0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01]
    static let mp4Start: [UInt8] = [0x00, 0x00, 0x00, 0x18, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6F, 0x6D]
    static let otherStart: [UInt8] = Array("hello, camera".utf8)

    /// A file of the core tests' fixtures (Tests/VigRelayCoreTests/Fixtures, see its README).
    static func webmFixture(_ name: String = "testsrc-4s.webm") throws -> [UInt8] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("VigRelayCoreTests/Fixtures").appendingPathComponent(name)
        return try [UInt8](Data(contentsOf: url))
    }

    /// The recordings directory of the fixture session.
    static func recordingsDir(_ tmp: TempDirectory, _ sessionID: String = sessionID) -> String {
        "\(tmp.path)/sessions/\(sessionID)/recordings"
    }
}

/// The bytes of a file, or empty when it is missing.
func fileBytes(_ path: String) -> [UInt8] {
    FileManager.default.contents(atPath: path).map { [UInt8]($0) } ?? []
}

/// The text of a file, or empty when it is missing.
func fileText(_ path: String) -> String {
    String(decoding: fileBytes(path), as: UTF8.self)
}

/// Names in a directory, sorted.
func names(_ dir: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
}

extension RecordingFile {
    /// Appends a payload without cluster positions.
    func append(_ payload: [UInt8], timeUs: UInt64 = 0, sequence: UInt32 = 0, flags: UInt8 = 0,
                newPart: Bool = false, at time: Date = Fixture.t0) throws {
        try append(payload: payload[...], mediaTimeUs: timeUs, sequence: sequence, flags: flags, clusters: [],
                   newPart: newPart, at: time)
    }

    /// Records `bytes` as a camera sends a WebM file in `chunk`-byte payloads, finding clusters the
    /// way the relay does (a scanner fed payload by payload); returns the cluster offsets found.
    @discardableResult
    func appendWebM(_ bytes: ArraySlice<UInt8>, chunk: Int, newPart: Bool = true, at time: Date = Fixture.t0) throws -> [Int64] {
        var scanner = WebMScanner()
        var found: [Int64] = []
        var start = bytes.startIndex
        var sequence: UInt32 = 0
        while start < bytes.endIndex {
            let payload = Array(bytes[start..<min(start + chunk, bytes.endIndex)])
            let base = Int64(start - bytes.startIndex)
            let clusters = scanner.feed(payload).compactMap { event -> (offsetInPayload: Int, timeMs: Int64, keyframe: Bool)? in
                guard case .cluster(let c) = event else { return nil }
                found.append(c.offset)
                return (Int(c.offset - base), c.timestampMs, c.keyframe)
            }
            try append(payload: payload[...], mediaTimeUs: UInt64(sequence) * 100_000, sequence: sequence,
                       flags: sequence == 0 ? 1 : 0, clusters: clusters, newPart: newPart && sequence == 0, at: time)
            sequence += 1
            start += payload.count
        }
        return found
    }
}
