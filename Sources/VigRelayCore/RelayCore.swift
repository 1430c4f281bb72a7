import Foundation

/// The relay's decisions for WebSocket connections: authentication, pairing, roles, forwarding, the
/// late-joiner cache. Pure: it returns `RelayAction`s and never touches a socket or a file.
///
/// Thread: owned by the lws service thread; not Sendable.
public final class RelayCore {
    public let limits: RelayLimits
    private let authority: TokenAuthority
    /// The clock (injected by tests).
    let now: () -> Date

    /// Every session this relay knows, live or not.
    public private(set) var sessions: [String: SessionRecord] = [:]
    private var live: [String: LiveSession] = [:]
    /// Consent and recording state per session (see RelayCore+Recording.swift).
    var recordingStates: [String: SessionRecordingState] = [:]
    /// Sessions whose running recording waits for a side that is away (see RelayCore+Grace.swift).
    var sessionsAwaited: Set<String> = []
    /// Set by `shutdown()`: connections closing then are not "away" (the writer finishes every recording).
    var isShuttingDown = false
    /// Sessions someone joined since the server started (the session list tells new from ended).
    var sessionsJoined: Set<String> = []
    /// When each session held since the server started first had both sides in at once, logged as
    /// `held` with that time: the cycle log counts it at once, before the writer has logged it.
    var sessionsHeldAt: [String: Date] = [:]
    /// Whether the data directory's file system had less than `limits.minFreeSpaceBytes` left when
    /// last measured (`diskSpaceMeasured`): recordings do not start then.
    public internal(set) var diskSpaceLow = false
    private var connections: [ConnectionID: ConnectionState] = [:]
    /// The tokens the operator revoked (`vigrelay token revoke`), checked at every hello and request.
    public private(set) var tokenRevocations: TokenRevocations
    /// When the token each joined connection said hello with was issued (nil: a token without an
    /// issue time), so a later revocation or a new family link closes the connections it covers.
    private var tokenIssuedAt: [ConnectionID: Int64?] = [:]
    /// The newest family-link issue time handed out per session since the server started, saved
    /// or still being saved (see `newInviteIssueTime`).
    private var newestInviteIssuedMs: [String: Int64] = [:]
    /// The practitioner connections whose hello asked for `family_link_refused` (see
    /// RelayCore+FamilyLinkRefusal.swift).
    var wantsFamilyLinkRefusals: Set<ConnectionID> = []
    /// Each session's newest refusal of the family's link, kept for a practitioner who joins later.
    var lastFamilyLinkRefusal: [String: RefusedFamilyLink] = [:]
    /// Which of a session's practitioner connections was last told the family's link was refused, and when.
    var familyLinkRefusalToldAt: [String: (connection: ConnectionID, at: Date)] = [:]

    private enum ConnectionState {
        case awaitingHello(sessionID: String)
        case joined(sessionID: String, role: Role)
        case closing
    }

    /// A session with at least one connection or cached stream (a class: mutated in place per frame).
    private final class LiveSession {
        var slots: [Role: ConnectionID] = [:]
        var caches: [MediaStream: StreamCache] = [:]
        /// Each stream's bytes over the last `limits.viewerQueueSeconds`: its viewer's queue limit.
        var recent: [MediaStream: RecentBytes] = [:]
        /// When each stream's sender left; its cache is dropped `limits.staleCacheSeconds` later.
        var senderLeftAt: [MediaStream: Date] = [:]
    }

    public init(limits: RelayLimits, authority: TokenAuthority, sessions: [SessionRecord],
                revocations: TokenRevocations = TokenRevocations(), now: @escaping () -> Date = Date.init) {
        self.limits = limits
        self.authority = authority
        self.tokenRevocations = revocations
        self.now = now
        for s in sessions { self.sessions[s.id] = s }
    }

    /// Number of open WebSocket connections (any state).
    public var connectionCount: Int { connections.count }

    /// Adds a session created through the HTTP API.
    public func addSession(_ record: SessionRecord) { sessions[record.id] = record }

    /// Forgets a session whose creation could not be persisted.
    public func removeSession(id: String) { sessions[id] = nil }

