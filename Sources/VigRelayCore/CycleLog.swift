import Foundation

/// A practitioner's VIG cycle log (`GET /v1/cycles`): for each case, which cycles had their filming
/// and their shared review held, and how many cycles are complete with how many families.
///
/// A cycle is a filming visit plus its shared review; trainees count complete cycles and the
/// families they did them with for accreditation, and supervisors ask for the count. The relay knows
/// a session's case, cycle and purpose from its creation or a later `PATCH` (`caseRef`, `cycle`, `purpose`) and whether
/// it was held from its event log (a `held` event): the family and the practitioner connected at
/// the same time. A session missing one of the three labels belongs to no cycle; held, it is counted
/// apart so the practitioner knows the log leaves it out. Pure value.
public struct CycleLog: Sendable, Equatable {
    /// One of the practitioner's sessions and when it was held (nil: not held, or not yet).
    public struct Session: Sendable, Equatable {
        public var record: SessionRecord
        public var heldAt: Date?

        public init(record: SessionRecord, heldAt: Date?) {
            self.record = record
            self.heldAt = heldAt
        }
    }

    /// One cycle of a case: when its filming and its review were first held.
    public struct Cycle: Sendable, Equatable {
        public var number: Int
        public var filmedAt: Date?
        public var reviewedAt: Date?
        /// Both the filming and the review were held.
        public var isComplete: Bool { filmedAt != nil && reviewedAt != nil }

        public init(number: Int, filmedAt: Date? = nil, reviewedAt: Date? = nil) {
            self.number = number
            self.filmedAt = filmedAt
            self.reviewedAt = reviewedAt
        }
    }

    /// A case (a family, by the practitioner's pseudonymous reference) and its cycles, by number.
    public struct Case: Sendable, Equatable {
        public var caseRef: String
        public var cycles: [Cycle]
    }

    /// Cases by `caseRef`, each with the cycles any of its labelled sessions names.
    public private(set) var cases: [Case]
    /// Held sessions without a case, cycle or purpose: in no cycle.
    public private(set) var heldWithoutLabels: Int

    /// Cycles whose filming and review were both held.
    public var completedCycles: Int { cases.reduce(0) { $0 + $1.cycles.filter(\.isComplete).count } }
    /// Cases with at least one complete cycle.
    public var familiesWithCompletedCycles: Int { cases.filter { $0.cycles.contains(where: \.isComplete) }.count }

    /// Groups the sessions into cases and cycles; a cycle's filming (or review) counts from the
    /// earliest of its held filming (review) sessions.
    public init(_ sessions: [Session]) {
        var byCase: [String: [Int: Cycle]] = [:]
        var unlabelled = 0
        for session in sessions {
            let record = session.record
            guard let caseRef = record.caseRef, let number = record.cycle, let purpose = record.purpose else {
                if session.heldAt != nil { unlabelled += 1 }
                continue
            }
            var cycle = byCase[caseRef]?[number] ?? Cycle(number: number)
            if let held = session.heldAt {
                switch purpose {
                case .filming: cycle.filmedAt = min(cycle.filmedAt ?? held, held)
                case .review: cycle.reviewedAt = min(cycle.reviewedAt ?? held, held)
                }
            }
            byCase[caseRef, default: [:]][number] = cycle
        }
        cases = byCase.keys.sorted().map { ref in
            Case(caseRef: ref, cycles: byCase[ref]!.values.sorted { $0.number < $1.number })
        }
        heldWithoutLabels = unlabelled
    }

    /// The log as JSON (docs/PROTOCOL.md, `GET /v1/cycles`).
    public var json: [String: Any] {
        [
            "cases": cases.map { item -> [String: Any] in
                ["caseRef": item.caseRef, "cycles": item.cycles.map { cycle -> [String: Any] in
                    var out: [String: Any] = ["cycle": cycle.number, "complete": cycle.isComplete]
                    if let at = cycle.filmedAt { out["filmedAt"] = UTCTime.format(at) }
                    if let at = cycle.reviewedAt { out["reviewedAt"] = UTCTime.format(at) }
                    return out
                }]
            },
            "completedCycles": completedCycles,
            "familiesWithCompletedCycles": familiesWithCompletedCycles,
            "heldWithoutLabels": heldWithoutLabels,
        ]
    }
}
