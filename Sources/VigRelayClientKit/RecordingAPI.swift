import Foundation
import VigRelayCore

/// A clip the relay made: `POST /v1/sessions/{id}/clips`.
public struct CreatedClip: Sendable, Equatable {
    public var clipID: String
    /// The span the clip really covers: cut at keyframes, a little wider than asked.
    public var actualFromMs: Int
    public var actualToMs: Int
    /// The relay's answer as received.
    public var json: String
}

/// The practitioner's HTTP calls about sessions and recordings: the session list, the session
/// summary, clips, downloads, copies given to the family; and the family's, fetching those copies.
/// Each waits for the answer with a deadline; the relay's refusals become `ClientError`s that name
/// its error code and message.
public enum RecordingAPI {
    /// `GET /v1/sessions[?limit=N][&before=ID]`: a page of the practitioner's sessions, newest first,
    /// as the relay's JSON bytes (`SessionTable` renders them).
    /// With `supervising`, `GET /v1/supervision`: the sessions the token's practitioner supervises
    /// and whose families agreed that they may watch the recordings.
    public static func sessions(loop: ClientLoop, token: String, limit: Int?, before: String?, supervising: Bool = false) throws(ClientError) -> [UInt8] {
        var query: [String] = []
        if let limit { query.append("limit=\(limit)") }
        if let before { query.append("before=\(before)") }
        let path = supervising ? "/v1/supervision" : "/v1/sessions"
        return try request(loop, "GET", path + (query.isEmpty ? "" : "?" + query.joined(separator: "&")), token: token).body
    }

    /// `GET /v1/cycles`: the practitioner's cycle log, as the relay's JSON bytes (`CycleTable` renders
    /// them); with `practitioner`, a supervisor's view of that trainee's (their sessions naming the token's id).
    public static func cycles(loop: ClientLoop, token: String, practitioner: String? = nil) throws(ClientError) -> [UInt8] {
        try request(loop, "GET", "/v1/cycles" + (practitioner.map { "?practitioner=\($0)" } ?? ""), token: token).body
    }

    /// `GET /v1/sessions/{id}`: the session's events summary, recordings, marks and clips, as JSON text.
    public static func summary(loop: ClientLoop, token: String, sessionID: String) throws(ClientError) -> String {
        let reply = try request(loop, "GET", "/v1/sessions/\(try checked(sessionID))", token: token)
        return String(decoding: reply.body, as: UTF8.self)
    }

    /// `POST /v1/sessions/{id}/clips`: a clip of `fromMs..<toMs` of a recording.
    public static func createClip(loop: ClientLoop, token: String, sessionID: String, recordingID: String,
                                  fromMs: Int, toMs: Int, note: String?) throws(ClientError) -> CreatedClip {
        var body: [String: Any] = ["recordingId": recordingID, "fromMs": fromMs, "toMs": toMs]
        if let note { body["note"] = note }
        let reply = try request(loop, "POST", "/v1/sessions/\(try checked(sessionID))/clips", token: token,
                                body: ControlEncoder.encode(body), expect: 201)
        let text = String(decoding: reply.body, as: UTF8.self)
        let object = (try? JSONSerialization.jsonObject(with: Data(reply.body))) as? [String: Any] ?? [:]
        guard let id = object["clipId"] as? String else { throw .protocolError("the relay's 201 answer has no clipId: \(text.prefix(300))") }
        return CreatedClip(clipID: id, actualFromMs: object["actualFromMs"] as? Int ?? fromMs,
                           actualToMs: object["actualToMs"] as? Int ?? toMs, json: text)
    }

    /// `PUT` (`give`) or `DELETE /v1/sessions/{id}/family-copies/{clipId}`: gives the session's family
    /// a copy of the clip to keep (a clip of `clipSessionID`, another session of its case, when given),
    /// or takes it back; the relay's JSON answer as text.
    public static func familyCopy(loop: ClientLoop, token: String, sessionID: String, clipID: String, clipSessionID: String? = nil,
                                  give: Bool) throws(ClientError) -> String {
        let body = try clipSessionID.map { id throws(ClientError) in ControlEncoder.encode(["sessionId": try checked(id)]) } ?? []
        let reply = try request(loop, give ? "PUT" : "DELETE", "/v1/sessions/\(try checked(sessionID))/family-copies/\(try checkedClip(clipID))",
                                token: token, body: body)
        return String(decoding: reply.body, as: UTF8.self)
    }

    /// A clip the family was given to keep, as `GET .../family-copies` lists it.
    public struct FamilyCopy: Sendable, Equatable {
        public var clipID: String
        public var mediaType: String
        public var bytes: Int64
    }

    /// `GET /v1/sessions/{id}/family-copies` with the family's invite: the clips it was given, and the
    /// relay's JSON answer as text.
    public static func familyCopies(loop: ClientLoop, invite: InviteLink) throws(ClientError) -> (copies: [FamilyCopy], json: String) {
        let reply = try request(loop, "GET", "/v1/sessions/\(try checked(invite.sessionID))/family-copies", token: invite.token)
        let object = (try? JSONSerialization.jsonObject(with: Data(reply.body))) as? [String: Any] ?? [:]
        let copies = (object["clips"] as? [[String: Any]] ?? []).compactMap { clip -> FamilyCopy? in
            guard let id = clip["clipId"] as? String, Identifiers.isValidClipID(id) else { return nil }
            return FamilyCopy(clipID: id, mediaType: clip["mediaType"] as? String ?? "", bytes: (clip["bytes"] as? NSNumber)?.int64Value ?? 0)
        }
        return (copies, String(decoding: reply.body, as: UTF8.self))
    }

