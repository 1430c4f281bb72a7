import Foundation
import VigRelayCore

/// When a session was held, read from its event log for the cycle log (`GET /v1/cycles`).
extension SessionEventLog {
    /// The time of the session's first `held` event (the relay logs one when the family and the
    /// practitioner are first both in during a run of the server); nil when there is none, for an
    /// invalid id, or a session without a log. Damaged lines and a line torn by a crash are skipped.
    /// Throws when the log exists but cannot be read: a held session must not silently drop out of
    /// someone's count. Any thread but lws.
    public func heldAt(sessionID: String) throws -> Date? {
        guard let path = paths.eventLog(sessionID), let bytes = try FileIO.readAllOrMissing(path) else { return nil }
        var lines = bytes.split(separator: 0x0a, omittingEmptySubsequences: false)
        lines.removeLast()  // empty, or a line torn by a crash
        for line in lines where Self.eventName(inDamagedLine: line) == "held" {
            if let text = Self.object(line)?["time"] as? String, let time = Self.parseTime(text) { return time }
        }
        return nil
    }
}
