import Foundation
import VigRelayCore

/// The cycle log's reading (reader thread): one event log per session of the practitioner, each read
/// from its start only as far as the first moment both sides were in.
extension RecordingReader {
    /// The response body of `GET /v1/cycles` for these sessions. A meeting in a session's event log
    /// is the first ever; the core's (`heldAt` as given) is the first since the server started, and
    /// counts while the writer has not yet logged it.
    public func cycleLog(_ sessions: [CycleLog.Session]) -> [String: Any] {
        CycleLog(sessions.map { CycleLog.Session(record: $0.record, heldAt: events.heldAt(sessionID: $0.record.id) ?? $0.heldAt) }).json
    }
}
