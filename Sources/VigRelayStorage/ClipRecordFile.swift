import Foundation
import VigRelayCore

/// Reads and writes `clips/{clipId}.json`: a `ClipRecord` as sorted JSON with ISO 8601 dates.
///
/// Writes are atomic and durable (`FileIO.writeAtomically`) and run on the disk writer thread;
/// reads run on the reader thread.
public enum ClipRecordFile {
    /// The record's JSON bytes, with a final newline.
    public static func encode(_ record: ClipRecord) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return [UInt8](try encoder.encode(record)) + [0x0a]
    }

    /// A record from JSON bytes; nil when they are not one.
    public static func decode(_ bytes: [UInt8]) -> ClipRecord? {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(ClipRecord.self, from: Data(bytes))
    }

    /// Replaces the record at `path` atomically.
    public static func write(_ record: ClipRecord, to path: String) throws {
        let bytes: [UInt8]
        do { bytes = try encode(record) } catch {
            throw StorageError.writeFailed(path: path, reason: "cannot encode the clip record: \(error)")
        }
        try FileIO.writeAtomically(bytes, to: path)
    }

    /// The record at `path`; nil when it is missing or unreadable.
    public static func read(_ path: String) -> ClipRecord? {
        FileIO.readAll(path).flatMap(decode)
    }
}