    /// A change to a session's record was saved (`SessionRecordChange.labels`): the record as stored
    /// is the session's from now on. A new supervisor ends the family's agreement that the
    /// supervisor may watch, and the family's page hears whether one is named (`supervisorRenamed`):
    /// what to tell and log.
    public func sessionRecordSaved(_ record: SessionRecord) -> [RelayAction] {
        let before = sessions[record.id]?.supervisor
        sessions[record.id] = record
        return before == record.supervisor ? [] : supervisorRenamed(sessionID: record.id, wasSupervised: before != nil)
    }

    // MARK: Connection events

    /// A WebSocket upgraded on `path`. The server starts the hello timer unless this closes it.
    public func opened(_ conn: ConnectionID, path: String) -> [RelayAction] {
        guard let sessionID = Self.sessionID(fromWebSocketPath: path) else {
            connections[conn] = .closing
            return [.send(conn, .error(.sessionNotFound, "no WebSocket endpoint at this path; connect to /v1/sessions/{sessionId}/ws")),
                    .close(conn, code: RelayCloseCode.notFound, reason: "unknown path")]
        }
        connections[conn] = .awaitingHello(sessionID: sessionID)
        return []
    }

    /// A WebSocket opened on a connection past `quota`'s limit: told why, then closed with 1013 (try
    /// again later: once some of the address's connections close, a new one is let in).
    public func openedPastConnectionLimit(_ conn: ConnectionID, quota: ConnectionQuota) -> [RelayAction] {
        connections[conn] = .closing
        return [.send(conn, .error(.tooManyConnections, quota.refusalMessage)),
                .close(conn, code: RelayCloseCode.tryAgainLater, reason: "too many connections")]
    }

    /// The hello timer fired.
    public func helloTimedOut(_ conn: ConnectionID) -> [RelayAction] {
        guard case .awaitingHello = connections[conn] else { return [] }
        connections[conn] = .closing
        return [.send(conn, .error(.helloTimeout, "no hello within \(limits.helloTimeoutSeconds) s; send {\"type\":\"hello\",\"token\":\"...\"} first")),
                .close(conn, code: RelayCloseCode.policyViolation, reason: "hello timeout")]
    }

    /// A message grew past `limits.maxMessageBytes` while arriving.
    public func messageTooLarge(_ conn: ConnectionID) -> [RelayAction] {
        // A connection already asked to close (replaced, bye, refused) gets no second error or close.
        switch connections[conn] {
        case .none, .closing?: return []
        case .awaitingHello?, .joined?: break
        }
        let leaving = detach(conn)
        connections[conn] = .closing
        return [.send(conn, .error(.tooLarge, "message is larger than \(limits.maxMessageBytes) bytes; split media into smaller frames")),
                .close(conn, code: RelayCloseCode.messageTooBig, reason: "message too large")] + leaving
    }

    /// The connection is gone (closed by either side). The peer is told at once.
    public func closed(_ conn: ConnectionID) -> [RelayAction] {
        let actions = detach(conn)
        connections[conn] = nil
        tokenIssuedAt[conn] = nil
        wantsFamilyLinkRefusals.remove(conn)
        return actions
    }

    /// The operator's revocations changed: from now on they refuse the tokens they cover, and each
    /// practitioner connection that joined with such a token is told and closed (1008).
    public func revocationsChanged(_ revocations: TokenRevocations) -> [RelayAction] {
        tokenRevocations = revocations
        return closeJoined(.unauthorized, TokenAuthority.VerifyError.revoked.description, reason: "token revoked") { session, role, issuedAtMs in
            role == .practitioner && revocations.revokes(.practitioner, id: session.owner, issuedAtMs: issuedAtMs)
        }
    }

    /// The practitioner's new family link was saved (`POST /v1/sessions/{id}/invite`): `record` now
    /// refuses the invites issued before it, and a family that joined with one is told and closed (1008).
    public func inviteReplaced(_ record: SessionRecord) -> [RelayAction] {
        sessions[record.id] = record
        lastFamilyLinkRefusal[record.id] = nil  // the practitioner has made the link to send
        return closeJoined(.inviteReplaced, Self.inviteReplacedMessage, reason: RelayErrorCode.inviteReplaced.rawValue) { session, role, issuedAtMs in
            role == .family && session.id == record.id && record.inviteIsReplaced(issuedAtMs: issuedAtMs)
        }
    }

