import Foundation

/// An HTTP request as the API needs it; the server fills it from lws.
public struct HTTPRequest: Sendable {
    public var method: String
    /// Path without the query string.
    public var path: String
    public var authorization: String?
    public var body: [UInt8]
    /// The query string's arguments as lws gives them, URL-decoded, one `name=value` each (`?part=2`
    /// is `["part=2"]`).
    public var query: [String]
    /// The `Range` header, if any.
    public var range: String?

    public init(method: String, path: String, authorization: String? = nil, body: [UInt8] = [],
                query: [String] = [], range: String? = nil) {
        self.method = method
        self.path = path
        self.authorization = authorization
        self.body = body
        self.query = query
        self.range = range
    }
}

extension HTTPRequest {
    /// The values of query argument `name` in `query`, in order: `?part=2&part=3` gives ["2", "3"]
    /// for "part"; [] when it is absent. Each parser decides whether more than one is allowed.
    static func values(_ name: String, in query: [String]) -> [Substring] {
        query.filter { $0.hasPrefix(name + "=") }.map { $0.dropFirst(name.count + 1) }
    }

    /// A whole number written in 1...`maxDigits` ASCII digits (no sign, no spaces), else nil.
    static func wholeNumber(_ text: Substring, maxDigits: Int) -> Int? {
        guard (1...maxDigits).contains(text.utf8.count), text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int(text)
    }
}

/// A complete HTTP response with a JSON body.
public struct HTTPResponse: Sendable, Equatable {
    public var status: Int
    public var body: [UInt8]
    public var contentType = "application/json"
    /// Headers beyond the common and security ones, by lower-case name (e.g. `content-range` on a 416).
    public var headers: [String: String] = [:]
    /// For an error response: its code, which the server counts (`vigrelay_errors_total`).
    public var errorCode: RelayErrorCode?

    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }

    public static func json(_ status: Int, _ object: [String: Any]) -> HTTPResponse {
        HTTPResponse(status: status, body: ControlEncoder.encode(object))
    }

    public static func error(_ status: Int, _ code: RelayErrorCode, _ message: String) -> HTTPResponse {
        var response = HTTPResponse(status: status, body: ControlEncoder.error(code, message))
        response.errorCode = code
        return response
    }
}

/// What the server must do for a request.
public enum HTTPOutcome: Sendable, Equatable {
    /// Send this response now.
    case respond(HTTPResponse)
    /// Carry out the core's actions (a notice to a WebSocket connection), then send the response.
    case respondAndPerform(HTTPResponse, [RelayAction])
    /// Persist the new session (off the lws thread), then send the response; on failure answer 500.
    case persistSession(SessionRecord, then: HTTPResponse)
    /// Apply the new family link to the stored session record (`SessionRecordChange.newInvite`, off
    /// the lws thread); then hand the saved record to `RelayCore.inviteReplaced` and send the
    /// response. On failure answer 500: the old link still works.
    case replaceInvite(sessionID: String, issuedAtMs: Int64, expiresAt: Date, then: HTTPResponse)
    /// Apply the label change to the stored session record (off the lws thread); then hand the saved
    /// record to `RelayCore.sessionRecordSaved` and answer 200 with its labels (`labelsBody`). On
    /// failure answer 500: nothing changed.
    case changeLabels(sessionID: String, SessionLabelChange)
    /// Read the session's recordings, clips, marks and events on the reader thread and answer 200
    /// with the summary.
    case sessionSummary(SessionRecord)
    /// Read what is on disk about each session of the page on the reader thread and answer 200 with
    /// the list (`GET /v1/sessions`).
    case sessionList(SessionListPage)
    /// Read each of the practitioner's sessions' event logs on the reader thread for when it was
    /// first held (the core's own note, since the server started, stands in while the log has not
    /// caught up), and answer 200 with their cycle log (`GET /v1/cycles`).
    case cycleLog([CycleLog.Session])
    /// Stream a recording part or a clip from disk on the reader thread (200, 206 or 416; 404 when
    /// it is not there). Who it was granted to goes with it: a revocation that covers the token, or
    /// for a supervisor the family's agreement ending, cuts the download off.
    case media(MediaRequest, grant: DownloadGrant)
    /// Plan the clip on the reader thread, store it on the writer thread, then answer 201.
    case createClip(ClipRequest)
    /// Give the clip a new note (sealed again on an encrypted recording) on the writer thread, log
    /// `clip_noted` (ids only), then answer 200 with the clip.
    case changeClipNote(sessionID: String, clipID: String, note: String)
    /// Give the session's family a copy of clip `clipID` of session `clipSessionID` (the session
    /// itself, or another of its case), or, `given` false, take it back, in the session's list of
    /// copies on the writer thread; log it, tell the family's page (`RelayCore.familyCopiesChanged`),
    /// then answer 200.
    case giveFamilyCopy(sessionID: String, clipSessionID: String, clipID: String, given: Bool)
    /// List the clips given to the family on the reader thread and answer 200 (the family's link).
    case familyCopyList(sessionID: String)
    /// Stop any recording of the session and delete every recording and clip on the writer thread
    /// (`RelayCore.recordingsDeletionRequested`), then answer 200 with the ids.
    case deleteRecordings(sessionID: String)
    /// The family withdraws consent without joining (`RelayCore.withdrawalRequested`): recording
    /// stops, every recording and clip is deleted on the writer thread, then 200 with the ids.
    case withdraw(sessionID: String)
    /// `GET /metrics` by a metrics token: the server's counters in Prometheus' text format, gathered
    /// by the server (the core holds none of them).
    case metrics
}

