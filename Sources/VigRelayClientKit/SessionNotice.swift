import VigRelayCore

/// Something the relay told one participant, or the end of its connection; printed as one line.
public enum SessionNotice: Sendable, Equatable, CustomStringConvertible {
    /// Joined: the role the relay admitted, the session, whether the other side is connected.
    case welcome(role: String, sessionID: String, peerPresent: Bool)
    /// The other side `joined` or `left`.
    case peer(event: String, role: String)
    /// An error with its stable code and the relay's explanation.
    case error(code: String, message: String)
    /// The relay dropped frames of a stream because this side read too slowly.
    case skipped(frames: Int, stream: Int)
    /// The family tried to join on a link the relay refused (`replaced` or `expired`), `secondsAgo`;
    /// practitioners only.
    case familyLinkRefused(reason: String, secondsAgo: Int)
    /// Whether the relay is too low on disk space for a recording to start (`recording_space`;
    /// practitioners only).
    case recordingSpace(low: Bool)
    /// A `signal` message from the peer, as its JSON text.
    case signal(String)
    /// A control message of another type, as its JSON text.
    case other(String)
    /// The connection closed; the relay's close code, if it sent one.
    case closed(code: UInt16?, reason: String)

    /// Reads one text message from the relay.
    init(text: [UInt8]) {
        let raw = String(decoding: text, as: UTF8.self)
        guard case .success(let message) = ControlMessage.decode(text) else {
            self = .other(raw)
            return
        }
        switch message.type {
        case "welcome":
            self = .welcome(role: message.string("role") ?? "?", sessionID: message.string("sessionId") ?? "?",
                            peerPresent: message.fields["peerPresent"] as? Bool ?? false)
        case "peer":
            self = .peer(event: message.string("event") ?? "?", role: message.string("role") ?? "?")
        case "error":
            self = .error(code: message.string("code") ?? "?", message: message.string("message") ?? "")
        case "skipped":
            self = .skipped(frames: message.fields["frames"] as? Int ?? 0, stream: message.fields["stream"] as? Int ?? 0)
        case FamilyLinkRefusal.noticeType:
            self = .familyLinkRefused(reason: message.string("reason") ?? "?", secondsAgo: message.fields["secondsAgo"] as? Int ?? 0)
        case "recording_space":
            self = .recordingSpace(low: message.fields["low"] as? Bool ?? false)
        case "signal":
            self = .signal(raw)
        default:
            self = .other(raw)
        }
    }

    public var description: String {
        switch self {
        case .welcome(let role, let sessionID, let peerPresent):
            return "welcome: joined session \(sessionID) as \(role); peer \(peerPresent ? "present" : "not connected yet")"
        case .peer(let event, let role):
            return "peer \(event): \(role)"
        case .error(let code, let message):
            return "error \(code): \(message)"
        case .skipped(let frames, let stream):
            let name = MediaStream(rawValue: UInt8(clamping: stream))?.description ?? "stream \(stream)"
            return "skipped: the relay dropped \(frames) \(name) frame(s) because this side fell behind"
        case .familyLinkRefused(let reason, let secondsAgo):
            let why = reason == "replaced" ? "an older link, which a newer one replaced; send them the newest"
                : reason == "expired" ? "a link that has expired; make a new one" : "a link that no longer works (\(reason)); make a new one"
            let when = secondsAgo < 60 ? "" : " \(secondsAgo / 60) min ago"
            return "family link refused: the family tried to join\(when) with \(why) ('vigrelay-client invite' makes one)"
        case .recordingSpace(let low):
            return low ? "recording space: the relay is low on disk space, so a recording cannot start now (the live video works); ask whoever runs it to free space"
                : "recording space: there is room for recordings again"
        case .signal(let text):
            return "signal: \(text)"
        case .other(let text):
            return "message: \(text.prefix(300))"
        case .closed(let code, let reason):
            return "closed: " + (code.map { "code \($0)" } ?? "no close code") + (reason.isEmpty ? "" : " (\(reason))")
        }
    }
}