    /// The issue time, in ms, of a new family link for `sessionID` asked for at `now`: `now`, but past
    /// every link handed out before, saved or still being saved. Two links asked for in the same ms
    /// are told apart, so only the newest joins, whichever order their saves end in. A link whose
    /// save then fails keeps its ms taken: the next one is only a ms later for it.
    public func newInviteIssueTime(sessionID: String, now: Date) -> Int64 {
        let newest = max(sessions[sessionID]?.invitesReplacedBeforeMs ?? .min, newestInviteIssuedMs[sessionID] ?? .min)
        let issuedAtMs = max(TokenAuthority.milliseconds(now), newest + 1)
        newestInviteIssuedMs[sessionID] = issuedAtMs
        return issuedAtMs
    }

    /// What a family on a replaced link is told, at hello or when the new link is made.
    static let inviteReplacedMessage = "your practitioner sent a newer link for this session, so this one no longer works; open the newest link they sent"

    /// Detaches, tells (`code`, `message`) and closes with 1008 every joined connection that `covered`
    /// picks by its session, role and token issue time; the peer is told it left.
    private func closeJoined(_ code: RelayErrorCode, _ message: String, reason: String,
                             covered: (SessionRecord, Role, Int64?) -> Bool) -> [RelayAction] {
        var actions: [RelayAction] = []
        for (conn, issuedAtMs) in tokenIssuedAt.sorted(by: { $0.key < $1.key }) {
            guard case .joined(let sessionID, let role)? = connections[conn], let session = sessions[sessionID],
                  covered(session, role, issuedAtMs) else { continue }
            actions += detach(conn)
            connections[conn] = .closing
            actions += [.send(conn, .error(code, message)), .close(conn, code: RelayCloseCode.policyViolation, reason: reason)]
        }
        return actions
    }

    /// The server is stopping: every connection gets 1001.
    public func shutdown() -> [RelayAction] {
        isShuttingDown = true
        var actions: [RelayAction] = []
        for conn in connections.keys.sorted() {
            if case .closing? = connections[conn] { continue }
            actions += detach(conn)
            connections[conn] = .closing
            actions.append(.close(conn, code: RelayCloseCode.goingAway, reason: "server shutting down"))
        }
        return actions
    }

    /// A whole text message arrived.
    public func receivedText(_ conn: ConnectionID, _ bytes: [UInt8]) -> [RelayAction] {
        switch connections[conn] {
        case .none, .closing?:
            return []
        case .awaitingHello(let sessionID)?:
            return hello(conn, sessionID: sessionID, bytes)
        case .joined(let sessionID, let role)?:
            return controlMessage(conn, sessionID: sessionID, role: role, bytes)
        }
    }

    /// A whole binary message arrived.
    public func receivedBinary(_ conn: ConnectionID, _ bytes: [UInt8]) -> [RelayAction] {
        switch connections[conn] {
        case .none, .closing?:
            return []
        case .awaitingHello?:
            connections[conn] = .closing
            return [.close(conn, code: RelayCloseCode.policyViolation, reason: "hello required first")]
        case .joined(let sessionID, let role)?:
            return mediaFrame(conn, sessionID: sessionID, role: role, bytes)
        }
    }

    // MARK: Hello

