import Foundation

/// `GET /v1/sessions`: the practitioner's own sessions, newest first, a page at a time; and
/// `GET /v1/supervision`: the sessions whose owners named them supervisor and whose families agreed
/// that they may watch the recordings, in the same form.
///
/// Same authorization as creating a session: no or a bad token 401, a family invite 403. Each
/// practitioner sees only the sessions they created (or supervise). `?limit=N` (1-200, default 50)
/// bounds the page; `?before=ID` (the previous page's `nextBefore`) continues after that session.
/// The page is chosen here on the lws thread from memory; the reader thread adds what is on disk
/// (`.sessionList`).
extension HTTPAPI {
    /// Sessions per page when `limit` is not given.
    public static let defaultSessionListLimit = 50
    /// Most sessions per page.
    public static let maxSessionListLimit = 200

    func listSessions(_ request: HTTPRequest, core: RelayCore, now: Date, asSupervisor: Bool = false) -> HTTPOutcome {
        let practitioner: String
        switch bearerClaims(request.authorization, core: core, now: now) {
        case .failure(let error): return .respond(error.response)
        case .success(.practitioner(let id, _)): practitioner = id
        case .success(.invite): return .respond(.error(403, .forbidden, "a family invite cannot list sessions; use a practitioner token"))
        case .success(.metrics): return .respond(HTTPAPI.metricsTokenRefused)
        }
        let query: SessionListQuery
        switch SessionListQuery.parse(request.query) {
        case .failure(let invalid): return .respond(.error(400, .invalidRequest, invalid.message))
        case .success(let parsed): query = parsed
        }
        let listed = asSupervisor ? core.sessionList(supervisor: practitioner, limit: query.limit, before: query.before)
                                  : core.sessionList(owner: practitioner, limit: query.limit, before: query.before)
        guard let page = listed else {
            return .respond(.error(400, .invalidRequest, "before must be a sessionId of yours, as nextBefore of the previous page gave it"))
        }
        return .sessionList(page)
    }

    /// `GET /v1/cycles`: the practitioner's cycle log (`CycleLog`), from all their sessions. Same
    /// authorization as the list. With `?practitioner=ID`, a supervisor reads a trainee's: from the
    /// trainee's sessions that name them as supervisor (the count supervisors ask for; no video, so
    /// the family's agreement to watching is not needed). Anyone else gets an empty log, which says
    /// nothing about whether the trainee exists.
    func cycleLog(_ request: HTTPRequest, core: RelayCore, now: Date) -> HTTPOutcome {
        let me: String
        switch bearerClaims(request.authorization, core: core, now: now) {
        case .failure(let error): return .respond(error.response)
        case .success(.practitioner(let id, _)): me = id
        case .success(.invite): return .respond(.error(403, .forbidden, "a family invite cannot read the cycle log; use a practitioner token"))
        case .success(.metrics): return .respond(HTTPAPI.metricsTokenRefused)
        }
        let named = HTTPRequest.values("practitioner", in: request.query).map(String.init)
        let invalid = HTTPResponse.error(400, .invalidRequest, "practitioner must be the practitioner id of someone whose sessions name you as supervisor, given once")
        guard named.count <= 1 else { return .respond(invalid) }
        guard let trainee = named.first, trainee != me else { return .cycleLog(core.cycleLogSessions(owner: me)) }
        guard Identifiers.isValidPractitionerID(trainee) else { return .respond(invalid) }
        return .cycleLog(core.cycleLogSessions(owner: trainee).filter { $0.record.supervisor == me })
    }
}

/// The query of `GET /v1/sessions`, checked: `limit=N` and `before=ID`, each at most once; other
/// arguments are ignored.
public struct SessionListQuery: Sendable, Equatable {
    public var limit: Int
    public var before: String?

    public init(limit: Int = HTTPAPI.defaultSessionListLimit, before: String? = nil) {
        self.limit = limit
        self.before = before
    }

    /// Reads the query arguments (`name=value` each, as `HTTPRequest.query` holds them).
    public static func parse(_ query: [String]) -> Result<SessionListQuery, SessionCreateRequest.InvalidField> {
        var out = SessionListQuery()
        let limits = HTTPRequest.values("limit", in: query)
        if let value = limits.first {
            guard limits.count == 1, let n = HTTPRequest.wholeNumber(value, maxDigits: 3), (1...HTTPAPI.maxSessionListLimit).contains(n) else {
                return .failure(.init("limit must be a whole number from 1 to \(HTTPAPI.maxSessionListLimit) (default \(HTTPAPI.defaultSessionListLimit)), given once"))
            }
            out.limit = n
        }
        let befores = HTTPRequest.values("before", in: query).map(String.init)
        if let value = befores.first {
            guard befores.count == 1, Identifiers.isValidSessionID(value) else {
                return .failure(.init("before must be a sessionId (32 lower-case hex characters), as nextBefore of the previous page gave it, given once"))
            }
            out.before = value
        }
        return .success(out)
    }
}
