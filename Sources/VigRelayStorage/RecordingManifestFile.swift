import Foundation
import VigRelayCore

/// Reads and writes `{rid}.json`: a `RecordingManifest` as sorted, indented JSON with ISO 8601 dates.
///
/// Writes are atomic and durable (`FileIO.writeAtomically`): a reader sees the old or the new
/// manifest, never half of one. Writes run on the disk writer thread; reads on any thread but lws.
public enum RecordingManifestFile {
    /// The manifest's JSON bytes, with a final newline.
    public static func encode(_ manifest: RecordingManifest) throws -> [UInt8] {
        try FileIO.encodeJSON(manifest, pretty: true)
    }

    /// A manifest from JSON bytes; nil when they are not one.
    public static func decode(_ bytes: [UInt8]) -> RecordingManifest? {
        FileIO.decodeJSON(RecordingManifest.self, from: bytes)
    }

    /// Replaces the manifest at `path` atomically.
    public static func write(_ manifest: RecordingManifest, to path: String) throws {
        try FileIO.writeJSON(manifest, pretty: true, to: path, what: "manifest")
    }

    /// The manifest at `path`; nil when it is missing or unreadable.
    public static func read(_ path: String) -> RecordingManifest? {
        FileIO.readAll(path).flatMap(decode)
    }

    /// The MIME type recorded for a container: `video/webm`, `video/mp4`, `application/octet-stream`.
    public static func mediaType(of container: MediaContainer) -> String {
        switch container {
        case .webm: "video/webm"
        case .mp4: "video/mp4"
        case .other: "application/octet-stream"
        }
    }
}