    private func hello(_ conn: ConnectionID, sessionID: String, _ bytes: [UInt8]) -> [RelayAction] {
        func refuse(_ code: RelayErrorCode, _ message: String, id: MessageID?, closeCode: UInt16 = RelayCloseCode.policyViolation) -> [RelayAction] {
            connections[conn] = .closing
            return [.send(conn, .error(code, message, id: id)),
                    .close(conn, code: closeCode, reason: code.rawValue),
                    .event(SessionEvent(.refused, sessionID: sessionID, role: nil, connection: conn, code: code))]
        }
        let message: ControlMessage
        switch ControlMessage.decode(bytes) {
        case .failure(.invalidJSON):
            // docs/PROTOCOL.md: JSON that is not a hello (an array, a string...) is hello_required; only non-JSON is invalid_json.
            if (try? JSONSerialization.jsonObject(with: Data(bytes), options: .fragmentsAllowed)) != nil {
                return refuse(.helloRequired, "first message must be a JSON object: {\"type\":\"hello\",\"token\":\"...\"}", id: nil)
            }
            return refuse(.invalidJSON, "first message must be JSON: {\"type\":\"hello\",\"token\":\"...\"}", id: nil)
        case .failure(.missingType(let id)):
            return refuse(.helloRequired, "first message must be {\"type\":\"hello\",\"token\":\"...\"}", id: id)
        case .success(let m):
            message = m
        }
        guard message.type == "hello" else {
            return refuse(.helloRequired, "first message must be {\"type\":\"hello\",\"token\":\"...\"}, not \"\(message.type.prefix(40))\"", id: message.id)
        }
        let notices: [String]
        switch message.fields["notices"] {
        case nil: notices = []
        case let names as [String]: notices = names
        default:
            return refuse(.invalidMessage, "notices in hello must be an array of notice names, e.g. [\"family_link_refused\"]", id: message.id)
        }
        guard let token = message.string("token") else {
            return refuse(.unauthorized, "hello has no token; send {\"type\":\"hello\",\"token\":\"...\"} with a practitioner token or the family invite", id: message.id)
        }
        let verified: VerifiedToken
        do { verified = try authority.verify(token, now: now(), revocations: tokenRevocations) } catch {
            return refuse(.unauthorized, error.description, id: message.id)
        }
        let role: Role
        switch verified.claims {
        case .practitioner(let practitioner, _):
            guard let session = sessions[sessionID] else {
                return refuse(.sessionNotFound, "session \(sessionID) does not exist on this server; create one with POST /v1/sessions", id: message.id, closeCode: RelayCloseCode.notFound)
            }
            guard session.owner == practitioner else {
                return refuse(.forbidden, "this session belongs to another practitioner", id: message.id)
            }
            role = .practitioner
        case .invite(let invitedTo, _):
            guard invitedTo == sessionID else {
                return refuse(.forbidden, "this invite is for another session; open the link your practitioner sent", id: message.id)
            }
            guard let session = sessions[sessionID] else {
                return refuse(.sessionNotFound, "session \(sessionID) no longer exists; ask your practitioner for a new invite", id: message.id, closeCode: RelayCloseCode.notFound)
            }
            guard !session.inviteIsReplaced(issuedAtMs: verified.issuedAtMs) else {
                return refuse(.inviteReplaced, Self.inviteReplacedMessage, id: message.id)
            }
            role = .family
        case .metrics:
            return refuse(.forbidden, "a metrics token only reads GET /metrics; join with a practitioner token or the family invite", id: message.id)
        }
        tokenIssuedAt[conn] = verified.issuedAtMs
        // Notices a client asks for that this relay does not know are ignored: a newer client may
        // ask for more than an older relay sends.
        if role == .practitioner, notices.contains(FamilyLinkRefusal.noticeType) { wantsFamilyLinkRefusals.insert(conn) }
        return join(conn, sessionID: sessionID, role: role, id: message.id)
    }

    private func join(_ conn: ConnectionID, sessionID: String, role: Role, id: MessageID?) -> [RelayAction] {
        let session = liveSession(sessionID)
        var actions: [RelayAction] = []
        let replaced = session.slots[role] != nil
        if let old = session.slots[role] {
            connections[old] = .closing
            actions += [.send(old, .error(.replaced, "a newer \(role.rawValue) connection joined this session; this one is closed")),
                        .close(old, code: RelayCloseCode.replaced, reason: "replaced"),
                        .event(SessionEvent(.replaced, sessionID: sessionID, role: role, connection: old))]
        }
        session.slots[role] = conn
        session.senderLeftAt[role.sendableStream] = nil
        sessionsJoined.insert(sessionID)
        connections[conn] = .joined(sessionID: sessionID, role: role)
        let peer = session.slots[role.peer]
        var welcome: [String: Any] = ["type": "welcome", "role": role.rawValue, "sessionId": sessionID, "peerPresent": peer != nil]
        // How long the videos are kept, so the family's page can say it beside the consent.
        if let retention = limits.retentionSeconds { welcome["retentionSeconds"] = retention }
        // The practitioner named a supervisor: the family's page asks whether they may watch.
        if role == .family, sessions[sessionID]?.supervisor != nil { welcome["supervised"] = true }
        // The practitioner may give the family copies of clips: their page offers it, the family's lists them.
        if limits.familyCopies { welcome["familyCopies"] = true }
        actions.append(.send(conn, .text(ControlEncoder.encode(welcome, id: id))))
        if let peer {
            actions.append(.send(peer, .text(peerEvent("joined", role))))
        }
        actions += recordingSideJoined(conn, sessionID: sessionID, role: role, replacing: replaced)
        if role == .practitioner, diskSpaceLow { actions.append(.send(conn, .text(Self.recordingSpaceNotice(low: true)))) }
        actions += familyLinkRefusalOnJoin(sessionID: sessionID, role: role)
        let incoming = role.peer.sendableStream
        for message in session.caches[incoming]?.replay ?? [] {
            if let header = try? MediaFrameHeader.parse(message) {
                actions.append(.send(conn, .mediaFrame(message, header: header)))
            }
        }
        actions.append(.event(SessionEvent(.joined, sessionID: sessionID, role: role, connection: conn)))
        if peer != nil, sessionsHeldAt[sessionID] == nil {
            let at = now()
            sessionsHeldAt[sessionID] = at
            actions.append(.event(SessionEvent(.held, sessionID: sessionID, role: nil, connection: conn, at: at)))
        }
        return actions
    }

