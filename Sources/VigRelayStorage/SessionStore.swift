import Foundation
import Logging
import VigRelayCore

/// Keeps session records as `DATA/sessions/{id}/session.json`, so sessions survive restarts.
///
/// `loadAll` runs at start-up; `save` runs on the disk writer thread. Ids are validated before any
/// path is built from them.
public struct SessionStore: Sendable {
    public let dataDir: String

    public init(dataDir: String) { self.dataDir = dataDir }

    /// `DATA/sessions`.
    public var sessionsDir: String { dataDir + "/sessions" }

    /// Directory of one session; nil for an id that is not a valid session id.
    public func directory(of sessionID: String) -> String? {
        Identifiers.isValidSessionID(sessionID) ? "\(sessionsDir)/\(sessionID)" : nil
    }

    /// Writes the record durably. Call on the disk writer thread.
    public func save(_ record: SessionRecord) throws {
        guard let dir = directory(of: record.id) else {
            throw StorageError.writeFailed(path: sessionsDir, reason: "invalid session id")
        }
        try FileIO.makeDirectory(dir)
        try FileIO.syncDirectory(of: dir)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        encoder.dateEncodingStrategy = .iso8601
        let data = try encoder.encode(record)
        try FileIO.writeAtomically([UInt8](data) + [0x0a], to: dir + "/session.json")
    }

    /// Applies `change` to the stored record, writes the result durably and returns it. Call on the
    /// disk writer thread: changes run there one at a time, each on the newest record, so two that
    /// touch different fields never undo each other.
    public func update(sessionID: String, _ change: SessionRecordChange) throws -> SessionRecord {
        guard var record = load(sessionID: sessionID) else {
            throw StorageError.readFailed(path: (directory(of: sessionID) ?? sessionsDir) + "/session.json",
                                          reason: "missing, unreadable or not this session's record")
        }
        change.apply(to: &record)
        try save(record)
        return record
    }

    /// Reads every stored session; unreadable ones are logged and skipped.
    public func loadAll(logger: Logger) throws -> [SessionRecord] {
        try FileIO.makeDirectory(sessionsDir)
        let names = try FileIO.listing(sessionsDir)  // an unlistable directory is no empty one
        var records: [SessionRecord] = []
        for name in names.sorted() {
            guard let dir = directory(of: name) else { continue }
            let path = dir + "/session.json"
            guard let data = FileManager.default.contents(atPath: path) else {
                if FileManager.default.fileExists(atPath: dir) {
                    logger.warning("session directory without a readable session.json skipped", metadata: ["path": "\(path)"])
                }
                continue
            }
            do {
                let record = try Self.decode(data)
                guard record.id == name else {
                    logger.warning("session record id does not match its directory; skipped", metadata: ["path": "\(path)"])
                    continue
                }
                records.append(record)
            } catch {
                logger.warning("unreadable session record skipped", metadata: ["path": "\(path)", "error": "\(error)"])
            }
        }
        return records
    }

    /// One stored session, nil when it is missing, unreadable or not the session named (what
    /// `loadAll` logs and skips). Any thread but lws.
    public func load(sessionID: String) -> SessionRecord? {
        guard let dir = directory(of: sessionID), let data = FileManager.default.contents(atPath: dir + "/session.json"),
              let record = try? Self.decode(data), record.id == sessionID else { return nil }
        return record
    }

    private static func decode(_ data: Data) throws -> SessionRecord {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(SessionRecord.self, from: data)
    }
}
