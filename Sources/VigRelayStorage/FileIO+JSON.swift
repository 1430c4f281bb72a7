import Foundation

/// The JSON files beside the media (manifests, clip records): sorted keys, ISO 8601 dates, a final
/// newline, written atomically and durably.
extension FileIO {
    /// The value's JSON bytes with a final newline (indented when `pretty`).
    static func encodeJSON(_ value: some Encodable, pretty: Bool) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return [UInt8](try encoder.encode(value)) + [0x0a]
    }

    /// A value from JSON bytes; nil when they are not one.
    static func decodeJSON<Value: Decodable>(_ type: Value.Type, from bytes: [UInt8]) -> Value? {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(type, from: Data(bytes))
    }

    /// Replaces the JSON file at `path` atomically; `what` names it in the error.
    static func writeJSON(_ value: some Encodable, pretty: Bool, to path: String, what: String) throws {
        let bytes: [UInt8]
        do { bytes = try encodeJSON(value, pretty: pretty) } catch {
            throw StorageError.writeFailed(path: path, reason: "cannot encode the \(what): \(error)")
        }
        try writeAtomically(bytes, to: path)
    }
}