    /// Every practitioner connection joined to a session now.
    var joinedPractitioners: [ConnectionID] { live.values.compactMap { $0.slots[.practitioner] } }

    /// Takes a joined connection out of its slot and tells the peer it left.
    private func detach(_ conn: ConnectionID) -> [RelayAction] {
        guard case .joined(let sessionID, let role)? = connections[conn],
              let session = live[sessionID], session.slots[role] == conn
        else { return [] }
        session.slots[role] = nil
        session.senderLeftAt[role.sendableStream] = now()
        var actions: [RelayAction] = []
        if let peer = session.slots[role.peer] {
            actions.append(.send(peer, .text(peerEvent("left", role))))
        }
        actions += recordingSideLeft(sessionID: sessionID, role: role)
        actions.append(.event(SessionEvent(.left, sessionID: sessionID, role: role, connection: conn)))
        return actions
    }

    private func peerEvent(_ event: String, _ role: Role) -> [UInt8] {
        ControlEncoder.encode(["type": "peer", "event": event, "role": role.rawValue])
    }

    // MARK: After hello

    private func controlMessage(_ conn: ConnectionID, sessionID: String, role: Role, _ bytes: [UInt8]) -> [RelayAction] {
        func reply(_ code: RelayErrorCode, _ message: String, id: MessageID?) -> [RelayAction] {
            [.send(conn, .error(code, message, id: id))]
        }
        let message: ControlMessage
        switch ControlMessage.decode(bytes) {
        case .failure(.invalidJSON):
            return reply(.invalidJSON, "text messages must be JSON objects with a \"type\"", id: nil)
        case .failure(.missingType(let id)):
            return reply(.unknownType, "message has no \"type\"; see docs/PROTOCOL.md for the message types", id: id)
        case .success(let m):
            message = m
        }
        switch message.type {
        case "signal":
            guard let peer = live[sessionID]?.slots[role.peer] else {
                return reply(.peerAbsent, "the \(role.peer.rawValue) is not connected; the signal was not delivered", id: message.id)
            }
            return [.send(peer, .text(bytes))]
        case "hello":
            return reply(.unexpectedHello, "already joined as \(role.rawValue); hello is only the first message", id: message.id)
        case "consent", "record", "mark", "unmark", "note":
            return recordingMessage(conn, sessionID: sessionID, role: role, message)
        case "ping":
            // The pages' heartbeat (docs/PROTOCOL.md): a browser cannot send WebSocket pings, so it
            // learns that the link still carries bytes both ways from this answer, to the sender only.
            // It goes ahead of media queued for the sender; asked (`"clock":true`), it says when the
            // ping arrived here, so that the pages' pacing ("Slow links") measures their upload
            // alone, whatever waits on the way back.
            var pong: [String: Any] = ["type": "pong"]
            if message.bool("clock") == true {
                pong["relayMs"] = Int64((now().timeIntervalSince1970 * 1000).rounded(.down))
            }
            return [.send(conn, .aheadOfMedia(ControlEncoder.encode(pong, id: message.id)))]
        case "catch_up":
            // A viewer whose page sees the peer's stream arrive seconds late (docs/PROTOCOL.md,
            // "Slow viewers"): it gets the present, as a viewer over its queue's limit does.
            let starts = message.wholeNumber("starts")
            guard message.fields["starts"] == nil || (starts ?? -1) >= 0 else {
                return reply(.invalidMessage, "catch_up's \"starts\" is the number of init segments of the stream received on this connection (a whole number >= 0), or absent", id: message.id)
            }
            return [.catchUp(conn, stream: role.peer.sendableStream, starts: starts)]
        case "bye":
            let actions = detach(conn)
            connections[conn] = .closing
            return actions + [.close(conn, code: RelayCloseCode.normal, reason: "bye")]
        default:
            return reply(.unknownType, "unknown message type \"\(message.type.prefix(40))\"; see docs/PROTOCOL.md for the message types", id: message.id)
        }
    }

