import Foundation
import VigRelayCore
#if canImport(Glibc)
import Glibc
#endif

/// What `SessionEventLog.lastEvent(named:sessionID:)` found.
public struct LastEventLookup {
    /// The newest readable event with that name, nil when there is none.
    public var event: [String: Any]?
    /// Lines read (newer than `event`, or all of them when none was found) that are not a JSON
    /// object: torn by a crash, or damaged.
    public var unreadableLines = 0
    /// True when one of those unreadable lines may have been an event of that name (its event name
    /// cannot be read, or it is that name): `event` may not be the newest one. A caller deciding
    /// something that matters (consent) should then not trust `event`.
    public var mayHaveMissedNewer = false

    public init() {}
}

/// Reading a session's log from its end, so start-up costs what follows the event sought rather
/// than the whole history (marks pile up after the one consent of a session).
extension SessionEventLog {
    /// Bytes read per step backwards.
    public static let tailBlockBytes = 64 << 10

    /// The newest event named `name`, reading backwards from the end of the log; see `LastEventLookup`.
    /// A missing log, or an invalid id, finds nothing. Any thread but lws (it reads the file).
    public func lastEvent(named name: String, sessionID: String, blockBytes: Int = tailBlockBytes) -> LastEventLookup {
        lastEvent(namedAnyOf: [name], sessionID: sessionID, blockBytes: blockBytes) { _ in true }
    }

    /// The newest event with one of `names` that `accept` takes, as `lastEvent(named:)`.
    public func lastEvent(namedAnyOf names: Set<String>, sessionID: String, blockBytes: Int = tailBlockBytes,
                          where accept: ([String: Any]) -> Bool) -> LastEventLookup {
        var result = LastEventLookup()
        let readAll = visitLinesBackwards(sessionID: sessionID, blockBytes: blockBytes) { line, torn in
            guard !torn, let object = Self.object(line) else {
                note(unreadable: line, names: names, into: &result)
                return true
            }
            guard let event = object["event"] as? String, names.contains(event), accept(object) else { return true }
            result.event = object
            return false
        }
        if !readAll { result.mayHaveMissedNewer = true }
        return result
    }

    /// When the session was last active: the time of its newest readable event other than a
    /// deletion (`recordings_deleted`, or a withdrawal: `consent` without `recording`) or a change of
    /// labels (`labels_changed`). Neither is work on the case: retention's own deletion, a family
    /// withdrawing from one session after the work, or a practitioner putting last year's labels
    /// right for their cycle log must not keep the case's recordings for another period. Nil without
    /// such an event.
    public func lastActivityTime(sessionID: String, blockBytes: Int = tailBlockBytes) -> Date? {
        var time: Date?
        _ = visitLinesBackwards(sessionID: sessionID, blockBytes: blockBytes) { line, torn in
            guard !torn, let object = Self.object(line), let event = object["event"] as? String,
                  event != "recordings_deleted", event != "labels_changed", event != "consent" || object["recording"] as? Bool == true,
                  let text = object["time"] as? String, let parsed = Self.parseTime(text) else { return true }
            time = parsed
            return false
        }
        return time
    }

    /// Hands the log's non-empty lines to `visit`, newest first, until it returns false. A last line
    /// without its newline (torn by a crash) comes first with `torn` true. Returns false when a read
    /// failed before `visit` stopped or the start was reached (a missing log has no lines: true).
    func visitLinesBackwards(sessionID: String, blockBytes: Int = tailBlockBytes,
                             _ visit: (_ line: ArraySlice<UInt8>, _ torn: Bool) -> Bool) -> Bool {
        guard let path = paths.eventLog(sessionID) else { return true }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return true }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return false }
        var position = Int64(st.st_size)
        // Bytes after `position` not yet split into lines (the start of the oldest line seen so far).
        var carry: [UInt8] = []
        var atEnd = true
        let block = max(1, blockBytes)
        while true {
            let count = Int(min(Int64(block), position))
            var chunk = [UInt8](repeating: 0, count: count)
            if count > 0 {
                let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(position - Int64(count))) }
                guard n == count else { return false }
            }
            position -= Int64(count)
            chunk += carry
            var lines = chunk.split(separator: 0x0a, omittingEmptySubsequences: false)
            if atEnd, lines.count == 1, position > 0 {
                carry = chunk  // no newline yet: the last line begins further back
                continue
            }
            if atEnd {
                // The piece after the last newline is empty, or a line torn by a crash.
                if let torn = lines.popLast(), !torn.isEmpty, !visit(torn, true) { return true }
                atEnd = false
            }
            // The first piece may continue in the previous block, unless the file starts here.
            carry = position > 0 ? Array(lines.removeFirst()) : []
            for line in lines.reversed() where !line.isEmpty {
                if !visit(line, false) { return true }
            }
            if position == 0 { return true }
        }
    }

    /// The JSON object on one line, or nil when the line is not one.
    static func object(_ line: ArraySlice<UInt8>) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any]
    }

    /// Counts an unreadable line, and whether it may have been an event of one of `names`.
    private func note(unreadable line: ArraySlice<UInt8>, names: Set<String>, into result: inout LastEventLookup) {
        result.unreadableLines += 1
        if Self.eventName(inDamagedLine: line).map({ !names.contains($0) }) != true { result.mayHaveMissedNewer = true }
    }

    /// The event name of a line that is not valid JSON, when its `"event":"..."` member is whole
    /// (lines are written with `time` and then `event` first); nil when it cannot be read.
    static func eventName(inDamagedLine line: ArraySlice<UInt8>) -> String? {
        let text = String(decoding: line, as: UTF8.self)
        guard let key = text.range(of: "\"event\":\"") else { return nil }
        let rest = text[key.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        let name = String(rest[..<end])
        return Identifiers.isSafeName(name, maxLength: 64) ? name : nil
    }
}
