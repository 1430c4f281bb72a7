import Foundation
import VigRelayCore

/// The `vigrelay-client sessions` table: one line per session of a `GET /v1/sessions` answer, then
/// a line saying how many there are and how to see the next page. Pure; any thread.
public enum SessionTable {
    /// The table for the relay's JSON answer at `now`; nil when it is not a session list. A list of
    /// sessions supervised (`GET /v1/supervision`) names each session's practitioner first.
    public static func render(_ json: [UInt8], now: Date = Date(), supervising: Bool = false) -> String? {
        guard let body = (try? JSONSerialization.jsonObject(with: Data(json))) as? [String: Any],
              let sessions = body["sessions"] as? [[String: Any]] else { return nil }
        let header = (supervising ? ["PRACTITIONER"] : []) + ["CREATED (UTC)", "SESSION", "CASE", "STATE", "CONSENT", "RECORDING", "RECS", "SIZE", "CLIPS"]
        let rows = sessions.map { s in (supervising ? [s["practitioner"] as? String ?? "?"] : []) + row(s, now: now) }
        var out = TextTable.lines(header: header, rows: rows)
        let total = body["total"] as? Int ?? sessions.count
        var footer = sessions.isEmpty ? (supervising ? "no sessions shared with you for supervision" : "no sessions")
                                       : "\(sessions.count) of \(total) session\(total == 1 ? "" : "s")"
        if let next = body["nextBefore"] as? String { footer += "; next page: --before \(next)" }
        out.append(footer)
        return out.joined(separator: "\n")
    }

    /// One session's cells, in the header's order. A session still to happen (nobody, or only the
    /// practitioner, there) whose family link expired says so, and one whose family was turned away
    /// on an old link within the hour: `vigrelay-client invite` makes a new one.
    static func row(_ s: [String: Any], now: Date) -> [String] {
        let created = (s["createdAt"] as? String).map(TextTable.minute) ?? "?"
        var label = s["caseRef"] as? String ?? "-"
        if let cycle = s["cycle"] as? Int { label += " c\(cycle)" }
        if let purpose = s["purpose"] as? String { label += " \(purpose)" }
        let connected = s["connected"] as? [String] ?? []
        var state = (s["state"] as? String ?? "?") + (connected.isEmpty ? "" : " (\(connected.joined(separator: "+")))")
        let awaitingFamily = s["state"] as? String == "new" || (s["state"] as? String == "live" && !connected.contains("family"))
        if awaitingFamily, let expires = (s["inviteExpiresAt"] as? String).flatMap({ try? Date($0, strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true)) }),
           expires <= now {
            state += ", link expired"
        }
        if let reason = s["familyLinkRefused"] as? String, let at = s["familyLinkRefusedAt"] as? String {
            // Within the hour: the family's page was turned away on an old link (UTC, as `created`).
            state += ", family tried \(reason == "replaced" ? "an older" : "an expired") link at \(at.dropFirst(11).prefix(5))"
        }
        var consent = s["consent"] as? String ?? "?"
        if consent == "given", s["childAgreed"] as? Bool == true { consent += "+child" }
        if consent.hasPrefix("given"), s["supervisorMayView"] as? Bool == true { consent += "+supervisor" }
        var recording = s["recordingState"] as? String ?? "?"
        if let awaiting = s["awaiting"] as? [String], !awaiting.isEmpty { recording += " (awaiting \(awaiting.joined(separator: "+")))" }
        var recordings = "\(s["recordingCount"] as? Int ?? 0)"
        if let deleted = s["deletedRecordingCount"] as? Int, deleted > 0 { recordings += " (\(deleted) deleted)" }
        let bytes = (s["recordingBytes"] as? NSNumber)?.int64Value ?? 0
        return [created, s["sessionId"] as? String ?? "?", label, state, consent, recording, recordings,
                byteCount(bytes), "\(s["clipCount"] as? Int ?? 0)"]
    }

    /// Bytes as people read them: 0 B, 512 B, 1.5 KB, 12.3 MB, 1.2 GB (powers of 1000).
    static func byteCount(_ bytes: Int64) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: value < 10 ? "%.1f" : "%.0f", value) + " " + units[unit]
    }
}