    private func mediaFrame(_ conn: ConnectionID, sessionID: String, role: Role, _ bytes: [UInt8]) -> [RelayAction] {
        let header: MediaFrameHeader
        do { header = try MediaFrameHeader.parse(bytes) } catch {
            return [.send(conn, .error(.malformedFrame, error.description))]
        }
        guard let stream = header.streamKind, stream == role.sendableStream else {
            return [.send(conn, .error(.streamNotAllowed,
                "the \(role.rawValue) may send only stream \(role.sendableStream.rawValue) (\(role.sendableStream)); frame for stream \(header.stream) was not forwarded"))]
        }
        let session = liveSession(sessionID)
        let start = session.caches[stream, default: StreamCache(capacityBytes: limits.streamCacheBytes)].record(bytes, flags: header.flags)
        // One array, appended to: this runs for every media frame.
        var actions: [RelayAction] = []
        let second = Int64(now().timeIntervalSince1970.rounded(.down))
        let recentBytes = session.recent[stream, default: RecentBytes(seconds: limits.viewerQueueSeconds)].add(bytes.count, at: second)
        if let peer = session.slots[role.peer] {
            actions.append(.send(peer, .mediaFrame(bytes, header: header, startOffset: start,
                                                   queueLimit: limits.viewerQueueLimit(recentBytes: recentBytes))))
        }
        if stream == .camera { tapCamera(sessionID: sessionID, header: header, bytes, into: &actions) }
        return actions
    }

    /// Drops the caches of streams whose sender left more than `limits.staleCacheSeconds` ago, and
    /// sessions with nothing left, so memory follows live use. The server calls it periodically.
    public func expireStaleCaches() {
        let cutoff = now().addingTimeInterval(-TimeInterval(limits.staleCacheSeconds))
        for (id, session) in live {
            for (stream, leftAt) in session.senderLeftAt where leftAt <= cutoff {
                session.caches[stream] = nil
                session.recent[stream] = nil
                session.senderLeftAt[stream] = nil
            }
            if session.slots.isEmpty && session.caches.isEmpty { live[id] = nil }
        }
    }

    /// The connections of a session's joined sides.
    func connections(of sessionID: String) -> [ConnectionID] {
        guard let session = live[sessionID] else { return [] }
        return Role.allCases.compactMap { session.slots[$0] }
    }

    /// Sessions with at least one side joined: not ended, so retention leaves them alone.
    public var sessionsWithConnections: Set<String> {
        Set(live.compactMap { $0.value.slots.isEmpty ? nil : $0.key })
    }

    /// Joined connections by role, and the sessions with both sides joined (calls), for the metrics.
    public var joinedCounts: (byRole: [Role: Int], calls: Int) {
        var byRole: [Role: Int] = [:], calls = 0
        for session in live.values where !session.slots.isEmpty {
            for role in session.slots.keys { byRole[role, default: 0] += 1 }
            if session.slots.count == Role.allCases.count { calls += 1 }
        }
        return (byRole, calls)
    }

    /// The connection of one side of a session, if joined.
    public func connection(of sessionID: String, role: Role) -> ConnectionID? { live[sessionID]?.slots[role] }

    private func liveSession(_ id: String) -> LiveSession {
        if let s = live[id] { return s }
        let s = LiveSession()
        live[id] = s
        return s
    }

    // MARK: Paths

    /// The session id in `/v1/sessions/{id}/ws` (query ignored), or nil for any other path.
    public static func sessionID(fromWebSocketPath path: String) -> String? {
        let pathOnly = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let parts = pathOnly.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0].isEmpty, parts[1] == "v1", parts[2] == "sessions", parts[4] == "ws",
              Identifiers.isValidSessionID(parts[3])
        else { return nil }
        return String(parts[3])
    }
}
