import VigRelayCore

/// Reads and writes `clips/{clipId}.json`: a `ClipRecord` as sorted JSON with ISO 8601 dates.
///
/// Writes are atomic and durable (`FileIO.writeAtomically`) and run on the disk writer thread;
/// reads run on the reader thread.
public enum ClipRecordFile {
    /// The record's JSON bytes, with a final newline.
    public static func encode(_ record: ClipRecord) throws -> [UInt8] {
        try FileIO.encodeJSON(record, pretty: false)
    }

    /// A record from JSON bytes; nil when they are not one.
    public static func decode(_ bytes: [UInt8]) -> ClipRecord? {
        FileIO.decodeJSON(ClipRecord.self, from: bytes)
    }

    /// Replaces the record at `path` atomically.
    public static func write(_ record: ClipRecord, to path: String) throws {
        try FileIO.writeJSON(record, pretty: false, to: path, what: "clip record")
    }

    /// The record at `path`; nil when it is missing or unreadable.
    public static func read(_ path: String) -> ClipRecord? {
        FileIO.readAll(path).flatMap(decode)
    }
}
