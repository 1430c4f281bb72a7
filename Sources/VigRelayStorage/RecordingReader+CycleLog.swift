import Foundation
import VigRelayCore

/// The cycle log's reading (reader thread): one event log per session of the practitioner.
extension RecordingReader {
    /// The response body of `GET /v1/cycles` for these sessions. A `held` event in a session's log
    /// is the first ever; the core's (`heldAt` as given) is the first since the server started, and
    /// counts while the writer has not yet logged it. Throws when a log cannot be read.
    public func cycleLog(_ sessions: [CycleLog.Session]) throws -> [String: Any] {
        try CycleLog(sessions.map { CycleLog.Session(record: $0.record, heldAt: try events.heldAt(sessionID: $0.record.id) ?? $0.heldAt) }).json
    }
}
