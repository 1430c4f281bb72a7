import Foundation
import Logging
import VigRelayCore

/// The append-only event log of a session, `DATA/sessions/{sid}/session.jsonl`.
///
/// One JSON object per line, `time` (ISO 8601 UTC with milliseconds) and `event` first, then the
/// caller's fields sorted by key: `{"time":"2027-01-15T08:00:00.000Z","event":"consent","recording":false,"role":"family"}`.
/// It holds what happened (ids, roles, states), never names, tokens or media: callers pass only those.
/// Each `append` opens the file with `O_APPEND`, writes one line and fsyncs, so an event is on disk
/// when `append` returns. `append` runs on the disk writer thread; `read` on any thread but lws.
public struct SessionEventLog: Sendable {
    /// Where the log files are.
    public let paths: RecordingPaths

    /// The logs under `dataDir`.
    public init(dataDir: String) { paths = RecordingPaths(dataDir: dataDir) }

    /// Appends one event line durably. Field values may be strings, numbers, booleans, arrays or
    /// dictionaries of those, or `Date`s (written as ISO 8601); `time` and `event` are reserved keys.
    public func append(sessionID: String, event: String, fields: [String: any Sendable] = [:], at time: Date = Date()) throws {
        guard let dir = paths.sessionDirectory(sessionID), let path = paths.eventLog(sessionID) else {
            throw StorageError.invalidIdentifier(kind: "session")
        }
        var line = try Self.line(event: event, fields: fields, time: time)
        try FileIO.makeDirectory(dir)
        let existed = FileIO.regularFileSize(path) != nil
        let file = try AppendOnlyFile(path: path, truncating: false)
        defer { file.close() }
        // A crash may have left a torn last line: start ours on a line of its own.
        if let last = file.lastByte(), last != 0x0a { line.insert(0x0a, at: 0) }
        try file.append(line)
        try file.sync()
        if !existed { try FileIO.syncDirectory(of: path) }
    }

    /// `append`, for callers that go on when the log cannot be written (the disk is full, say): the
    /// failure goes to the server log instead.
    public func append(sessionID: String, event: String, fields: [String: any Sendable] = [:], at time: Date = Date(),
                       orLogTo logger: Logger) {
        do { try append(sessionID: sessionID, event: event, fields: fields, at: time) } catch {
            logger.error("could not append to the session event log",
                         metadata: ["session.id": "\(sessionID)", "event": "\(event)", "error": "\(error)"])
        }
    }

    /// Every complete event of a session, oldest first; a torn or unreadable line is skipped.
    /// Empty for an invalid id or a session without a log.
    public func read(sessionID: String) -> [[String: Any]] {
        guard let path = paths.eventLog(sessionID), let bytes = FileIO.readAll(path) else { return [] }
        var lines = bytes.split(separator: 0x0a, omittingEmptySubsequences: false)
        // The piece after the last newline is empty, or a line torn by a crash.
        lines.removeLast()
        return lines.compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any]
        }
    }

    /// The JSON line (with its newline) for one event.
    static func line(event: String, fields: [String: any Sendable], time: Date) throws -> [UInt8] {
        guard Identifiers.isSafeName(event, maxLength: 64) else {
            throw StorageError.invalidEvent(reason: "event names are 1-64 of A-Z a-z 0-9 . _ -")
        }
        if fields["time"] != nil || fields["event"] != nil {
            throw StorageError.invalidEvent(reason: "\"time\" and \"event\" are set by the log, not by fields")
        }
        // "time" and "event" first (neither needs escaping: a timestamp and a safe name), then the
        // fields in key order from one serialisation (one call, not one per member: the writer
        // logs every join and leave).
        var out = Array("{\"time\":\"\(UTCTime.format(time))\",\"event\":\"\(event)\"".utf8)
        if !fields.isEmpty {
            var object: [String: JSONValue] = [:]
            for key in fields.keys.sorted() {
                let value = fields[key]!
                guard let json = (value as? Date).map({ JSONValue.string(UTCTime.format($0)) }) ?? JSONValue(value) else {
                    throw StorageError.invalidEvent(reason: "field \"\(key)\" is not a JSON value")
                }
                object[key] = json
            }
            out.append(0x2c)
            out += JSONValue.object(object).utf8.dropFirst()  // without its "{"; its "}" closes the line's object
        } else {
            out.append(0x7d)
        }
        return out + [0x0a]
    }

    /// Reads an event time, with or without fractional seconds.
    public static func parseTime(_ text: String) -> Date? {
        (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))
            ?? (try? Date.ISO8601FormatStyle().parse(text))
    }
}
