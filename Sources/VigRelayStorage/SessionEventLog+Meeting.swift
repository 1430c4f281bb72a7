import Foundation
import VigRelayCore

/// When a session was held, read from its event log for the cycle log (`GET /v1/cycles`).
extension SessionEventLog {
    /// The first time the family and the practitioner were connected to the session at once
    /// (`SessionMeeting`), reading the log from its start until then; nil when they never were, for
    /// an invalid id, or a session without a log. Torn or damaged lines are skipped. Any thread but lws.
    public func heldAt(sessionID: String) -> Date? {
        guard let path = paths.eventLog(sessionID), let bytes = FileIO.readAll(path) else { return nil }
        var meeting = SessionMeeting()
        var lines = bytes.split(separator: 0x0a, omittingEmptySubsequences: false)
        lines.removeLast()  // empty, or a line torn by a crash
        for line in lines {
            guard let name = Self.eventName(inDamagedLine: line), Self.meetingEvents.contains(name),
                  let object = Self.object(line), let text = object["time"] as? String, let time = Self.parseTime(text) else { continue }
            meeting.take(event: name, role: (object["role"] as? String).flatMap(Role.init(rawValue:)),
                         connection: object["connection"] as? Int, at: time)
            if let held = meeting.heldAt { return held }
        }
        return nil
    }

    /// The events that move a side in or out of the session.
    private static let meetingEvents: Set<String> = ["joined", "left", "replaced"]
}
