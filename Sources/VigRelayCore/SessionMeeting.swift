import Foundation

/// Whether a session was held: the family and the practitioner connected to it at the same time.
///
/// Fed a session's `joined`, `left` and `replaced` events oldest first (as `session.jsonl` holds
/// them), it finds the first moment both sides were in. Connections are tracked by id, so a newer
/// connection replacing an older one of the same side keeps that side in, whichever of the two
/// events was written first. A relay that stopped without writing `left` for its connections
/// leaves them counted as in: a later join of the other side then counts as a meeting. Pure value.
public struct SessionMeeting: Sendable, Equatable {
    /// The connections in the session now, by side.
    private var present: [Role: Set<Int>] = [:]
    /// When both sides were first in at once; nil until then.
    public private(set) var heldAt: Date?

    public init() {}

    /// Takes one event of the log (its name, side, connection id and time); events other than
    /// `joined`, `left` and `replaced`, and events without a side or connection, change nothing.
    /// Once the session is held, nothing changes it.
    public mutating func take(event: String, role: Role?, connection: Int?, at time: Date) {
        guard heldAt == nil, let role, let connection else { return }
        switch event {
        case "joined": present[role, default: []].insert(connection)
        case "left", "replaced": present[role]?.remove(connection)
        default: return
        }
        if present[.family]?.isEmpty == false, present[.practitioner]?.isEmpty == false {
            heldAt = time
        }
    }
}