/// The HTTP API's routing and decisions, pure: health, creating and listing sessions, the web app's files.
///
/// Thread: used on the lws thread together with the `RelayCore` it reads and updates.
public struct HTTPAPI {
    public let authority: TokenAuthority
    public let limits: RelayLimits
    /// Base of `joinUrl`, e.g. `https://127.0.0.1:8443`, without a trailing slash.
    public let publicURL: String
    /// The web app served at `/`, `/join` and `/app/...` (empty: those paths answer 404).
    public let site: WebSite

    public init(authority: TokenAuthority, limits: RelayLimits, publicURL: String, site: WebSite = WebSite()) {
        self.authority = authority
        self.limits = limits
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.site = site
    }

    /// Decides the outcome of one request. `core` gets a new session when one is created, and takes
    /// note of a new family link's issue time when one is signed.
    public func handle(_ request: HTTPRequest, core: RelayCore, now: Date) -> HTTPOutcome {
        switch request.path {
        case "/healthz":
            guard request.method == "GET" || request.method == "HEAD" else { return .respond(methodNotAllowed("GET")) }
            return .respond(.json(200, ["status": "ok", "connections": core.connectionCount]))
        case "/metrics":
            guard request.method == "GET" || request.method == "HEAD" else { return .respond(methodNotAllowed("GET")) }
            switch bearerClaims(request.authorization, core: core, now: now,
                                missing: "missing Authorization: Bearer <metrics token>; get one with 'vigrelay token metrics --id ID'") {
            case .failure(let error): return .respond(error.response)
            case .success(.metrics): return .metrics
            case .success: return .respond(.error(403, .forbidden, "GET /metrics needs a metrics token ('vigrelay token metrics --id ID'), not a practitioner token or an invite"))
            }
        case "/v1/sessions":
            switch request.method {
            case "POST": return createSession(request, core: core, now: now)
            case "GET", "HEAD": return listSessions(request, core: core, now: now)
            default: return .respond(methodNotAllowed("GET or POST"))
            }
        case "/v1/supervision":
            guard request.method == "GET" || request.method == "HEAD" else { return .respond(methodNotAllowed("GET")) }
            return listSessions(request, core: core, now: now, asSupervisor: true)
        case "/v1/cycles":
            guard request.method == "GET" || request.method == "HEAD" else { return .respond(methodNotAllowed("GET")) }
            return cycleLog(request, core: core, now: now)
        case _ where WebSite.owns(path: request.path):
            guard request.method == "GET" || request.method == "HEAD" else { return .respond(methodNotAllowed("GET")) }
            return .respond(site.response(forPath: request.path))
        default:
            if request.path.hasPrefix(Self.sessionsPrefix) { return sessionResource(request, core: core, now: now) }
            return .respond(noSuchEndpoint(request.path))
        }
    }

    /// The 403 for a metrics token anywhere but `GET /metrics`.
    static let metricsTokenRefused = HTTPResponse.error(403, .forbidden, "a metrics token only reads GET /metrics; use a practitioner token or the family invite here")

    /// The 404 for a path the API does not serve.
    func noSuchEndpoint(_ path: String) -> HTTPResponse {
        .error(404, .notFound, "no such endpoint: \(path.prefix(100)); see docs/PROTOCOL.md")
    }

    /// The response for a body larger than `limits.maxRequestBodyBytes`.
    public var payloadTooLarge: HTTPResponse {
        .error(413, .tooLarge, "request body is larger than \(limits.maxRequestBodyBytes) bytes")
    }

    /// The response for a body still arriving `limits.requestBodySeconds` after the request's head.
    public var bodyTooSlow: HTTPResponse {
        .error(408, .requestTimeout, "the request body took longer than \(limits.requestBodySeconds) s to arrive; send it again, all at once")
    }

    /// The answer to a request on a connection past `ConnectionQuota.limit` (then closed).
    public func tooManyConnections(_ quota: ConnectionQuota) -> HTTPResponse {
        .error(429, .tooManyConnections, quota.refusalMessage)
    }

    /// The answer to `CONNECT` (the proxy method) and to methods lws does not know (`TRACE`, `BREW`,
    /// garbage): lws hands such a connection over as a raw socket before the API sees a request, so
    /// the server answers this and closes, whatever the method was.
    public var methodNotServed: HTTPResponse {
        .error(405, .methodNotAllowed, "this relay is not a proxy and serves only the methods and paths in docs/PROTOCOL.md (GET, HEAD, POST, PATCH, DELETE)")
    }

