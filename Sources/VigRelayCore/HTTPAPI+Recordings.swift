import Foundation

/// The endpoints under `/v1/sessions/{id}`: summary, labels, downloads, clips, deletion, a new family
/// link, and the family's two: withdrawal and checking its link.
///
/// Only the session's practitioner gets anything from the others: no or a bad token 401, a family
/// invite 403, another practitioner's token or an unknown session 404 `session_not_found` (the same
/// answer, so nobody learns which sessions exist). The one exception is the supervisor the owner
/// named (`SessionRecord.supervisor`): they may read the summary and download recordings and clips,
/// and only while the family agrees (`RelayCore.supervisorMayView`; else 403 `supervision_not_agreed`).
/// Ids from the path or body are checked here (lower-case hex of the right length, parts 1...999)
/// before any outcome names them; what needs the files is decided on the reader or writer thread.
/// Used on the lws thread, like the rest of `HTTPAPI`.
extension HTTPAPI {
    /// Paths of a session's resources start with this.
    static let sessionsPrefix = "/v1/sessions/"
    /// One of the endpoints under `/v1/sessions/{id}`.
    private enum Route {
        case summary
        case recordings
        case recording(String)
        case clips
        case clip(String)
        case invite

        /// Reads the path segments after `/v1/sessions/{id}`; nil for anything else.
        init?(_ rest: ArraySlice<Substring>) {
            switch (rest.count, rest.first) {
            case (0, _): self = .summary
            case (1, "recordings"?): self = .recordings
            case (2, "recordings"?): self = .recording(String(rest[rest.startIndex + 1]))
            case (1, "clips"?): self = .clips
            case (2, "clips"?): self = .clip(String(rest[rest.startIndex + 1]))
            case (1, "invite"?): self = .invite
            default: return nil
            }
        }

        /// The methods the route serves, as a 405 names them.
        var allowed: [String] {
            switch self {
            case .summary: ["GET", "HEAD", "PATCH"]
            case .recording: ["GET", "HEAD"]
            case .clip: ["GET", "HEAD", "PATCH"]
            case .recordings: ["DELETE"]
            case .clips: ["POST"]
            case .invite: ["GET", "HEAD", "POST"]
            }
        }
    }

