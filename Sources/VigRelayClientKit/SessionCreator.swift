import Foundation
import VigRelayCore

/// The practitioner's labels for a new session (all optional; the relay validates them).
public struct SessionLabels: Sendable, Equatable {
    public var caseRef: String?
    public var cycle: Int?
    public var purpose: String?
    /// The supervisor's practitioner id: they may watch the recordings if the family agrees.
    public var supervisor: String?

    public init(caseRef: String? = nil, cycle: Int? = nil, purpose: String? = nil, supervisor: String? = nil) {
        self.caseRef = caseRef
        self.cycle = cycle
        self.purpose = purpose
        self.supervisor = supervisor
    }

    /// The labels given, by their JSON names.
    var jsonObject: [String: Any] {
        var object: [String: Any] = [:]
        if let caseRef { object["caseRef"] = caseRef }
        if let cycle { object["cycle"] = cycle }
        if let purpose { object["purpose"] = purpose }
        if let supervisor { object["supervisor"] = supervisor }
        return object
    }

    /// The JSON body of `POST /v1/sessions`.
    var jsonBody: [UInt8] { ControlEncoder.encode(jsonObject) }
}

/// A change of a session's labels as `PATCH /v1/sessions/{id}` takes it: the labels in `set` are
/// set, those in `remove` removed, the rest kept.
public struct SessionLabelEdit: Sendable, Equatable {
    public var set: SessionLabels
    /// Labels to remove, by their JSON names (`caseRef`, `cycle`, `purpose`, `supervisor`).
    public var remove: Set<String>

    public init(set: SessionLabels = SessionLabels(), remove: Set<String> = []) {
        self.set = set
        self.remove = remove
    }

    /// The JSON body: each label set, and `null` for each removed.
    public var jsonBody: [UInt8] {
        var object = set.jsonObject
        for name in remove { object[name] = NSNull() }
        return ControlEncoder.encode(object)
    }

    /// The relay's answer as `name: value` lines, each label shown or "(none)"; nil for an answer
    /// that is not a JSON object with a `sessionId`.
    public static func describe(answer: String) -> String? {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(answer.utf8))) as? [String: Any],
              let id = object["sessionId"] as? String else { return nil }
        let labels = ["caseRef", "cycle", "purpose", "supervisor"].map { name in "\(name): \(object[name].map { "\($0)" } ?? "(none)")" }
        return (["sessionId: \(id)"] + labels).joined(separator: "\n")
    }
}

/// A session the relay created: what the practitioner hands to the family.
public struct CreatedSession: Sendable, Equatable {
    /// The new session's id.
    public var sessionID: String
    /// The family's invite token.
    public var inviteToken: String
    /// The family's join page, invite in the URL fragment.
    public var joinURL: String
    /// When the invite expires (ISO 8601).
    public var expiresAt: String
    /// The response body exactly as received.
    public var json: String
}

/// Creates sessions with `POST /v1/sessions` over the loop's lws client.
public enum SessionCreator {
    /// Sends the request and reads the 201; a refused token is `tokenRefused`, any other answer a
    /// `protocolError` naming the status and the relay's error code.
    public static func create(loop: ClientLoop, token: String, labels: SessionLabels,
                              timeoutSeconds: Double = 10) throws(ClientError) -> CreatedSession {
        let exchange = request(loop: loop, token: token, labels: labels)
        loop.open(exchange)
        guard let outcome = exchange.result.wait(until: Date().addingTimeInterval(timeoutSeconds)) else {
            throw .unreachable(server: loop.endpoint.description, detail: "no answer to POST /v1/sessions within \(Int(timeoutSeconds)) s")
        }
        return try read(outcome.get())
    }

    /// The `POST /v1/sessions` exchange, not opened yet (`load` opens many and does not wait on each).
    static func request(loop: ClientLoop, token: String, labels: SessionLabels) -> HTTPSExchange {
        HTTPSExchange(loop: loop, method: "POST", path: "/v1/sessions",
                      headers: [("authorization", "Bearer \(token)"), ("content-type", "application/json")],
                      body: labels.jsonBody)
    }

    /// `POST /v1/sessions/{id}/invite`: a new family link for the session, which replaces every
    /// earlier one (a family still connected with one is disconnected).
    public static func newInvite(loop: ClientLoop, token: String, sessionID: String) throws(ClientError) -> CreatedSession {
        let reply = try RecordingAPI.request(loop, "POST", "/v1/sessions/\(try RecordingAPI.checked(sessionID))/invite", token: token)
        return try invite(in: reply, status: 200)
    }

    /// `PATCH /v1/sessions/{id}`: changes the session's labels; returns the relay's answer (the
    /// session's id and the labels it has now) as JSON text.
    public static func changeLabels(loop: ClientLoop, token: String, sessionID: String, edit: SessionLabelEdit) throws(ClientError) -> String {
        let reply = try RecordingAPI.request(loop, "PATCH", "/v1/sessions/\(try RecordingAPI.checked(sessionID))", token: token, body: edit.jsonBody)
        return String(decoding: reply.body, as: UTF8.self)
    }

    /// Reads the relay's answer: the 201's session, or the error it stands for.
    static func read(_ reply: HTTPReply) throws(ClientError) -> CreatedSession {
        let text = String(decoding: reply.body, as: UTF8.self)
        let object = (try? JSONSerialization.jsonObject(with: Data(reply.body))) as? [String: Any] ?? [:]
        let code = object["code"] as? String
        let message = object["message"] as? String ?? text
        switch reply.status {
        case 201:
            return try invite(in: reply, status: 201)
        case 401, 403:
            throw .tokenRefused(code: code ?? (reply.status == 401 ? "unauthorized" : "forbidden"), message: message)
        default:
            throw .protocolError("the relay answered POST /v1/sessions with HTTP \(reply.status)" + (code.map { " \($0)" } ?? "") + ": \(message.prefix(300))")
        }
    }

    /// The session and invite in a successful answer (`status`) of `POST /v1/sessions` or `.../invite`.
    private static func invite(in reply: HTTPReply, status: Int) throws(ClientError) -> CreatedSession {
        let text = String(decoding: reply.body, as: UTF8.self)
        let object = (try? JSONSerialization.jsonObject(with: Data(reply.body))) as? [String: Any] ?? [:]
        guard let id = object["sessionId"] as? String, let invite = object["inviteToken"] as? String,
              let join = object["joinUrl"] as? String, let expires = object["expiresAt"] as? String
        else { throw .protocolError("the relay's \(status) answer lacks sessionId, inviteToken, joinUrl or expiresAt: \(text.prefix(300))") }
        return CreatedSession(sessionID: id, inviteToken: invite, joinURL: join, expiresAt: expires, json: text)
    }
}
