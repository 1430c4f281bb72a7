import Foundation
import VigRelayCore

/// What is on disk about the sessions of a `GET /v1/sessions` page (reader thread).
///
/// Per session: the recording manifests (a directory listing and one small JSON file each; a
/// recording still being written is sized by its files), the clip records counted by name, and the
/// event log read backwards only as far as its newest `consent` and `joined` events. Bounded by the
/// page size (at most `HTTPAPI.maxSessionListLimit` sessions).
extension RecordingReader {
    /// The response body for a page: its sessions with what the files say.
    public func sessionList(_ page: SessionListPage) -> [String: Any] {
        page.body(facts: page.items.map { diskFacts(sessionID: $0.session.id) })
    }

    /// What the files say about one session; nothing for an invalid id or a session without files.
    public func diskFacts(sessionID: String) -> SessionDiskFacts {
        var facts = SessionDiskFacts()
        for manifest in store.manifests(sessionID: sessionID) {
            if manifest.state == .deleted {
                facts.deletedRecordings += 1
                continue
            }
            facts.recordingIDs.append(manifest.recordingId)
            facts.recordingBytes += manifest.state == .recording ? writtenBytes(manifest) : manifest.bytes
        }
        if let dir = store.paths.clipsDirectory(sessionID) {
            facts.clips = FileIO.names(in: dir).filter { $0.hasSuffix(".json") && Identifiers.isValidClipID($0.dropLast(5)) }.count
        }
        readLog(sessionID: sessionID, into: &facts)
        return facts
    }

    /// The media bytes of a recording being written: its parts' files as they are now (its manifest
    /// on disk has totals only up to the last part that opened).
    private func writtenBytes(_ manifest: RecordingManifest) -> Int64 {
        manifest.parts.reduce(0) { sum, part in
            sum + (store.mediaPath(sessionID: manifest.sessionId, recordingID: manifest.recordingId, part: part.number)
                .flatMap(FileIO.regularFileSize) ?? 0)
        }
    }

    /// The newest event's time, the newest `consent` event and whether anyone ever joined, reading
    /// the log from its end until both events are found. A consent event that a damaged newer line
    /// may have superseded counts as no answer, as at start (`PersistedRecordingState`).
    private func readLog(sessionID: String, into facts: inout SessionDiskFacts) {
        var consent: [String: Any]?
        var doubtful = false
        let readAll = events.visitLinesBackwards(sessionID: sessionID) { line, torn in
            guard !torn, let object = SessionEventLog.object(line) else {
                if consent == nil, SessionEventLog.eventName(inDamagedLine: line).map({ $0 != "consent" }) != true { doubtful = true }
                return true
            }
            if facts.lastEventAt == nil, let time = object["time"] as? String { facts.lastEventAt = SessionEventLog.parseTime(time) }
            switch object["event"] as? String {
            case "consent"?: if consent == nil { consent = object }
            case "joined"?: facts.joined = true
            default: break
            }
            return consent == nil || !facts.joined
        }
        guard let consent, readAll, !doubtful, let recording = consent["recording"] as? Bool, Self.isBoolean(consent["recording"]) else {
            return
        }
        func agreed(_ field: String) -> Bool { (consent[field] as? Bool ?? false) && Self.isBoolean(consent[field]) }
        facts.consent = ConsentAnswer(recording: recording, childAgreed: agreed("childAgreed"), supervisorMayView: agreed("supervisorMayView"))
    }

    /// JSONSerialization gives booleans as NSNumber, like 0 and 1: only a real JSON boolean counts.
    private static func isBoolean(_ value: Any?) -> Bool {
        (value as? NSNumber).map { String(cString: $0.objCType) == "c" } ?? false
    }
}
