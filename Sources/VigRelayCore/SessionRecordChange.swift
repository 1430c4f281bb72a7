import Foundation

/// A change to a stored session record after its creation: a new family link, or new labels (the
/// supervisor among them).
///
/// The writer thread applies it to the record as stored and saves the result
/// (`SessionStore.update`); the core then takes that saved record as its own. Changes are applied
/// one at a time, in the order they were asked for, to the newest record, so two asked for at
/// nearly the same moment (a new link and new labels) never undo each other, which saving a copy
/// made on the lws thread before the other's save ended could.
public enum SessionRecordChange: Sendable, Equatable {
    /// `POST /v1/sessions/{id}/invite`: invites issued before `issuedAtMs` no longer join, and the
    /// newest works until `expiresAt`.
    case newInvite(issuedAtMs: Int64, expiresAt: Date)
    /// `PATCH /v1/sessions/{id}`: the practitioner's labels.
    case labels(SessionLabelChange)

    public func apply(to record: inout SessionRecord) {
        switch self {
        case .newInvite(let issuedAtMs, let expiresAt):
            record.invitesReplacedBeforeMs = issuedAtMs
            record.inviteExpiresAt = expiresAt
        case .labels(let change):
            change.apply(to: &record)
        }
    }

    /// The event logged in the session's `session.jsonl` once the change is saved.
    public var event: String {
        switch self {
        case .newInvite: "invite_replaced"
        case .labels: "labels_changed"
        }
    }

    /// The event's fields, from the record as saved: for new labels, the labels the session has now
    /// (one it no longer has is left out), so the log shows what a session was labelled and when.
    public func eventFields(_ saved: SessionRecord) -> [String: any Sendable] {
        guard case .labels = self else { return [:] }
        var fields: [String: any Sendable] = [:]
        if let caseRef = saved.caseRef { fields["caseRef"] = caseRef }
        if let cycle = saved.cycle { fields["cycle"] = cycle }
        if let purpose = saved.purpose { fields["purpose"] = purpose.rawValue }
        if let supervisor = saved.supervisor { fields["supervisor"] = supervisor }
        return fields
    }
}

/// The body of `PATCH /v1/sessions/{id}`, validated: which of the practitioner's labels to change.
///
/// A label given is set, one given as `null` is removed, and one left out stays as it was; a
/// trainee who forgot to label a session, or mistyped the case, puts it right without touching
/// the rest. The values are checked as at creation (`SessionCreateRequest`).
public struct SessionLabelChange: Sendable, Equatable {
    /// One label's change: `nil` keeps it; `.some(nil)` removes it.
    public var caseRef: String??
    public var cycle: Int??
    public var purpose: SessionPurpose??
    public var supervisor: String??

    public init(caseRef: String?? = nil, cycle: Int?? = nil, purpose: SessionPurpose?? = nil, supervisor: String?? = nil) {
        self.caseRef = caseRef
        self.cycle = cycle
        self.purpose = purpose
        self.supervisor = supervisor
    }

    public func apply(to record: inout SessionRecord) {
        if let caseRef { record.caseRef = caseRef }
        if let cycle { record.cycle = cycle }
        if let purpose { record.purpose = purpose }
        if let supervisor { record.supervisor = supervisor }
    }

    /// The labels this body may name.
    static let fields: Set<String> = ["caseRef", "cycle", "purpose", "supervisor"]

    /// Parses and validates the JSON body. It must be an object naming at least one label and
    /// nothing else: a misspelt field is an error, not a change that quietly did nothing.
    public static func parse(_ body: [UInt8]) -> Result<SessionLabelChange, SessionCreateRequest.InvalidField> {
        guard let object = SessionCreateRequest.jsonObject(body) else {
            return .failure(.init("body is not a JSON object; send the labels to change, e.g. \(SessionCreateRequest.example), with null to remove one"))
        }
        if let unknown = object.keys.sorted().first(where: { !fields.contains($0) }) {
            return .failure(.init("\(unknown.prefix(40)) is not a label; the labels are caseRef, cycle, purpose and supervisor"))
        }
        guard !object.isEmpty else {
            return .failure(.init("name at least one label to change: caseRef, cycle, purpose or supervisor (null removes one)"))
        }
        do throws(SessionCreateRequest.InvalidField) {
            return .success(SessionLabelChange(caseRef: try object["caseRef"].map(SessionCreateRequest.caseRef),
                                               cycle: try object["cycle"].map(SessionCreateRequest.cycle),
                                               purpose: try object["purpose"].map(SessionCreateRequest.purpose),
                                               supervisor: try object["supervisor"].map(SessionCreateRequest.supervisor)))
        } catch {
            return .failure(error)
        }
    }
}
