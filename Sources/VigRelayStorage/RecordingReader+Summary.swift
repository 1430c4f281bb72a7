import Foundation
import VigRelayCore

/// The session summary of `GET /v1/sessions/{id}`, read from the files (reader thread).
extension RecordingReader {
    /// The summary as a JSON object: the session's labels, consent and event counts from
    /// `session.jsonl`, every recording (deleted ones by id and state only), the marks of recordings
    /// not deleted, the clips, and the copies given to the family. Times are ISO 8601 UTC with milliseconds.
    public func summary(of session: SessionRecord) -> [String: Any] {
        let sid = session.id
        let log = events.read(sessionID: sid)
        let manifests = store.manifests(sessionID: sid)
        let deleted = Set(manifests.filter { $0.state == .deleted }.map(\.recordingId))
        // Notes of encrypted recordings are sealed (`NoteSeal`); a key that does not open leaves them unread.
        let seals = manifests.reduce(into: [String: NoteSeal]()) { $0[$1.recordingId] = try? NoteSeal.of($1, keyring: keyring) }
        var out: [String: Any] = [
            "sessionId": sid,
            "createdAt": UTCTime.format(session.createdAt),
            "consent": Self.consent(log),
            "events": Self.eventCounts(log),
            "recordings": manifests.map(recordingSummary),
            "marks": marks(log, sessionID: sid, deleted: deleted, seals: seals),
            "clips": store.clips(sessionID: sid).map { Self.clip($0, seal: seals[$0.recordingId]) },
        ]
        if let copies = try? store.familyCopies(sessionID: sid) { out["familyCopies"] = familyCopies(copies, log: log) }
        if let c = session.caseRef { out["caseRef"] = c }
        if let c = session.cycle { out["cycle"] = c }
        if let p = session.purpose { out["purpose"] = p.rawValue }
        if let s = session.supervisor { out["supervisor"] = s }
        out["practitioner"] = session.owner
        return out
    }

    /// The clips given to the family to keep (of this session or another of its case), while they
    /// are there, each with `fetchedAt` once the family has fetched it since it was given (the
    /// newest `family_copy_downloaded`: a download that started, from its first byte).
    func familyCopies(_ copies: [FamilyCopy], log: [[String: Any]]) -> [[String: Any]] {
        copies.filter { store.clip(of: $0) != nil }.map { copy in
            var shown = copy.summary
            // Times are all written by UTCTime.format, so their text sorts as they do.
            let given = UTCTime.format(copy.givenAt)
            if let fetched = log.last(where: { $0["event"] as? String == "family_copy_downloaded" && $0["clipId"] as? String == copy.clipId
                                              && ($0["time"] as? String ?? "") >= given })?["time"] {
                shown["fetchedAt"] = fetched
            }
            return shown
        }
    }

    /// The last consent event: `{"recording":Bool,"childAgreed":Bool,"supervisorMayView":Bool,"at":time}`,
    /// or `{"recording":false}` when the family never answered.
    static func consent(_ log: [[String: Any]]) -> [String: Any] {
        guard let last = log.last(where: { $0["event"] as? String == "consent" }) else { return ["recording": false] }
        var out: [String: Any] = ["recording": last["recording"] as? Bool ?? false, "childAgreed": last["childAgreed"] as? Bool ?? false,
                                  "supervisorMayView": last["supervisorMayView"] as? Bool ?? false]
        if let time = last["time"] as? String { out["at"] = time }
        return out
    }

    /// `{"count":N,"byType":{"consent":1,...},"firstAt":time,"lastAt":time}`.
    static func eventCounts(_ log: [[String: Any]]) -> [String: Any] {
        var byType: [String: Int] = [:]
        for event in log { byType[event["event"] as? String ?? "unknown", default: 0] += 1 }
        var out: [String: Any] = ["count": log.count, "byType": byType]
        if let first = log.first?["time"] as? String { out["firstAt"] = first }
        if let last = log.last?["time"] as? String { out["lastAt"] = last }
        return out
    }

