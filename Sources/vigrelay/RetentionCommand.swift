import ArgumentParser
import Foundation
import VigRelayCore
import VigRelayStorage

/// `vigrelay retention [--retention 30d] [--json]`: what a relay with that `--retention` would
/// delete now, case by case, deleting nothing. A relay deletes what is due as it starts, so a
/// shorter period (or a typo: `3d` for `30d`) takes effect at once; this shows what it would take,
/// and how much space it would free, before the restart.
struct RetentionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Show what a relay with this --retention would delete now; deletes nothing.",
        discussion: """
            Lists, oldest first, the cases whose recordings and clips are due: a case (a practitioner's \
            caseRef, or a session without one on its own) whose last session ended longer ago than the \
            period. A relay started with the same --retention deletes them at once, before it listens; \
            one running with it, at its next sweep. Reads the data directory only, so it may run beside \
            the relay (as the relay's user).
            """)

    @Option(help: "The retention to try, e.g. 30d (default: the relay's, 60d), or keep.")
    var retention = "\(RelayLimits().retentionSeconds! / 86400)d"

    @Option(name: .customLong("data-dir"), help: "Data directory of the relay.")
    var dataDir = "./data"

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func validate() throws {
        if retention != ServeCommand.keepForever, DurationParser.seconds(retention) == nil {
            throw ValidationError(DurationParser.usage(option: "--retention", value: retention) + ", or keep")
        }
        guard FileManager.default.fileExists(atPath: dataDir + "/sessions") else {
            throw ValidationError("\(dataDir) has no sessions directory: give the relay's --data-dir")
        }
    }

    func run() throws {
        let now = Date()
        guard let seconds = DurationParser.seconds(retention) else {
            print(json ? try Self.json(RecordingStore.RetentionPreview(cases: [], heldByUnfinished: [:]), retention: retention, now: now, cutoff: nil)
                       : "# --retention keep: retention deletes nothing (recordings go when consent is withdrawn or the practitioner deletes them)")
            return
        }
        let cutoff = now.addingTimeInterval(-TimeInterval(seconds))
        let preview = RecordingStore(dataDir: dataDir).retentionPreview(cutoff)
        if json {
            print(try Self.json(preview, retention: retention, now: now, cutoff: cutoff))
        } else {
            Self.table(preview, retention: retention, now: now, cutoff: cutoff).forEach { print($0) }
        }
    }

    static func table(_ preview: RecordingStore.RetentionPreview, retention: String, now: Date, cutoff: Date) -> [String] {
        var lines = ["# --retention \(retention) at \(minute(now)) UTC: the recordings and clips of cases last active before \(minute(cutoff)) UTC"]
        if preview.cases.isEmpty {
            lines.append("# nothing would be deleted")
        } else {
            lines += TextTable.lines(header: ["last active (UTC)", "practitioner", "case", "sessions", "recordings", "media"], rows: preview.cases.map {
                [minute($0.lastActiveAt), $0.owner ?? "?", $0.caseRef ?? "-", "\($0.sessionIDs.count)", "\($0.recordings)", size($0.bytes)]
            })
            lines.append("# would be deleted: \(count(preview.cases.count, "case")), \(count(preview.sessions, "session")), \(count(preview.recordings, "recording")), \(size(preview.bytes)) of media")
            lines.append("# by a relay started with --retention \(retention) at once, or by one running with it at its next sweep; nothing was deleted now")
        }
        for (session, ids) in preview.heldByUnfinished.sorted(by: { $0.key < $1.key }) {
            lines.append("# kept although due: session \(session), whose recording \(ids.joined(separator: ", ")) is still marked as being recorded (see the relay's log from its start)")
        }
        return lines
    }

    private struct Answer: Encodable {
        struct Case: Encodable {
            var practitioner: String?, caseRef: String?, lastActiveAt: Date, sessionIds: [String], recordings: Int, bytes: Int64
        }
        var retention: String, at: Date, lastActiveBefore: Date?, cases: [Case], heldByUnfinished: [String: [String]], bytes: Int64
    }

    static func json(_ preview: RecordingStore.RetentionPreview, retention: String, now: Date, cutoff: Date?) throws -> String {
        let cases = preview.cases.map {
            Answer.Case(practitioner: $0.owner, caseRef: $0.caseRef, lastActiveAt: $0.lastActiveAt, sessionIds: $0.sessionIDs,
                        recordings: $0.recordings, bytes: $0.bytes)
        }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let answer = Answer(retention: retention, at: now, lastActiveBefore: cutoff, cases: cases, heldByUnfinished: preview.heldByUnfinished,
                            bytes: preview.bytes)
        return String(decoding: try encoder.encode(answer), as: UTF8.self)
    }

    private static func minute(_ date: Date) -> String {
        TextTable.minute(ISO8601DateFormatter.string(from: date, timeZone: .gmt, formatOptions: [.withInternetDateTime]))
    }

    private static func size(_ bytes: Int64) -> String {
        ByteCountFormatter.string(fromByteCount: bytes, countStyle: .file)
    }

    private static func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
}
