import Foundation

/// `/v1/sessions/{id}/family-copies[/{clipId}]`: copies of clips the practitioner gives the family
/// to keep, where the operator allows it (`RelayLimits.familyCopies`; docs/RECORDING.md, "Copies
/// for the family").
///
/// - The session's practitioner gives a clip (`PUT .../family-copies/{clipId}`) or takes it back
///   (`DELETE`, also once the operator no longer allows copies). The clip may be the session's own
///   or, named with `{"sessionId":...}` in the body, one of another session of theirs with the same
///   case reference: a shared review is usually a session of its own, and gives the filming's clips.
/// - The family, with the session's link (not expired, not replaced), lists what it was given
///   (`GET .../family-copies`) and fetches each (`GET .../family-copies/{clipId}`), only while it is
///   given. A clip never given answers as one that does not exist.
///
/// Nobody else gets anything: a supervisor or the practitioner reading the family's side 403, another
/// practitioner or session 404. Used on the lws thread, like the rest of `HTTPAPI`.
extension HTTPAPI {
    func familyCopies(_ request: HTTPRequest, sessionID: String, clipID: String?, extra: Bool,
                      core: RelayCore, now: Date) -> HTTPOutcome {
        guard !extra, clipID?.isEmpty != true else { return .respond(noSuchEndpoint(request.path)) }
        let allowed = clipID == nil ? ["GET", "HEAD"] : ["GET", "HEAD", "PUT", "DELETE"]
        guard allowed.contains(request.method) else { return .respond(methodNotAllowed(allowed.joined(separator: " or "))) }
        let verified: VerifiedToken
        switch bearerToken(request.authorization, core: core, now: now,
                           missing: "missing Authorization: Bearer <token>; the family uses the inviteToken of its link, the practitioner their practitioner token") {
        case .failure(let error): return .respond(error.response)
        case .success(let token): verified = token
        }
        switch verified.claims {
        case .metrics:
            return .respond(HTTPAPI.metricsTokenRefused)
        case .practitioner(let practitioner, _):
            guard Identifiers.isValidSessionID(sessionID), let session = core.sessions[sessionID],
                  session.owner == practitioner || session.supervisor == practitioner else {
                return .respond(.error(404, .sessionNotFound, "no such session of yours; use the sessionId that POST /v1/sessions returned to you"))
            }
            guard session.owner == practitioner else {
                return .respond(.error(403, .forbidden, "only the session's practitioner gives the family a copy of a clip, or takes it back"))
            }
            guard let clipID, request.method == "PUT" || request.method == "DELETE" else {
                return .respond(.error(403, .forbidden, "the family reads its copies with its link; you have the clips at GET /v1/sessions/{id}/clips/{clipId}"))
            }
            guard Identifiers.isValidClipID(clipID) else { return .respond(RecordingRequestError.clipNotFound.response) }
            guard request.method == "PUT" else {
                return .giveFamilyCopy(sessionID: sessionID, clipSessionID: sessionID, clipID: clipID, given: false)
            }
            guard limits.familyCopies else { return .respond(Self.familyCopiesOff) }
            guard request.body.count <= limits.maxRequestBodyBytes else { return .respond(payloadTooLarge) }
            switch Self.clipSession(request.body, of: session, core: core) {
            case .failure(let refusal): return .respond(refusal.response)
            case .success(let clipSession):
                return .giveFamilyCopy(sessionID: sessionID, clipSessionID: clipSession, clipID: clipID, given: true)
            }
        case .invite(let invited, _):
            guard invited == sessionID, let session = core.sessions[sessionID] else {
                return .respond(.error(404, .sessionNotFound, "no such session for this invite; use the session id of the same link"))
            }
            guard !session.inviteIsReplaced(issuedAtMs: verified.issuedAtMs) else {
                return .respond(.error(401, .inviteReplaced, RelayCore.inviteReplacedMessage))
            }
            guard request.method == "GET" || request.method == "HEAD" else {
                return .respond(.error(403, .forbidden, "only your practitioner can give you a copy of a clip; with your link you can list and save the ones they gave you"))
            }
            guard limits.familyCopies else { return .respond(Self.familyCopiesOff) }
            guard let clipID else { return .familyCopyList(sessionID: sessionID) }
            guard Identifiers.isValidClipID(clipID) else { return .respond(RecordingRequestError.clipNotFound.response) }
            return .media(MediaRequest(sessionID: sessionID, resource: .familyCopy(clipID: clipID), range: request.range,
                                       headOnly: request.method == "HEAD"),
                          grant: .family(inviteIssuedAtMs: verified.issuedAtMs))
        }
    }

    /// The session a given clip was cut in, from `PUT`'s optional body `{"sessionId":ID}`: the
    /// session itself without one; another only when the same practitioner's and of the same case
    /// (else answered as a clip that is not there, so no other session is learnt of).
    static func clipSession(_ body: [UInt8], of session: SessionRecord, core: RelayCore) -> Result<String, HTTPResponseError> {
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09 }) { return .success(session.id) }
        guard let object = SessionCreateRequest.jsonObject(body), object.keys.allSatisfy({ $0 == "sessionId" }),
              let named = object["sessionId"] as? String, Identifiers.isValidSessionID(named) else {
            return .failure(HTTPResponseError(.error(400, .invalidRequest, "the body is optional: {\"sessionId\":ID} names the session the clip was cut in, when it is another session of this case")))
        }
        guard named == session.id || (core.sessions[named].map { $0.owner == session.owner && $0.caseRef != nil && $0.caseRef == session.caseRef } ?? false) else {
            return .failure(HTTPResponseError(.error(404, .clipNotFound, "no such clip in that session, or that session is not one of yours with this session's case reference; give clips of this session, or of another session of its case")))
        }
        return .success(named)
    }

    /// A copy asked for where the operator does not give them.
    static let familyCopiesOff = HTTPResponse.error(403, .familyCopiesOff, "this relay does not give families copies of clips: the service keeps the videos and deletes them at the end of the work (the operator turns copies on with vigrelay serve --family-copies, where the service's consent form allows it)")
}
