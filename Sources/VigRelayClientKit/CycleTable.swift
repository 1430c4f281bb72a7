import Foundation
import VigRelayCore

/// The `vigrelay-client cycles` table: one line per cycle of a `GET /v1/cycles` answer (case, cycle,
/// when the filming and the review were held, what is left), then the totals. Pure; any thread.
public enum CycleTable {
    /// The table for the relay's JSON answer; nil when it is not a cycle log. `trainee`: the log is
    /// that trainee's, read by their supervisor (`cycles --practitioner`), who cannot label it.
    public static func render(_ json: [UInt8], trainee: String? = nil) -> String? {
        guard let body = (try? JSONSerialization.jsonObject(with: Data(json))) as? [String: Any],
              let cases = body["cases"] as? [[String: Any]] else { return nil }
        let header = ["CASE", "CYCLE", "FILMING (UTC)", "REVIEW (UTC)", "STATUS"]
        var rows: [[String]] = []
        for item in cases {
            let caseRef = item["caseRef"] as? String ?? "?"
            for cycle in item["cycles"] as? [[String: Any]] ?? [] {
                let filmed = cycle["filmedAt"] as? String, reviewed = cycle["reviewedAt"] as? String
                let status = cycle["complete"] as? Bool == true ? "complete"
                    : filmed == nil && reviewed == nil ? "not held yet" : filmed == nil ? "filming not held" : "review to do"
                rows.append([caseRef, "\(cycle["cycle"] as? Int ?? 0)", filmed.map(TextTable.minute) ?? "-", reviewed.map(TextTable.minute) ?? "-", status])
            }
        }
        let empty = trainee.map { "no cycles: no held session of \($0) with a case, cycle and purpose names you as supervisor" }
            ?? "no cycles: create sessions with --case-ref, --cycle and --purpose"
        var out = rows.isEmpty ? [empty] : TextTable.lines(header: header, rows: rows)
        let complete = body["completedCycles"] as? Int ?? 0, families = body["familiesWithCompletedCycles"] as? Int ?? 0
        out.append("\(complete) complete cycle\(complete == 1 ? "" : "s") (filming and review held) with \(families) famil\(families == 1 ? "y" : "ies")")
        if let unlabelled = body["heldWithoutLabels"] as? Int, unlabelled > 0 {
            let fix = trainee.map { "\($0) can label \(unlabelled == 1 ? "it" : "them")" }
                ?? "label \(unlabelled == 1 ? "it" : "them") with 'vigrelay-client label' (see 'sessions')"
            out.append("\(unlabelled) held session\(unlabelled == 1 ? " has" : "s have") no case, cycle or purpose, so \(unlabelled == 1 ? "it is" : "they are") in no cycle: \(fix)")
        }
        return out.joined(separator: "\n")
    }
}