    /// Routes, authorizes and checks a request under `/v1/sessions/`.
    func sessionResource(_ request: HTTPRequest, core: RelayCore, now: Date) -> HTTPOutcome {
        let segments = request.path.dropFirst(Self.sessionsPrefix.count).split(separator: "/", omittingEmptySubsequences: false)
        guard let sessionID = segments.first, !sessionID.isEmpty else { return .respond(noSuchEndpoint(request.path)) }
        if segments.dropFirst().first == "family-copies" {
            return familyCopies(request, sessionID: String(sessionID), clipID: segments.dropFirst(2).first.map(String.init),
                                extra: segments.count > 3, core: core, now: now)
        }
        if segments.dropFirst().elementsEqual(["withdrawal"]) {
            guard request.method == "POST" else { return .respond(methodNotAllowed("POST")) }
            return withdrawal(request, sessionID: String(sessionID), core: core, now: now)
        }
        guard let route = Route(segments.dropFirst()) else { return .respond(noSuchEndpoint(request.path)) }
        guard route.allowed.contains(request.method) else {
            return .respond(methodNotAllowed(route.allowed.joined(separator: " or ")))
        }
        if case .invite = route, request.method != "POST" {
            return inviteCheck(request, sessionID: String(sessionID), core: core, now: now)
        }
        let practitioner: String, issuedAtMs: Int64?
        switch bearerToken(request.authorization, core: core, now: now) {
        case .failure(let error): return .respond(error.response)
        case .success(let verified):
            switch verified.claims {
            case .practitioner(let id, _): (practitioner, issuedAtMs) = (id, verified.issuedAtMs)
            case .invite:
                return .respond(.error(403, .forbidden, "a family invite does not give access to recordings or labels; only the session's practitioner can use this, with their practitioner token"))
            case .metrics: return .respond(HTTPAPI.metricsTokenRefused)
            }
        }
        guard Identifiers.isValidSessionID(sessionID), let session = core.sessions[String(sessionID)],
              session.owner == practitioner || session.supervisor == practitioner else {
            return .respond(.error(404, .sessionNotFound, "no such session of yours; use the sessionId that POST /v1/sessions returned to you"))
        }
        let asSupervisor = session.owner != practitioner
        if asSupervisor, let refusal = Self.supervisorRefusal(route, method: request.method, sessionID: session.id, core: core) {
            return .respond(refusal)
        }
        let grant = DownloadGrant(practitionerID: practitioner, tokenIssuedAtMs: issuedAtMs, asSupervisor: asSupervisor)
        let headOnly = request.method == "HEAD"
        switch route {
        case .summary where request.method == "PATCH":
            return changeLabels(request, session: session)
        case .summary:
            return .sessionSummary(session)
        case .recordings:
            return .deleteRecordings(sessionID: session.id)
        case .recording(let recordingID):
            guard Identifiers.isValidRecordingID(recordingID) else { return .respond(RecordingRequestError.recordingNotFound.response) }
            let resource: MediaRequest.Resource
            switch Self.excerptSpan(request.query) {
            case .invalid(let message): return .respond(.error(400, .invalidRequest, message))
            case .span(let fromMs, let toMs): resource = .excerpt(recordingID: recordingID, fromMs: fromMs, toMs: toMs)
            case .none:
                guard let part = Self.part(request.query) else { return .respond(RecordingRequestError.recordingNotFound.response) }
                resource = .recording(id: recordingID, part: part)
            }
            return .media(MediaRequest(sessionID: session.id, resource: resource, range: request.range, headOnly: headOnly), grant: grant)
        case .clip(let clipID) where request.method == "PATCH":
            guard Identifiers.isValidClipID(clipID) else { return .respond(RecordingRequestError.clipNotFound.response) }
            guard request.body.count <= limits.maxRequestBodyBytes else { return .respond(payloadTooLarge) }
            switch ClipRequest.noteChange(request.body) {
            case .failure(let invalid): return .respond(.error(400, .invalidRequest, invalid.message))
            case .success(let note): return .changeClipNote(sessionID: session.id, clipID: clipID, note: note)
            }
        case .clip(let clipID):
            guard Identifiers.isValidClipID(clipID) else { return .respond(RecordingRequestError.clipNotFound.response) }
            return .media(MediaRequest(sessionID: session.id, resource: .clip(id: clipID), range: request.range, headOnly: headOnly),
                          grant: grant)
        case .clips:
            return createClip(request, sessionID: session.id, core: core)
        case .invite:
            return replaceInvite(session, core: core, now: now)
        }
    }

    /// Why the session's supervisor may not do this; nil when they may: read the summary, download
    /// recordings and clips, and only while the family agrees.
    private static func supervisorRefusal(_ route: Route, method: String, sessionID: String, core: RelayCore) -> HTTPResponse? {
        let reads = method == "GET" || method == "HEAD"
        switch route {
        case .summary, .recording, .clip:
            guard reads else { return changeRefused }
            guard core.supervisorMayView(sessionID: sessionID) else {
                return .error(403, .supervisionNotAgreed, "the family has not agreed that the practitioner's supervisor may watch this session's recordings (or has taken that back); only they can agree, on their page, when the practitioner asks them")
            }
            return nil
        default:
            return changeRefused
        }
    }

    /// What the session's supervisor is told when they try to change something.
    private static let changeRefused = HTTPResponse.error(403, .forbidden, "as this session's supervisor you may watch its recordings and clips, not change anything; the session's practitioner does that")