    /// What to download.
    public enum Resource: Sendable, Equatable {
        case recording(id: String, part: Int)
        case clip(id: String)
        /// A clip given to the family, fetched with its invite.
        case familyCopy(id: String)
    }

    /// `GET` a recording part or a clip into `path`; returns the bytes written. The body goes into a
    /// hidden file beside `path` (`.NAME.partial`), which takes `path`'s place only once complete: a
    /// download that fails or is interrupted leaves no half file, and a file already at `path` is
    /// replaced only by a whole one.
    public static func download(loop: ClientLoop, token: String, sessionID: String, _ resource: Resource,
                                to path: String, timeoutSeconds: Double = 600) throws(ClientError) -> Int64 {
        let target: String
        switch resource {
        case .recording(let id, let part): target = "recordings/\(id)" + (part == 1 ? "" : "?part=\(part)")
        case .clip(let id): target = "clips/\(id)"
        case .familyCopy(let id): target = "family-copies/\(id)"
        }
        let url = URL(fileURLWithPath: path)
        let partial = url.deletingLastPathComponent().appendingPathComponent("." + url.lastPathComponent + ".partial").path
        // Mode 0600: a recording or clip of a child at home, for its owner only (fchmod: a partial
        // file left by a killed download keeps its mode through O_CREAT).
        let fd = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io("cannot write \(partial) (to download into \(path)): \(String(cString: strerror(errno)))") }
        _ = fchmod(fd, 0o600)
        let file = FileHandle(fileDescriptor: fd, closeOnDealloc: false)
        defer { close(fd) }
        do throws(ClientError) {
            let reply = try request(loop, "GET", "/v1/sessions/\(try checked(sessionID))/\(target)", token: token,
                                    saveTo: file, timeoutSeconds: timeoutSeconds)
            guard fsync(fd) == 0, rename(partial, path) == 0 else {
                throw ClientError.io("cannot put the download in place at \(path): \(String(cString: strerror(errno)))")
            }
            return reply.savedBytes
        } catch {
            unlink(partial)
            if case .interrupted = error { throw .interrupted("interrupted: the download stopped, and nothing was written to \(path)") }
            throw error
        }
    }

    /// `sessionID` if it is one (an id from the command line, before it goes into a path).
    static func checked(_ sessionID: String) throws(ClientError) -> String {
        guard Identifiers.isValidSessionID(sessionID) else {
            throw .usage("--session '\(sessionID)' is not a session id: 32 lower-case hex characters, as printed by 'vigrelay-client create'")
        }
        return sessionID
    }

    /// `clipID` if it is one (an id from the command line, before it goes into a path).
    static func checkedClip(_ clipID: String) throws(ClientError) -> String {
        guard Identifiers.isValidClipID(clipID) else {
            throw .usage("--clip '\(clipID)' is not a clip id: 16 lower-case hex characters, as printed by 'vigrelay-client clip' or 'session'")
        }
        return clipID
    }

    /// One request with a bearer token, answered within `timeoutSeconds`; an answer other than
    /// `expect` is thrown as the relay's refusal. (Also `ServerSampler`'s `GET /metrics`.)
    static func request(_ loop: ClientLoop, _ method: String, _ path: String, token: String, body: [UInt8] = [],
                                expect: Int = 200, saveTo: FileHandle? = nil, timeoutSeconds: Double = 15) throws(ClientError) -> HTTPReply {
        var headers = [("authorization", "Bearer \(token)")]
        if !body.isEmpty { headers.append(("content-type", "application/json")) }
        let exchange = HTTPSExchange(loop: loop, method: method, path: path, headers: headers, body: body, saveTo: saveTo)
        loop.open(exchange)
        guard let outcome = Interruption.wait(for: exchange.result, until: Date().addingTimeInterval(timeoutSeconds)) else {
            if Interruption.requested { throw .interrupted("interrupted before the answer to \(method) \(path) was complete") }
            throw .unreachable(server: loop.endpoint.description, detail: "no complete answer to \(method) \(path) within \(Int(timeoutSeconds)) s")
        }
        let reply = try outcome.get()
        guard reply.status != expect else { return reply }
        let object = (try? JSONSerialization.jsonObject(with: Data(reply.body))) as? [String: Any] ?? [:]
        let code = object["code"] as? String
        let message = object["message"] as? String ?? String(decoding: reply.body.prefix(300), as: UTF8.self)
        // A refused token is a 401 or 403 with a token's code (or none); any other code (a 403
        // `supervision_not_agreed`: the token is good, the family has not agreed) is said as the relay says it.
        let tokenCodes = Set([RelayErrorCode.unauthorized, .forbidden, .inviteReplaced].map(\.rawValue))
        if reply.status == 401 || reply.status == 403, code.map(tokenCodes.contains) ?? true {
            throw .tokenRefused(code: code ?? (reply.status == 401 ? "unauthorized" : "forbidden"), message: message)
        }
        throw .protocolError("the relay answered \(method) \(path) with HTTP \(reply.status)" + (code.map { " \($0)" } ?? "") + ": \(message)")
    }
}