    /// A clip as the summary lists it, its note opened; `"noteUnreadable": true` (and an empty note)
    /// when it is sealed and does not open.
    static func clip(_ record: ClipRecord, seal: NoteSeal?) -> [String: Any] {
        var shown = record
        let note = record.openNote(with: seal)
        shown.note = note ?? ""
        var out = shown.summary
        out["createdAt"] = UTCTime.format(record.createdAt)
        if note == nil { out["noteUnreadable"] = true }
        return out
    }

    /// The `mark` events with their notes (from `MarkNotes`, opened with the recording's seal),
    /// leaving out deleted recordings' marks and the marks the practitioner removed (`mark_removed`).
    func marks(_ log: [[String: Any]], sessionID: String, deleted: Set<String>, seals: [String: NoteSeal]) -> [[String: Any]] {
        var notes: [String: [String: String?]] = [:]
        let removed = Set(log.filter { $0["event"] as? String == "mark_removed" }.compactMap { $0["markId"] as? String })
        return log.filter { $0["event"] as? String == "mark" }.compactMap { event in
            guard let rid = event["recordingId"] as? String, let markID = event["markId"] as? String,
                  !removed.contains(markID) else { return nil }
            if notes[rid] == nil {
                notes[rid] = MarkNotes(dataDir: store.paths.dataDir).notes(sessionID: sessionID, recordingID: rid, seal: seals[rid])
            }
            return Self.mark(event, deleted: deleted, notes: notes[rid] ?? [:])
        }
    }

    /// A `mark` event as the summary lists it; nil for a deleted recording's mark or a damaged line.
    /// A note that is sealed and does not open is `"note": ""` with `"noteUnreadable": true`.
    static func mark(_ event: [String: Any], deleted: Set<String>, notes: [String: String?]) -> [String: Any]? {
        guard let markID = event["markId"] as? String, let rid = event["recordingId"] as? String, !deleted.contains(rid),
              let atMs = event["atMs"] as? Int else { return nil }
        var out: [String: Any] = ["markId": markID, "recordingId": rid, "atMs": atMs, "note": (notes[markID] ?? "") ?? ""]
        if case .some(.none) = notes[markID] { out["noteUnreadable"] = true }
        if let time = event["time"] as? String { out["createdAt"] = time }
        return out
    }

    /// One recording: ids, state, times, totals and parts; a deleted one without media information.
    /// A recording still being written has its totals counted from the index (its manifest on disk
    /// is rewritten only when a part opens).
    func recordingSummary(_ stored: RecordingManifest) -> [String: Any] {
        var out: [String: Any] = ["recordingId": stored.recordingId, "state": stored.state.rawValue,
                                  "startedAt": UTCTime.format(stored.startedAt)]
        if let stopped = stored.stoppedAt { out["stoppedAt"] = UTCTime.format(stopped) }
        guard stored.state != .deleted else { return out }
        let manifest = stored.state == .recording ? liveTotals(stored) : stored
        out["mediaType"] = manifest.mediaType
        out["bytes"] = manifest.bytes
        out["frames"] = manifest.frames
        out["durationMs"] = manifest.durationMs
        out["parts"] = manifest.parts.map { ["number": $0.number, "bytes": $0.bytes, "frames": $0.frames,
                                             "durationMs": $0.durationMs, "startMs": $0.startMs] as [String: Any] }
        return out
    }

    /// A running recording's manifest with each part's totals counted from the index, up to the
    /// bytes in its file now.
    private func liveTotals(_ manifest: RecordingManifest) -> RecordingManifest {
        guard let index = store.index(sessionID: manifest.sessionId, recordingID: manifest.recordingId) else { return manifest }
        var live = manifest
        for i in live.parts.indices {
            let number = live.parts[i].number
            let size = store.mediaPath(sessionID: manifest.sessionId, recordingID: manifest.recordingId, part: number)
                .flatMap(FileIO.regularFileSize) ?? 0
            var tally = RecordingPartTally()
            for frame in index.frames(part: number) where frame.end <= size { tally.add(frame) }
            for cluster in index.clusters(part: number) where cluster.offset < size { tally.addClusterTime(cluster.timeMs) }
            tally.apply(to: &live.parts[i])
        }
        return live
    }
}