    func methodNotAllowed(_ allowed: String) -> HTTPResponse {
        .error(405, .methodNotAllowed, "use \(allowed) on this path")
    }

    private func createSession(_ request: HTTPRequest, core: RelayCore, now: Date) -> HTTPOutcome {
        let practitioner: String
        switch bearerClaims(request.authorization, core: core, now: now) {
        case .failure(let error): return .respond(error.response)
        case .success(.practitioner(let id, _)): practitioner = id
        case .success(.invite): return .respond(.error(403, .forbidden, "a family invite cannot create sessions; use a practitioner token"))
        case .success(.metrics): return .respond(HTTPAPI.metricsTokenRefused)
        }
        guard request.body.count <= limits.maxRequestBodyBytes else { return .respond(payloadTooLarge) }
        let labels: SessionCreateRequest
        switch SessionCreateRequest.parse(request.body) {
        case .failure(let invalid): return .respond(.error(400, .invalidRequest, invalid.message))
        case .success(let parsed): labels = parsed
        }
        if labels.supervisor == practitioner { return .respond(Self.supervisorIsOwner) }
        let created = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        let record = SessionRecord(id: Identifiers.newSessionID(), owner: practitioner, createdAt: created,
                                   inviteExpiresAt: created.addingTimeInterval(TimeInterval(limits.inviteTTLSeconds)),
                                   caseRef: labels.caseRef, cycle: labels.cycle, purpose: labels.purpose, supervisor: labels.supervisor)
        core.addSession(record)
        let body = inviteBody(record, invite: authority.sign(.invite(sessionID: record.id, expiresAt: record.inviteExpiresAt), issuedAt: now))
        return .persistSession(record, then: .json(201, body.merging(labelsBody(record)) { invite, _ in invite }))
    }

    /// The session's id and the labels it has (`caseRef`, `cycle`, `purpose`; each left out when not
    /// set), as `POST /v1/sessions` and `PATCH /v1/sessions/{id}` answer them.
    public func labelsBody(_ record: SessionRecord) -> [String: Any] {
        var body: [String: Any] = ["sessionId": record.id]
        if let c = record.caseRef { body["caseRef"] = c }
        if let c = record.cycle { body["cycle"] = c }
        if let p = record.purpose { body["purpose"] = p.rawValue }
        if let s = record.supervisor { body["supervisor"] = s }
        return body
    }

    /// What the practitioner hands to the family, as `POST /v1/sessions` and `.../invite` answer it.
    func inviteBody(_ record: SessionRecord, invite: String) -> [String: Any] {
        [
            "sessionId": record.id,
            "inviteToken": invite,
            "joinUrl": "\(publicURL)/join#session=\(record.id)&invite=\(invite)",
            "expiresAt": ISO8601DateFormatter().string(from: record.inviteExpiresAt),
            "webSocketUrl": webSocketURL(sessionID: record.id),
        ]
    }

    private func webSocketURL(sessionID: String) -> String {
        let base = publicURL.hasPrefix("https://") ? "wss://" + publicURL.dropFirst(8) : publicURL
        return "\(base)/v1/sessions/\(sessionID)/ws"
    }

    /// A practitioner naming themselves as a session's supervisor.
    static let supervisorIsOwner = HTTPResponse.error(400, .invalidRequest, "supervisor must be another practitioner's id (your supervisor's), not yours")

    /// The 401 message for a request without a bearer token where a practitioner token is needed.
    static let missingPractitionerToken = "missing Authorization: Bearer <practitioner token>; get one with 'vigrelay token practitioner --id ID'"

    /// Reads and checks `Authorization: Bearer <token>`, against the core's revocations.
    func bearerClaims(_ header: String?, core: RelayCore, now: Date, inviteMayBeExpired: Bool = false,
                      missing: String = missingPractitionerToken) -> Result<TokenClaims, HTTPResponseError> {
        bearerToken(header, core: core, now: now, inviteMayBeExpired: inviteMayBeExpired, missing: missing).map(\.claims)
    }

    /// `bearerClaims`, also with the token's issue time.
    func bearerToken(_ header: String?, core: RelayCore, now: Date, inviteMayBeExpired: Bool = false,
                     missing: String = missingPractitionerToken) -> Result<VerifiedToken, HTTPResponseError> {
        guard let header, header.lowercased().hasPrefix("bearer ") else {
            return .failure(HTTPResponseError(.error(401, .unauthorized, missing)))
        }
        let token = header.dropFirst(7).trimmingCharacters(in: .whitespaces)
        do {
            return .success(try authority.verify(token, now: now, revocations: core.tokenRevocations, inviteMayBeExpired: inviteMayBeExpired))
        } catch {
            return .failure(HTTPResponseError(.error(401, .unauthorized, error.description)))
        }
    }
}

/// An HTTP error response carried through `Result`.
struct HTTPResponseError: Error {
    let response: HTTPResponse
    init(_ response: HTTPResponse) { self.response = response }
}