    /// `POST /v1/sessions/{id}/invite`: a new family link, for one that expired or went astray. It
    /// replaces every earlier invite of the session (the newest link is the only one that joins) and
    /// works for `limits.inviteTTLSeconds` from now. Its issue time is past every link handed out
    /// before (`RelayCore.newInviteIssueTime`), even one asked for in the same ms and not yet saved.
    private func replaceInvite(_ session: SessionRecord, core: RelayCore, now: Date) -> HTTPOutcome {
        var record = session
        let issuedAtMs = core.newInviteIssueTime(sessionID: session.id, now: now)
        let expiresAt = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down) + TimeInterval(limits.inviteTTLSeconds))
        SessionRecordChange.newInvite(issuedAtMs: issuedAtMs, expiresAt: expiresAt).apply(to: &record)
        let invite = authority.sign(.invite(sessionID: record.id, expiresAt: expiresAt), issuedAtMs: issuedAtMs)
        return .replaceInvite(sessionID: session.id, issuedAtMs: issuedAtMs, expiresAt: expiresAt,
                              then: .json(200, inviteBody(record, invite: invite)))
    }

    /// `PATCH /v1/sessions/{id}`: the practitioner corrects the session's labels (`SessionLabelChange`),
    /// so that a session created without them, or with a mistyped case, counts in the cycle log.
    private func changeLabels(_ request: HTTPRequest, session: SessionRecord) -> HTTPOutcome {
        guard request.body.count <= limits.maxRequestBodyBytes else { return .respond(payloadTooLarge) }
        switch SessionLabelChange.parse(request.body) {
        case .failure(let invalid): return .respond(.error(400, .invalidRequest, invalid.message))
        case .success(let change) where change.supervisor == .some(.some(session.owner)): return .respond(Self.supervisorIsOwner)
        case .success(let change): return .changeLabels(sessionID: session.id, change)
        }
    }

    /// `GET /v1/sessions/{id}/invite` with the family's invite: whether it would join now, so that the
    /// family's page says a link expired or was replaced before it asks for the camera. 200 with the
    /// link's expiry and whether a supervisor is named; otherwise what `hello` would refuse it with (as 401, or 404 for another session).
    /// Asked `?from=family` (by the family's page, not the practitioner's checking the link it kept),
    /// a link refused as expired or replaced is also told to the session's practitioner, as at `hello`.
    /// Otherwise read-only: the hello decides again, as the link may be replaced in between.
    private func inviteCheck(_ request: HTTPRequest, sessionID: String, core: RelayCore, now: Date) -> HTTPOutcome {
        let froms = HTTPRequest.values("from", in: request.query)
        guard froms.isEmpty || froms == ["family"] else {
            return .respond(.error(400, .invalidRequest, "from may only be family, given once (the family's page asking for its link); leave it out to only check the link"))
        }
        let verified: VerifiedToken
        switch bearerToken(request.authorization, core: core, now: now, inviteMayBeExpired: true,
                           missing: "missing Authorization: Bearer <invite>; use the inviteToken of the family's link") {
        case .failure(let error): return .respond(error.response)
        case .success(let token): verified = token
        }
        switch verified.claims {
        case .metrics:
            return .respond(HTTPAPI.metricsTokenRefused)
        case .practitioner:
            return .respond(.error(403, .forbidden, "this checks a family's link, with its invite; to make a new link use POST /v1/sessions/{id}/invite"))
        case .invite(let invited, let expiresAt):
            // The refusal, told to the practitioner too when the family's page asked.
            func refused(_ reason: FamilyLinkRefusal, _ response: HTTPResponse) -> HTTPOutcome {
                let told = froms.isEmpty ? [] : core.familyLinkRefused(sessionID: sessionID, reason)
                return told.isEmpty ? .respond(response) : .respondAndPerform(response, told)
            }
            guard expiresAt > now else {
                let response = HTTPResponse.error(401, .unauthorized, TokenAuthority.VerifyError.expired.description)
                return invited == sessionID ? refused(.expired, response) : .respond(response)
            }
            guard invited == sessionID, let session = core.sessions[sessionID] else {
                return .respond(.error(404, .sessionNotFound, "no such session for this invite; use the session id of the same link"))
            }
            guard !session.inviteIsReplaced(issuedAtMs: verified.issuedAtMs) else {
                return refused(.replaced, .error(401, .inviteReplaced, RelayCore.inviteReplacedMessage))
            }
            // `supervised`: the practitioner named a supervisor, so the family's page asks whether they may watch.
            // `familyCopies`: the relay gives copies of clips, so the page asks which it was given.
            return .respond(.json(200, ["sessionId": sessionID, "expiresAt": ISO8601DateFormatter().string(from: expiresAt),
                                        "supervised": session.supervisor != nil, "familyCopies": limits.familyCopies]))
        }
    }

    /// `POST /v1/sessions/{id}/withdrawal` with the family's invite, which may have expired: a family
    /// may withdraw consent at any time, also long after the call, and without joining it.
    private func withdrawal(_ request: HTTPRequest, sessionID: String, core: RelayCore, now: Date) -> HTTPOutcome {
        let claims = bearerClaims(request.authorization, core: core, now: now, inviteMayBeExpired: true,
                                  missing: "missing Authorization: Bearer <invite>; use the inviteToken of the family's link")
        switch claims {
        case .failure(let error):
            return .respond(error.response)
        case .success(.metrics):
            return .respond(HTTPAPI.metricsTokenRefused)
        case .success(.practitioner):
            return .respond(.error(403, .forbidden, "only the family withdraws consent, with its invite; to delete the recordings yourself use DELETE /v1/sessions/{id}/recordings"))
        case .success(.invite(let invited, _)):
            guard invited == sessionID, core.sessions[sessionID] != nil else {
                return .respond(.error(404, .sessionNotFound, "no such session for this invite; use the session id of the same link"))
            }
            return .withdraw(sessionID: sessionID)
        }
    }

    private func createClip(_ request: HTTPRequest, sessionID: String, core: RelayCore) -> HTTPOutcome {
        guard request.body.count <= limits.maxRequestBodyBytes else { return .respond(payloadTooLarge) }
        switch ClipRequest.parse(request.body, sessionID: sessionID) {
        case .failure(.malformed(let message)):
            return .respond(.error(400, .invalidRequest, message))
        case .failure(.unknownRecording):
            return .respond(RecordingRequestError.recordingNotFound.response)
        case .success(let clip):
            if core.activeRecordingID(sessionID: sessionID) == clip.recordingID {
                return .respond(RecordingRequestError.recordingInProgress(recordingID: clip.recordingID).response)
            }
            return .createClip(clip)
        }
    }

    /// What a recording download's query asks for besides a part.
    enum ExcerptQuery: Equatable {
        /// Neither `fromMs` nor `toMs`: the whole part.
        case none
        /// `?fromMs=N&toMs=M`: an excerpt (`MediaRequest.Resource.excerpt`).
        case span(Int64, Int64)
        /// Something else: what is wrong, for a 400.
        case invalid(String)
    }

    /// Reads `?fromMs=N&toMs=M` on a recording, at most a minute apart. The rest of the span (its
    /// order, the recording's end) is checked against the recording by `ClipPlan` on the reader thread.
    static func excerptSpan(_ query: [String]) -> ExcerptQuery {
        let from = HTTPRequest.values("fromMs", in: query), to = HTTPRequest.values("toMs", in: query)
        if from.isEmpty && to.isEmpty { return .none }
        let example = "ask for e.g. ?fromMs=60000&toMs=120000 (ms from the recording's start, at most \(ClipPlan.defaultMaxSpanMs / 1000) s)"
        // Digits only, at most 10 (over 100 days of ms).
        guard from.count == 1, to.count == 1, HTTPRequest.values("part", in: query).isEmpty,
              let fromMs = HTTPRequest.wholeNumber(from[0], maxDigits: 10).map(Int64.init),
              let toMs = HTTPRequest.wholeNumber(to[0], maxDigits: 10).map(Int64.init) else {
            return .invalid("an excerpt needs fromMs and toMs once each, as whole milliseconds, and no part: \(example)")
        }
        guard toMs - fromMs <= ClipPlan.defaultMaxSpanMs else {
            return .invalid("an excerpt is at most \(ClipPlan.defaultMaxSpanMs / 1000) s (fromMs \(fromMs), toMs \(toMs)): ask for the rest in further excerpts; \(example)")
        }
        return .span(fromMs, toMs)
    }

    /// The part a download asks for: 1 without `part=`, else one `part=N` with N in 1...999
    /// written in at most three digits; nil for anything else (answered 404 like an unknown part).
    public static func part(_ query: [String]) -> Int? {
        let values = HTTPRequest.values("part", in: query)
        guard let value = values.first else { return 1 }
        guard values.count == 1, let part = HTTPRequest.wholeNumber(value, maxDigits: 3), (1...RecordingManifest.maxParts).contains(part)
        else { return nil }
        return part
    }
}
