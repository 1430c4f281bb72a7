import Foundation

/// A session as the server keeps it: who owns it, when its invite expires, and the practitioner's labels.
///
/// Persisted by the storage layer as `sessions/{id}/session.json`, so it survives restarts.
public struct SessionRecord: Sendable, Codable, Equatable {
    public var id: String
    /// The practitioner id from the token that created the session; only they may join as practitioner.
    public var owner: String
    public var createdAt: Date
    /// When the family's newest invite stops working.
    public var inviteExpiresAt: Date
    /// Set when the practitioner asked for a new family link (`POST /v1/sessions/{id}/invite`): the
    /// issue time, in ms since 1970, of that newest invite. An invite issued earlier (or without an
    /// issue time) was replaced and no longer joins; nil while the first invite is the only one.
    public var invitesReplacedBeforeMs: Int64?
    /// The practitioner's pseudonymous family reference (never a name).
    public var caseRef: String?
    /// Which VIG cycle of the case this is: 1, 2, ...
    public var cycle: Int?
    public var purpose: SessionPurpose?
    /// The practitioner id of the owner's supervisor, named by the owner: they may watch the
    /// session's recordings and clips while the family's consent says so
    /// (`ConsentAnswer.supervisorMayView`), and do nothing else with the session.
    public var supervisor: String?

    public init(id: String, owner: String, createdAt: Date, inviteExpiresAt: Date,
                caseRef: String? = nil, cycle: Int? = nil, purpose: SessionPurpose? = nil, supervisor: String? = nil,
                invitesReplacedBeforeMs: Int64? = nil) {
        self.id = id
        self.owner = owner
        self.createdAt = createdAt
        self.inviteExpiresAt = inviteExpiresAt
        self.invitesReplacedBeforeMs = invitesReplacedBeforeMs
        self.caseRef = caseRef
        self.cycle = cycle
        self.purpose = purpose
        self.supervisor = supervisor
    }

    /// Whether an invite issued at `issuedAtMs` (nil: a token from before invites carried their
    /// issue time) was replaced by a newer one.
    public func inviteIsReplaced(issuedAtMs: Int64?) -> Bool {
        guard let cutoff = invitesReplacedBeforeMs else { return false }
        return (issuedAtMs ?? .min) < cutoff
    }
}

/// What a session is for within a VIG cycle.
public enum SessionPurpose: String, Sendable, Codable, CaseIterable {
    case filming
    case review
}

/// The optional body of `POST /v1/sessions`, validated.
public struct SessionCreateRequest: Sendable, Equatable {
    public static let maxCaseRefLength = 64
    public static let maxCycle = 99

    public var caseRef: String?
    public var cycle: Int?
    public var purpose: SessionPurpose?
    public var supervisor: String?

    public init(caseRef: String? = nil, cycle: Int? = nil, purpose: SessionPurpose? = nil, supervisor: String? = nil) {
        self.caseRef = caseRef
        self.cycle = cycle
        self.purpose = purpose
        self.supervisor = supervisor
    }

    /// Parses and validates the JSON body; an empty body means no labels. The error text names the field.
    public static func parse(_ body: [UInt8]) -> Result<SessionCreateRequest, InvalidField> {
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09 }) { return .success(.init()) }
        guard let object = jsonObject(body) else {
            return .failure(InvalidField("body is not a JSON object; send e.g. \(example) or nothing"))
        }
        do throws(InvalidField) {
            return .success(SessionCreateRequest(caseRef: try object["caseRef"].flatMap(caseRef), cycle: try object["cycle"].flatMap(cycle),
                                                 purpose: try object["purpose"].flatMap(purpose),
                                                 supervisor: try object["supervisor"].flatMap(supervisor)))
        } catch {
            return .failure(error)
        }
    }

    /// A body that shows every label.
    static let example = #"{"caseRef":"fam-042","cycle":1,"purpose":"filming"}"#

    /// The body as a JSON object; nil for anything else.
    static func jsonObject(_ body: [UInt8]) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    }

    /// A `caseRef` value checked: nil for JSON null.
    static func caseRef(_ value: Any) throws(InvalidField) -> String? {
        if value is NSNull { return nil }
        guard let s = value as? String, Identifiers.isSafeName(s, maxLength: maxCaseRefLength) else {
            throw InvalidField("caseRef must be 1-\(maxCaseRefLength) characters of A-Z a-z 0-9 . _ - starting with a letter or digit (a pseudonymous reference, never a name)")
        }
        return s
    }

    /// A `cycle` value checked: nil for JSON null.
    static func cycle(_ value: Any) throws(InvalidField) -> Int? {
        if value is NSNull { return nil }
        // A JSON number bridges to Bool when it is 0 or 1 (`value is Bool` is true for `1`), so booleans are
        // told apart by their NSNumber type code instead: "c" is what JSONSerialization gives true/false.
        let isBoolean = (value as? NSNumber).map { String(cString: $0.objCType) == "c" } ?? false
        guard !isBoolean, let n = value as? Int, (1...maxCycle).contains(n), (value as? Double).map({ $0 == Double(n) }) ?? true else {
            throw InvalidField("cycle must be a whole number from 1 to \(maxCycle)")
        }
        return n
    }

    /// A `supervisor` value checked (a practitioner id, as `vigrelay token practitioner --id` takes
    /// it): nil for JSON null.
    static func supervisor(_ value: Any) throws(InvalidField) -> String? {
        if value is NSNull { return nil }
        guard let s = value as? String, Identifiers.isValidPractitionerID(s) else {
            throw InvalidField("supervisor must be your supervisor's practitioner id: 1-64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit")
        }
        return s
    }

    /// A `purpose` value checked: nil for JSON null.
    static func purpose(_ value: Any) throws(InvalidField) -> SessionPurpose? {
        if value is NSNull { return nil }
        guard let s = value as? String, let p = SessionPurpose(rawValue: s) else {
            throw InvalidField("purpose must be \"filming\" or \"review\"")
        }
        return p
    }

    /// A request field that did not validate, with a message saying what is expected.
    public struct InvalidField: Error, Equatable {
        public let message: String
        public init(_ message: String) { self.message = message }
    }
}
